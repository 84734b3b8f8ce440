package logging

import (
	"hash/maphash"
	"sync/atomic"

	"github.com/wegomesh/wego/log"
)

// codeSamplerSlots is the number of counters of a codeSampler: codes
// share a counter when their hashes collide, as zap's sampler shares one
// between messages.
const codeSamplerSlots = 256

// codeSampler decides, per error code and tick, which lines of client
// errors are logged: the first initial ones, then one in every
// thereafter. It takes no lock and does not allocate.
type codeSampler struct {
	tick       int64 // nanoseconds
	initial    uint64
	thereafter uint64
	seed       maphash.Seed
	counts     [codeSamplerSlots]codeCount
}

type codeCount struct {
	resetAt atomic.Int64 // end of the current tick, in nanoseconds since epoch
	n       atomic.Uint64
}

func newCodeSampler(c log.SamplingConfig) *codeSampler {
	tick := c.Tick
	if tick <= 0 {
		tick = log.DefaultSamplingTick
	}
	return &codeSampler{tick: int64(tick), initial: uint64(c.Initial), thereafter: uint64(c.Thereafter), seed: maphash.MakeSeed()}
}

// allow counts a line of code at now (nanoseconds since epoch) and
// reports whether it is logged.
func (s *codeSampler) allow(code string, now int64) bool {
	c := &s.counts[maphash.String(s.seed, code)%codeSamplerSlots]
	n := c.inc(now, s.tick)
	if n <= s.initial {
		return true
	}
	return s.thereafter > 0 && (n-s.initial)%s.thereafter == 0
}

// inc counts one line and returns the count of the current tick,
// starting a new tick when the last one is over (zap's counter does the
// same).
func (c *codeCount) inc(now, tick int64) uint64 {
	reset := c.resetAt.Load()
	if now < reset {
		return c.n.Add(1)
	}
	if !c.resetAt.CompareAndSwap(reset, now+tick) {
		return c.n.Add(1) // another goroutine started the tick
	}
	c.n.Store(1)
	return 1
}
