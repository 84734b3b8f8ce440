package storebench

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/wegomesh/wego/engine"
	"github.com/wegomesh/wego/engine/enginetest"
	"github.com/wegomesh/wego/store"
	"github.com/wegomesh/wego/store/natsstore"
)

// natsPair is a NATS key-value bucket reached through the store and
// through the bare nats.go KeyValue, on one embedded server. The server
// syncs in the background (sync_interval 2m) rather than before each
// acknowledgement, the engine's default: a sync takes a millisecond or
// more and varies by as much, which would hide the store's own cost; it
// is the same for both sides.
type natsPair struct {
	s  *natsstore.Store
	kv jetstream.KeyValue
	nc *nats.Conn // the connection both sides share
}

const natsBucket = "bench"

func newNATSPair(tb testing.TB) *natsPair {
	tb.Helper()
	ctx := context.Background()
	eng := enginetest.Start(tb, func(cfg *engine.Config) { cfg.Server.SyncInterval = "2m" })
	s, err := natsstore.New(eng, store.Config{Name: natsBucket}, zap.NewNop())
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	js, err := eng.JetStream()
	if err != nil {
		tb.Fatal(err)
	}
	kv, err := js.KeyValue(ctx, natsBucket)
	if err != nil {
		tb.Fatal(err)
	}
	p := &natsPair{s: s, kv: kv, nc: js.Conn()}
	for _, k := range []string{"get.wego", "get.bare"} {
		if _, err := s.Put(ctx, k, value, store.PutOptions{}); err != nil {
			tb.Fatal(err)
		}
	}
	return p
}

var (
	value   = []byte(`{"sku":"apple-123","qty":3,"price":"1.20"}`)
	sinkRec store.Record
	sinkKV  jetstream.KeyValueEntry
)

// natsOps are the pairs of operations, bare then through the store.
func (p *natsPair) ops() []struct {
	name       string
	bare, wego func(ctx context.Context) error
} {
	return []struct {
		name       string
		bare, wego func(ctx context.Context) error
	}{
		{"Get",
			func(ctx context.Context) (err error) { sinkKV, err = p.kv.Get(ctx, "get.bare"); return },
			func(ctx context.Context) (err error) { sinkRec, err = p.s.Get(ctx, "get.wego"); return }},
		{"Put",
			func(ctx context.Context) (err error) { sinkRev, err = p.kv.Put(ctx, "put.bare", value); return },
			func(ctx context.Context) (err error) {
				sinkRev, err = p.s.Put(ctx, "put.wego", value, store.PutOptions{})
				return
			}},
	}
}

// BenchmarkNATS reads and writes one record of a NATS key-value bucket,
// bare (nats.go's KeyValue Get and Put) and through natsstore, one call at
// a time. allocs/op counts the client and the embedded server together;
// reqs/op and replies/op are the messages the client sent and received
// (see natsLoop).
func BenchmarkNATS(b *testing.B) {
	p := newNATSPair(b)
	for _, op := range p.ops() {
		runSides(b,
			side{op.name + "/bare", func(b *testing.B) { p.loop(b, op.bare) }},
			side{op.name + "/wego", func(b *testing.B) { p.loop(b, op.wego) }})
	}
}

// loop runs op with b.Loop, fails b if op fails, and reports its
// allocations and, as the metrics reqs/op and replies/op, the messages
// the connection sent and received per operation: a round trip of the
// engine is a request and its reply.
func (p *natsPair) loop(b *testing.B, op func(context.Context) error) {
	ctx := context.Background()
	if err := p.nc.Flush(); err != nil {
		b.Fatal(err)
	}
	before := p.nc.Stats()
	b.ReportAllocs()
	for b.Loop() {
		if err := op(ctx); err != nil {
			b.Fatal(err)
		}
	}
	after := p.nc.Stats()
	n := float64(b.N)
	b.ReportMetric(float64(after.OutMsgs-before.OutMsgs)/n, "reqs/op")
	b.ReportMetric(float64(after.InMsgs-before.InMsgs)/n, "replies/op")
}

// TestNATS checks that a Get and a Put through natsstore allocate at most
// 3 more times than nats.go's KeyValue Get and Put, and logs the ratio of
// their median times, measured call by call in turns, so that the load of
// the machine weighs on both alike (the ratio is not checked: a loaded
// machine moves it).
func TestNATS(t *testing.T) {
	p := newNATSPair(t)
	ctx := context.Background()
	for _, op := range p.ops() {
		call := func(fn func(context.Context) error) {
			if err := fn(ctx); err != nil {
				t.Fatal(err)
			}
		}
		for range 20 { // warm up: pools, subscriptions
			call(op.bare)
			call(op.wego)
		}
		bare := testing.AllocsPerRun(200, func() { call(op.bare) })
		wego := testing.AllocsPerRun(200, func() { call(op.wego) })
		if wego > bare+3 {
			t.Errorf("%s through natsstore: %.1f allocations, more than bare nats.go's %.1f + 3", op.name, wego, bare)
		}
		const n = 2000
		mb, mw := inTurns(n, func() { call(op.bare) }, func() { call(op.wego) })
		t.Logf("%s: bare %v and %.0f allocs, natsstore %v and %.0f allocs (medians of %d calls in turns): ratio %.2f",
			op.name, mb, bare, mw, wego, n, float64(mw)/float64(mb))
	}
}
