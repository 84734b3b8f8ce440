package storebench

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/wegomesh/wego/lock"
)

// lockTTL is the time-to-live of the benchmarks' locks and bare records.
const lockTTL = 30 * time.Second

// lockOps are the acquisitions and releases of a lock on NATS key-value,
// bare (nats.go's KeyValue Create with a TTL, then Delete on the created
// revision: the two atomic steps a lock needs) and through package lock
// (TryAcquire, then Release), on a name never used before ("new") and on
// one name again and again ("same": a released lock leaves a delete
// marker, over which Create reads the key and writes again, bare or not).
func lockOps(p *natsPair) []struct {
	name       string
	bare, wego func(ctx context.Context) error
} {
	l := lock.New(p.s)
	var nb, nw int
	bare := func(ctx context.Context, key string) error {
		rev, err := p.kv.Create(ctx, key, value, jetstream.KeyTTL(lockTTL))
		if err != nil {
			return err
		}
		return p.kv.Delete(ctx, key, jetstream.LastRevision(rev))
	}
	wego := func(ctx context.Context, name string) error {
		ls, err := l.TryAcquire(ctx, name, lockTTL)
		if err != nil {
			return err
		}
		return ls.Release(ctx)
	}
	return []struct {
		name       string
		bare, wego func(ctx context.Context) error
	}{
		{"AcquireRelease/new",
			func(ctx context.Context) error { nb++; return bare(ctx, "lock.bare"+strconv.Itoa(nb)) },
			func(ctx context.Context) error { nw++; return wego(ctx, "wego"+strconv.Itoa(nw)) }},
		{"AcquireRelease/same",
			func(ctx context.Context) error { return bare(ctx, "lock.bare") },
			func(ctx context.Context) error { return wego(ctx, "wego") }},
	}
}

// BenchmarkLock takes and releases a lock on NATS key-value, bare and
// through package lock, one at a time. reqs/op and replies/op count the
// engine's round trips (see natsPair.loop).
func BenchmarkLock(b *testing.B) {
	p := newNATSPair(b)
	for _, op := range lockOps(p) {
		runSides(b,
			side{op.name + "/bare", func(b *testing.B) { p.loop(b, op.bare) }},
			side{op.name + "/wego", func(b *testing.B) { p.loop(b, op.wego) }})
	}
}

// TestLock logs the ratio of the median times of a lock's acquisition
// and release through package lock and of the bare Create and Delete,
// measured in turns (not checked: a loaded machine moves it).
func TestLock(t *testing.T) {
	p := newNATSPair(t)
	ctx := context.Background()
	for _, op := range lockOps(p) {
		call := func(fn func(context.Context) error) {
			if err := fn(ctx); err != nil {
				t.Fatal(err)
			}
		}
		for range 20 {
			call(op.bare)
			call(op.wego)
		}
		bare := testing.AllocsPerRun(100, func() { call(op.bare) })
		wego := testing.AllocsPerRun(100, func() { call(op.wego) })
		const n = 1000
		mb, mw := inTurns(n, func() { call(op.bare) }, func() { call(op.wego) })
		t.Logf("%s: bare Create+Delete %v and %.0f allocs, lock TryAcquire+Release %v and %.0f allocs (medians of %d in turns): ratio %.2f",
			op.name, mb, bare, mw, wego, n, float64(mw)/float64(mb))
	}
}
