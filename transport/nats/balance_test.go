package natstransport_test

import (
	"context"
	"slices"
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
	seen, failed, _ := timedLoad(t, cmd, n)
	return seen, failed
}

// timedLoad is load that also returns the time of each call, sorted.
func timedLoad(t *testing.T, cmd *catalog.Command[ReserveRequest, ReserveResponse], n int) (map[string]int, int, []time.Duration) {
	t.Helper()
	var mu sync.Mutex
	seen, failed := map[string]int{}, 0
	lat := make([]time.Duration, 0, n)
	var left atomic.Int64
	left.Store(int64(n))
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for left.Add(-1) >= 0 {
				began := time.Now()
				r, err := cmd.Call(context.Background(), ReserveRequest{SKU: "apple"})
				d := time.Since(began)
				mu.Lock()
				if err != nil {
					failed++
				} else {
					seen[r.Server]++
				}
				lat = append(lat, d)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	slices.Sort(lat)
	return seen, failed, lat
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

// The target of caller-side balancing, measured: with one replica of four
// 5 ms slower, p2c_ewma sends it at most 10 % of the calls, and the 99th
// percentile of the calls' time stays within 1.2 times that of four
// healthy replicas, measured in the same run. Rounds alternate between
// the two sets so that they share the machine's noise; the figures are
// the medians over the rounds.
func TestCallerSideBalancingSlowReplicaP99(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("measures 2 × 5 rounds of 4,000 calls, without the race detector")
	}
	e := embedded(t)
	slow := func(slow bool) func(i int) time.Duration {
		return func(i int) time.Duration {
			if slow && i == 3 {
				return 5 * time.Millisecond
			}
			return 0
		}
	}
	cfg := balance.DefaultConfig()
	cfg.Policy = balance.P2CEWMA
	healthy := reserve(t, natstransport.NewRoute(client(t, e), "inventory",
		natstransport.Balance(replicaSet(t, e, func(int) error { return nil }, slow(false)), cfg)))
	slowed := reserve(t, natstransport.NewRoute(client(t, e), "inventory",
		natstransport.Balance(replicaSet(t, e, func(int) error { return nil }, slow(true)), cfg)))
	const calls, rounds = 4000, 5
	timedLoad(t, healthy, calls/4) // warm-up
	timedLoad(t, slowed, calls/4)
	var p99h, p99s, shares []float64
	for range rounds {
		_, failed, lat := timedLoad(t, healthy, calls)
		seen, failed2, lat2 := timedLoad(t, slowed, calls)
		if failed+failed2 > 0 {
			t.Fatalf("%d calls failed", failed+failed2)
		}
		p99h = append(p99h, float64(lat[len(lat)*99/100]))
		p99s = append(p99s, float64(lat2[len(lat2)*99/100]))
		shares = append(shares, float64(seen["d"])/calls)
	}
	med := func(xs []float64) float64 { slices.Sort(xs); return xs[len(xs)/2] }
	ratios := make([]float64, rounds)
	for i := range ratios {
		ratios[i] = p99s[i] / p99h[i]
	}
	share, ratio := med(shares), med(ratios)
	t.Logf("slow replica's share %.1f %% (rounds %.3f); p99 %v healthy, %v with the slow replica: %.2f× (rounds %.2f)",
		100*share, shares, time.Duration(med(p99h)), time.Duration(med(p99s)), ratio, ratios)
	if share > 0.10 {
		t.Errorf("the slow replica got %.1f %% of the calls, want at most 10 %%", 100*share)
	}
	if ratio > 1.2 {
		t.Errorf("p99 with the slow replica is %.2f× that of healthy replicas, want at most 1.2×", ratio)
	}
}
