package reliability

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/wegomesh/wego/examples/mesh/inventory"
	"github.com/wegomesh/wego/log"
)

// faultsYAML injects errors, panics (with the sentinel) and latency into
// inventory.Reserve at rate, seeded.
func faultsYAML(rate float64, extraCommands string) string {
	return inventoryYAML(fmt.Sprintf(`  faultinject:
    enabled: true
    seed: 20240601
    commands:
      inventory.Reserve: {error_rate: %v, panic_rate: %v, latency_rate: %v, latency: 20ms, panic_message: %q}
%s`, rate, rate, rate, sentinel+" injected panic", extraCommands))
}

// TestFaults1Percent and TestFaults5Percent run the load with 1% and 5%
// injected errors, panics and latency in inventory.Reserve.
func TestFaults1Percent(t *testing.T) { testFaults(t, 0.01) }
func TestFaults5Percent(t *testing.T) { testFaults(t, 0.05) }

// testFaults proves, under injected faults: every caller gets a documented
// answer, and every failure is a typed error body with a request id equal
// to X-Request-Id (503 unavailable for an injected error, 500 internal for
// an injected panic, with nothing of the panic in it); the failures are
// exactly the injected ones (Reserve, not idempotent, is never retried:
// inventory sees each order once); the breaker stays closed at these
// rates; the stock accounting is exact; no goroutine is left and the heap
// returns to its baseline.
func testFaults(t *testing.T, rate float64) {
	verifyNoLeaks(t)
	n, conc := scale(2000, 20000), 100
	heapBefore := heapInuse()
	stock := catalogue(n, n/100)
	var counts map[string]int
	var delays, panics, errors int64
	var elapsed time.Duration
	t.Run("run", func(t *testing.T) {
		inv := start(t, nodeOpts{yaml: faultsYAML(rate, ""), stock: stock})
		ord := start(t, nodeOpts{yaml: ordersYAML(inv.url, "", "")})
		c := newClient(conc)
		defer c.close()
		began := time.Now()
		rs := c.load(context.Background(), ord.url, n, conc, orderMix)
		elapsed = time.Since(began)
		if len(rs) != n {
			t.Fatalf("%d responses for %d requests", len(rs), n)
		}
		checkResults(t, rs, withFaults(normal, map[int][]string{
			http.StatusServiceUnavailable:  {"unavailable"},
			http.StatusInternalServerError: {"internal"},
		}))
		checkAccounting(t, inv.inv, ord.ord, stock, rs)
		counts = tally(rs)
		delays, panics, errors = inv.inj.Counts("inventory.Reserve")
		if got := int64(counts["503 unavailable"]); got != errors {
			t.Errorf("%d callers got 503 unavailable, %d errors were injected", got, errors)
		}
		if got := int64(counts["500 internal"]); got != panics {
			t.Errorf("%d callers got 500 internal, %d panics were injected", got, panics)
		}
		// The rates hold, loosely: a binomial count within 5 standard
		// deviations (and at least one fault).
		want := rate * float64(n)
		slack := 5*math.Sqrt(want) + 1
		for what, got := range map[string]int64{"delays": delays, "panics": panics, "errors": errors} {
			if got == 0 || math.Abs(float64(got)-want) > slack {
				t.Errorf("%d %s injected in %d calls, want about %.0f", got, what, n, want)
			}
		}
		total, perID := inv.att.count("inventory.Reserve")
		if total != n || perID != 1 {
			t.Errorf("inventory.Reserve ran %d times (at most %d per request id) for %d orders: a non-idempotent command must not be retried", total, perID, n)
		}
		if st, ok := ord.brk.State("inventory.Reserve", inv.addr); !ok || st != gobreaker.StateClosed {
			t.Errorf("breaker of inventory.Reserve on %s is %v (%v), want closed at a %v fault rate", inv.addr, st, ok, rate)
		}
	})
	if t.Failed() {
		return
	}
	heapAfter := heapInuse()
	checkHeap(t, heapBefore, heapAfter)
	t.Logf("FIGURES faults %.0f%%: requests=%d duration=%s injected delays=%d panics=%d errors=%d statuses={%s} heap_before={%s} heap_after={%s}",
		rate*100, n, elapsed.Round(time.Millisecond), delays, panics, errors, fmtTally(counts), heapBefore, heapAfter)
}

// TestBreakerOpensAndCloses stops inventory while orders sends: callers get
// 503 transport.unavailable, then the breaker in orders opens and they get
// 503 circuit_open without any attempt to connect; once inventory is back
// on the same address and open_timeout has passed, the breaker lets a
// call through, closes, and orders succeed again. Stock accounting stays
// exact across the outage.
func TestBreakerOpensAndCloses(t *testing.T) {
	verifyNoLeaks(t)
	stock := catalogue(1000, 1000)
	inv := start(t, nodeOpts{yaml: inventoryYAML(""), stock: stock})
	ord := start(t, nodeOpts{yaml: ordersYAML(inv.url, `  breaker: {min_requests: 10, failure_ratio: 0.5, window: 10s, open_timeout: 300ms}
`, "")})
	c := newClient(4)
	defer c.close()
	ctx := context.Background()
	var rs []result
	send := func() result {
		r := c.placeOrder(ctx, ord.url, "plenty-3", 1)
		rs = append(rs, r)
		return r
	}
	state := func() gobreaker.State {
		st, _ := ord.brk.State("inventory.Reserve", inv.addr)
		return st
	}
	for range 10 {
		if r := send(); r.status != http.StatusCreated {
			t.Fatalf("before the outage: %d %s %s", r.status, r.code, r.problem)
		}
	}

	if err := inv.stop(); err != nil {
		t.Fatal(err)
	}
	unavailable, open := 0, 0
	for i := 0; i < 200 && open < 20; i++ {
		r := send()
		switch {
		case r.status == http.StatusServiceUnavailable && r.code == "transport.unavailable" && open == 0:
			unavailable++
		case r.status == http.StatusServiceUnavailable && r.code == "circuit_open":
			open++
		default:
			t.Fatalf("during the outage, after %d unavailable and %d open: %d %s %s", unavailable, open, r.status, r.code, r.problem)
		}
	}
	if open < 20 || state() != gobreaker.StateOpen {
		t.Fatalf("breaker did not open: %d unavailable, %d circuit_open, state %v", unavailable, open, state())
	}
	if unavailable < 10 {
		t.Errorf("breaker opened after %d failures, before min_requests", unavailable)
	}
	t.Logf("breaker opened after %d failed calls", unavailable)

	// Inventory comes back on the same address with the same stock.
	start(t, nodeOpts{yaml: inventoryYAML(""), addr: inv.addr, reuse: inv})
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := send()
		if r.status == http.StatusCreated {
			break
		}
		if r.code != "circuit_open" || time.Now().After(deadline) {
			t.Fatalf("after recovery: %d %s %s", r.status, r.code, r.problem)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for range 10 {
		if r := send(); r.status != http.StatusCreated {
			t.Fatalf("after the breaker closed: %d %s", r.status, r.code)
		}
	}
	if st := state(); st != gobreaker.StateClosed {
		t.Errorf("breaker is %v after recovery, want closed", st)
	}
	checkResults(t, rs, map[int][]string{http.StatusCreated: {""}, http.StatusServiceUnavailable: {"transport.unavailable", "circuit_open"}})
	checkAccounting(t, inv.inv, ord.ord, stock, rs)
}

// TestRetriesOnlyIdempotent injects 50% unavailable errors into both
// inventory commands. inventory.Stock, marked idempotent in orders'
// configuration, is retried: inventory sees more attempts than calls, at
// most max_attempts per call (request id), and no more retries than the
// budget allows. inventory.Reserve, not idempotent, is never retried.
func TestRetriesOnlyIdempotent(t *testing.T) {
	verifyNoLeaks(t)
	stock := catalogue(100000, 100000)
	inv := start(t, nodeOpts{yaml: inventoryYAML(`  faultinject:
    enabled: true
    seed: 99
    commands:
      inventory.*: {error_rate: 0.5}
`), stock: stock})
	ord := start(t, nodeOpts{yaml: ordersYAML(inv.url, `  retry:
    max_attempts: 3
    base_delay: 1ms
    max_delay: 4ms
    commands:
      inventory.Stock: {idempotent: true}
  breaker: {commands: {"*": {disable: true}}}
`, "")})
	calls, workers := scale(400, 4000), 8
	began := time.Now()
	var mu sync.Mutex
	failed := 0
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < calls; i += workers {
				ctx := log.ContextWithRequestID(ord.ctx, log.NewRequestID())
				if _, err := inventory.Stock.Call(ctx, inventory.StockRequest{SKU: "plenty-0"}); err != nil {
					mu.Lock()
					failed++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(began)
	total, perID := inv.att.count("inventory.Stock")
	retries := total - calls
	// The budget: 10 tokens to start with, 0.1 per call, 10 per second.
	budget := 10 + 0.1*float64(calls) + 10*elapsed.Seconds() + 1
	t.Logf("inventory.Stock: %d calls, %d attempts (%d retries, budget %.0f), %d failed for the caller, in %s",
		calls, total, retries, budget, failed, elapsed.Round(time.Millisecond))
	if retries <= 0 {
		t.Errorf("no retry of the idempotent inventory.Stock: %d attempts for %d calls", total, calls)
	}
	if perID > 3 {
		t.Errorf("a call of inventory.Stock made %d attempts, max_attempts is 3", perID)
	}
	if float64(retries) > budget {
		t.Errorf("%d retries in %s, the budget allows %.0f", retries, elapsed, budget)
	}

	c := newClient(8)
	defer c.close()
	n := scale(200, 2000)
	rs := c.load(context.Background(), ord.url, n, 8, func(i int) (string, int) { return "plenty-1", 1 })
	checkResults(t, rs, map[int][]string{http.StatusCreated: {""}, http.StatusServiceUnavailable: {"unavailable"}})
	checkAccounting(t, inv.inv, ord.ord, stock, rs)
	total, perID = inv.att.count("inventory.Reserve")
	if total != n || perID != 1 {
		t.Errorf("inventory.Reserve: %d attempts (at most %d per request id) for %d orders; it is not idempotent", total, perID, n)
	}
}
