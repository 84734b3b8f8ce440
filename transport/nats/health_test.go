package natstransport_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	natstransport "github.com/wegomesh/wego/transport/nats"
)

// flaky is a catalog whose inventory.Reserve fails with an internal error
// while failing is true.
func flaky(t *testing.T, server string, failing *atomic.Bool) *catalog.Catalog {
	t.Helper()
	cat := catalog.New()
	_, err := catalog.RegisterIn(cat, "inventory.Reserve", func(context.Context, ReserveRequest) (ReserveResponse, error) {
		if failing.Load() {
			return ReserveResponse{}, errs.Internal()
		}
		return ReserveResponse{Server: server}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

var quickHealth = natstransport.HealthConfig{ErrorRate: 0.5, MinRequests: 20, Window: 10 * time.Second,
	Interval: 20 * time.Millisecond, Probation: 300 * time.Millisecond}

// A replica that fails its requests leaves its queue group: after its
// first 20 failures, at least 95 % of the calls avoid it. Once it
// recovers, it rejoins after probation and gets calls again.
func TestFailingReplicaLeaves(t *testing.T) {
	e := embedded(t)
	var failing atomic.Bool
	failing.Store(true)
	serve(t, e, flaky(t, "good", new(atomic.Bool)), natstransport.Health(quickHealth))
	serve(t, e, flaky(t, "bad", &failing), natstransport.Health(quickHealth))
	cmd := reserve(t, natstransport.NewRoute(client(t, e), "inventory"))

	var failures, afterFailures, avoided int
	deadline := time.Now().Add(10 * time.Second)
	for afterFailures < 400 && time.Now().Before(deadline) {
		r, err := cmd.Call(context.Background(), ReserveRequest{SKU: "apple"})
		switch {
		case err != nil && failures < 20:
			failures++
		case failures < 20:
		case err != nil:
			afterFailures++
		default:
			afterFailures++
			if r.Server == "good" {
				avoided++
			}
		}
		time.Sleep(time.Millisecond)
	}
	if failures < 20 {
		t.Fatalf("only %d failures in 10 s", failures)
	}
	t.Logf("after 20 failures, %d of %d calls avoided the failing replica", avoided, afterFailures)
	if share := float64(avoided) / float64(afterFailures); share < 0.95 {
		t.Errorf("after 20 failures, %.1f %% of %d calls avoided the failing replica, want >= 95 %%", 100*share, afterFailures)
	}

	failing.Store(false)
	recovered := time.Now()
	for {
		r, err := cmd.Call(context.Background(), ReserveRequest{SKU: "apple"})
		if err == nil && r.Server == "bad" {
			break
		}
		if time.Since(recovered) > 5*time.Second {
			t.Fatal("the recovered replica got no call within 5 s")
		}
		time.Sleep(time.Millisecond)
	}
	// Probation is 300 ms, and it may have just left again; two
	// probations and some intervals are the bound.
	d := time.Since(recovered)
	t.Logf("the recovered replica got calls again after %v (probation %v)", d, quickHealth.Probation)
	if d > 2*quickHealth.Probation+10*quickHealth.Interval+time.Second {
		t.Errorf("the recovered replica got calls again after %v, want within two probations", d)
	}
}

// A replica that is not ready leaves, and rejoins once it is.
func TestNotReadyReplicaLeaves(t *testing.T) {
	e := embedded(t)
	var ready atomic.Bool
	serve(t, e, flaky(t, "good", new(atomic.Bool)), natstransport.Health(quickHealth))
	serve(t, e, flaky(t, "unready", new(atomic.Bool)), natstransport.Health(quickHealth),
		natstransport.Ready(ready.Load))
	cmd := reserve(t, natstransport.NewRoute(client(t, e), "inventory"))
	time.Sleep(5 * quickHealth.Interval)
	for range 100 {
		r, err := cmd.Call(context.Background(), ReserveRequest{SKU: "apple"})
		if err != nil || r.Server != "good" {
			t.Fatalf("call while a replica is not ready: %+v, %v", r, err)
		}
	}
	ready.Store(true)
	began := time.Now()
	for {
		if r, err := cmd.Call(context.Background(), ReserveRequest{SKU: "apple"}); err == nil && r.Server == "unready" {
			return
		}
		if time.Since(began) > 5*time.Second {
			t.Fatal("the replica got no call within 5 s of being ready")
		}
		time.Sleep(time.Millisecond)
	}
}
