package httptransport

import (
	"bufio"
	"bytes"
	"errors"
	"math"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/wegomesh/wego/transport"
)

// ConcurrencyLimit returns how many requests to commands the server serves
// at once: MaxConcurrent, or when it is 0 a quarter of the memory the
// process may use divided by four times MaxBodyBytes (a request may hold
// its body, the values decoded from it and an encoding of them at once),
// between 16 and 4096. The memory is the smallest of the Go memory limit
// (GOMEMLIMIT), the cgroup's memory limit and the machine's memory; 4 GiB
// when none can be read. With 1 MiB bodies: 64 requests per GiB, 1024 on
// a machine of 16 GiB.
func (c *ServerConfig) ConcurrencyLimit() int {
	if c.MaxConcurrent > 0 {
		return c.MaxConcurrent
	}
	return defaultConcurrency(memoryLimit(), c.MaxBodyBytes)
}

func defaultConcurrency(memory uint64, maxBody int64) int {
	if maxBody <= 0 {
		maxBody = 1
	}
	n := memory / 4 / (4 * uint64(maxBody))
	return int(min(max(n, 16), 4096))
}

var memLimit = sync.OnceValue(func() uint64 {
	limit := uint64(math.MaxUint64)
	if l := debug.SetMemoryLimit(-1); l > 0 && l < math.MaxInt64 {
		limit = uint64(l)
	}
	for _, f := range []struct {
		path  string
		field string // a "name: value kB" line of the file, or "" for a number
	}{
		{"/sys/fs/cgroup/memory.max", ""},                   // cgroup v2 ("max": none)
		{"/sys/fs/cgroup/memory/memory.limit_in_bytes", ""}, // cgroup v1 (huge: none)
		{"/proc/meminfo", "MemTotal:"},
	} {
		if n, ok := readMemory(f.path, f.field); ok && n > 0 {
			limit = min(limit, n)
		}
	}
	if limit == math.MaxUint64 {
		return 4 << 30
	}
	return limit
})

// memoryLimit returns the memory the process may use, read once.
func memoryLimit() uint64 { return memLimit() }

// readMemory reads a byte count from a file of /sys or /proc.
func readMemory(path, field string) (uint64, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	if field == "" {
		n, err := strconv.ParseUint(string(bytes.TrimSpace(data)), 10, 64)
		return n, err == nil
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) == 3 && string(f[0]) == field && string(f[2]) == "kB" {
			n, err := strconv.ParseUint(string(f[1]), 10, 64)
			return n << 10, err == nil
		}
	}
	return 0, false
}

// releaseAfter is how many bytes of large request bodies (over
// transport.MaxPooledBuffer, so not from a pool) make the server return memory to
// the operating system at its next idle moment.
const releaseAfter = 4 << 20

// followUp is how many release delays after a release the server
// releases once more, if no request came meanwhile: what the burst left
// in use at the first release (connections that close later, here and in
// the processes it called) is freed by then.
const followUp = 10

// limiter counts the requests in flight to a server's commands, refuses
// those over its bound, and returns the memory of large bodies to the
// operating system once the server is idle.
type limiter struct {
	max      int64
	inflight atomic.Int64
	started  atomic.Int64 // requests given a place, ever
	refused  atomic.Int64 // since the last log line about it
	lastLog  atomic.Int64 // unix nanoseconds of that line

	delay time.Duration // memory_release_delay; 0: never
	large atomic.Int64  // bytes of large bodies since the last release
	free  func()        // debug.FreeOSMemory
	mu    sync.Mutex    // guards what follows
	timer *time.Timer
	done  bool  // stopped
	after int64 // started when the last release ran, for the follow-up
}

func newLimiter(max int, delay time.Duration) *limiter {
	return &limiter{max: int64(max), delay: delay, free: debug.FreeOSMemory}
}

// acquire takes a place for a request, false when there is none.
func (l *limiter) acquire() bool {
	if l.inflight.Add(1) > l.max {
		l.inflight.Add(-1)
		return false
	}
	l.started.Add(1)
	return true
}

// release gives back the place of a request; the last one out starts the
// wait for an idle moment when large bodies came in.
func (l *limiter) release() {
	if l.inflight.Add(-1) == 0 && l.delay > 0 && l.large.Load() >= releaseAfter {
		l.mu.Lock()
		if l.timer == nil && !l.done {
			l.timer = time.AfterFunc(l.delay, l.idle)
		}
		l.mu.Unlock()
	}
}

// body counts a request body of n bytes.
func (l *limiter) body(n int) {
	if n > transport.MaxPooledBuffer {
		l.large.Add(int64(n))
	}
}

// idle runs delay after the last request ended: if none is in flight,
// the memory goes back; otherwise the next last one out waits again.
func (l *limiter) idle() {
	l.mu.Lock()
	l.timer = nil
	done := l.done
	l.mu.Unlock()
	if done || l.inflight.Load() > 0 {
		return
	}
	if l.large.Swap(0) >= releaseAfter {
		l.free()
		l.mu.Lock()
		if !l.done {
			l.after = l.started.Load()
			l.timer = time.AfterFunc(followUp*l.delay, l.again)
		}
		l.mu.Unlock()
	}
}

// again runs followUp delays after a release: if no request came since,
// the memory goes back once more; if some came and went, their large
// bodies, if any, are released as after any burst.
func (l *limiter) again() {
	l.mu.Lock()
	l.timer = nil
	done, quiet := l.done, l.started.Load() == l.after
	l.mu.Unlock()
	switch {
	case done || l.inflight.Load() > 0:
		// The last request out waits for the next idle moment.
	case quiet:
		l.free()
	default:
		l.idle() // requests came and went: theirs, if they were large
	}
}

// stop cancels a pending release.
func (l *limiter) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.done = true
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
}

// refusal counts a refused request and reports whether to log about it:
// once a second at most, with the count since the last line.
func (l *limiter) refusal() (n int64, log bool) {
	l.refused.Add(1)
	now := time.Now().UnixNano()
	last := l.lastLog.Load()
	if now-last < int64(time.Second) || !l.lastLog.CompareAndSwap(last, now) {
		return 0, false
	}
	return l.refused.Swap(0), true
}

// overloaded refuses a request over max_concurrent: 503 with
// Retry-After, logged once a second at most with the count of refusals.
func (h *handler) overloaded(w http.ResponseWriter) error {
	if n, ok := h.limit.refusal(); ok {
		h.log.Warn("http: requests refused over max_concurrent",
			zap.Int64("refused", n), zap.Int64("max_concurrent", h.limit.max))
	}
	w.Header()["Retry-After"] = retryAfter
	return ErrOverloaded.New()
}

var retryAfter = []string{"1"}

// answerGrace is the time a 408 gets to be written once the read
// deadline passed, whatever is left of the write deadline.
const answerGrace = 5 * time.Second

// bodyRead accounts for the body of a request once decoded: a large
// buffer is counted for the memory release and dropped, so that the
// garbage collector may take it while the command runs (the decoded
// values hold copies). A body that timed out closes the connection,
// after a 408 that gets time to be written.
func (h *handler) bodyRead(w http.ResponseWriter, rb *reqBuf, err error) {
	if c := cap(rb.body); c > transport.MaxPooledBuffer {
		h.limit.body(c)
		rb.body = nil
	}
	if err != nil && errors.Is(err, ErrRequestTimeout) {
		w.Header()["Connection"] = connClose
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(answerGrace))
	}
}
