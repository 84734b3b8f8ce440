package natstransport_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/engine"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/registry"
	"github.com/wegomesh/wego/transport/balance"
	natstransport "github.com/wegomesh/wego/transport/nats"
)

// replicaSet serves four replicas of inventory, registered in a registry
// with their instance ids; behave decides what replica i does.
func replicaSet(t *testing.T, e *engine.Engine, behave func(i int) error, delay func(i int) time.Duration) registry.Registry {
	t.Helper()
	reg, err := registry.NewMemory(registry.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = reg.Close(context.Background()) })
	for i := range 4 {
		cat := catalog.New()
		name := string(rune('a' + i))
		if _, err := catalog.RegisterIn(cat, "inventory.Reserve", func(context.Context, ReserveRequest) (ReserveResponse, error) {
			time.Sleep(delay(i))
			if err := behave(i); err != nil {
				return ReserveResponse{}, err
			}
			return ReserveResponse{Server: name}, nil
		}); err != nil {
			t.Fatal(err)
		}
		s := serve(t, e, cat)
		node := registry.Node{Service: "inventory", ID: "node-" + name, Endpoints: map[string]string{"nats": s.InstanceID()}}
		if err := reg.Register(context.Background(), node); err != nil {
			t.Fatal(err)
		}
	}
	return reg
}

// load calls cmd from 8 goroutines, n calls in all, and counts the
// answers of each replica and the errors.
func load(t *testing.T, cmd *catalog.Command[ReserveRequest, ReserveResponse], n int) (map[string]int, int) {
	t.Helper()
	var mu sync.Mutex
	seen, failed := map[string]int{}, 0
	var left atomic.Int64
	left.Store(int64(n))
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for left.Add(-1) >= 0 {
				r, err := cmd.Call(context.Background(), ReserveRequest{SKU: "apple"})
				mu.Lock()
				if err != nil {
					failed++
				} else {
					seen[r.Server]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return seen, failed
}

// Balancing on the caller's side sees latency that NATS's random pick
// ignores: one replica of four 5 ms slower gets at most 10 % of the calls
// (the queue group gives it 25 %).
func TestCallerSideBalancingAvoidsSlowReplica(t *testing.T) {
	e := embedded(t)
	reg := replicaSet(t, e, func(int) error { return nil }, func(i int) time.Duration {
		if i == 3 {
			return 5 * time.Millisecond
		}
		return 0
	})
	cfg := balance.DefaultConfig()
	cfg.Policy = balance.P2CEWMA
	cmd := reserve(t, natstransport.NewRoute(client(t, e), "inventory", natstransport.Balance(reg, cfg)))
	seen, failed := load(t, cmd, 2000)
	if failed > 0 {
		t.Fatalf("%d calls failed", failed)
	}
	share := float64(seen["d"]) / 2000
	t.Logf("calls per replica %v: the slow one got %.1f %%", seen, 100*share)
	if share > 0.10 {
		t.Errorf("the slow replica got %.1f %% of the calls, want at most 10 %%", 100*share)
	}
	if len(seen) < 3 {
		t.Errorf("calls per replica %v: the others should share them", seen)
	}
}

// One replica of four always fails: after its first 20 failures, at least
// 95 % of the calls avoid it (ejection).
func TestCallerSideBalancingEjectsFailingReplica(t *testing.T) {
	e := embedded(t)
	reg := replicaSet(t, e, func(i int) error {
		if i == 0 {
			return errs.Internal()
		}
		return nil
	}, func(int) time.Duration { return 0 })
	cmd := reserve(t, natstransport.NewRoute(client(t, e), "inventory", natstransport.Balance(reg, balance.DefaultConfig())))
	failures, after, afterFailed := 0, 0, 0
	for range 2000 {
		_, err := cmd.Call(context.Background(), ReserveRequest{SKU: "apple"})
		if failures >= 20 {
			after++
			if err != nil {
				afterFailed++
			}
		}
		if err != nil {
			failures++
		}
	}
	t.Logf("2000 calls: %d failed (ejection after 5 in a row); after the 20th failure, %d of %d calls failed", failures, afterFailed, after)
	if after > 0 && float64(afterFailed)/float64(after) > 0.05 {
		t.Errorf("after its first 20 failures, %d of %d calls still reached the failing replica, want at most 5 %%", afterFailed, after)
	}
	if failures > 100 {
		t.Errorf("%d of 2000 calls failed: the failing replica was not ejected", failures)
	}
}

// A node the registry still lists after its process died (until its TTL)
// answers nothing: NATS says no one serves its subject, and the call goes
// to the queue group instead, without failing.
func TestCallerSideBalancingSkipsGoneNode(t *testing.T) {
	e := embedded(t)
	reg := replicaSet(t, e, func(int) error { return nil }, func(int) time.Duration { return 0 })
	ghost := registry.Node{Service: "inventory", ID: "node-ghost", Endpoints: map[string]string{"nats": "0123456789abcdef0123456789abcdef"}}
	if err := reg.Register(context.Background(), ghost); err != nil {
		t.Fatal(err)
	}
	cfg := balance.DefaultConfig()
	cfg.Policy = balance.RoundRobin
	cmd := reserve(t, natstransport.NewRoute(client(t, e), "inventory", natstransport.Balance(reg, cfg)))
	for range 50 {
		if _, err := cmd.Call(context.Background(), ReserveRequest{SKU: "apple"}); err != nil {
			t.Fatalf("a call failed: %v", err)
		}
	}
}
