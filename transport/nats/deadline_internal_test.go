package natstransport

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/engine"
	"github.com/wegomesh/wego/engine/enginetest"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/transport"
)

type reserveReq struct {
	SKU string `json:"sku"`
}

type reserveResp struct {
	SKU string `json:"sku"`
}

// startEngine starts an embedded NATS server, or, with url, connects to
// one, and closes it at the end of the test.
func startEngine(t *testing.T, url string) *engine.Engine {
	t.Helper()
	if url == "" {
		return enginetest.Start(t, enginetest.NoJetStream())
	}
	return enginetest.Client(t, url)
}

// A request that was alive when it reached the server, but whose
// deadline passed while it waited there for a worker (a worker that
// froze), is refused when the worker takes it: the command never runs.
func TestFrozenWorkerRefusesExpiredRequest(t *testing.T) {
	e := startEngine(t, "")
	var calls atomic.Int64
	cat := catalog.New()
	if _, err := catalog.RegisterIn(cat, "inventory.Reserve", func(_ context.Context, r reserveReq) (reserveResp, error) {
		calls.Add(1)
		return reserveResp(r), nil
	}); err != nil {
		t.Fatal(err)
	}
	freeze, thaw := make(chan struct{}, 1), make(chan struct{})
	s := NewServer(ClockSkew(10 * time.Millisecond))
	s.pickup = func() {
		select {
		case <-freeze:
			<-thaw
		default:
		}
	}
	if err := s.Start(context.Background(), transport.Host{Name: "test", Catalog: cat, Logger: zap.NewNop(), Engine: startEngine(t, e.ClientURL())}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(context.Background()) })

	caller := catalog.New()
	cmd, err := catalog.DeclareIn[reserveReq, reserveResp](caller, "inventory.Reserve")
	if err != nil {
		t.Fatal(err)
	}
	if err := caller.SetRoute("inventory.*", NewRoute(startEngine(t, e.ClientURL()), "inventory")); err != nil {
		t.Fatal(err)
	}

	freeze <- struct{}{}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := cmd.Call(ctx, reserveReq{SKU: "apple"}); errs.KindOf(err) != errs.KindDeadlineExceeded {
		t.Fatalf("the call to a frozen worker: %v, want deadline_exceeded", err)
	}
	time.Sleep(50 * time.Millisecond) // past the deadline by more than clock_skew
	close(thaw)
	for s.pool.busy() != 0 {
		time.Sleep(time.Millisecond)
	}
	if n := calls.Load(); n != 0 {
		t.Fatalf("the command ran %d times for a request whose deadline passed before a worker took it", n)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := cmd.Call(ctx, reserveReq{SKU: "apple"}); err != nil || calls.Load() != 1 {
		t.Fatalf("a live call: %v, %d calls", err, calls.Load())
	}
}
