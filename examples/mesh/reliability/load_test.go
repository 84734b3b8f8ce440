package reliability

import (
	"context"
	"runtime"
	"testing"
	"time"
)

// TestLoad sends POST /orders at 100 concurrent connections through orders
// to inventory over HTTP (5,000 orders; 50,000 with WEGO_SOAK=1), with SKUs
// that run out, unknown SKUs and invalid quantities. Every response is a
// documented status with a well-formed body; the stock accounting is
// exact; no goroutine is left and the heap comes back to its baseline.
func TestLoad(t *testing.T) {
	verifyNoLeaks(t)
	n, conc := scale(5000, 50000), 100
	goroutinesBefore := runtime.NumGoroutine()
	heapBefore := heapInuse()
	stock := catalogue(n, n/100) // scarce SKUs run out after about a fifth of their orders

	var counts map[string]int // the results themselves are dropped before the heap is measured
	var elapsed time.Duration
	var conns int64
	var peak uint64
	t.Run("run", func(t *testing.T) {
		inv := start(t, nodeOpts{yaml: inventoryYAML(""), stock: stock})
		ord := start(t, nodeOpts{yaml: ordersYAML(inv.url, "", "")})
		c := newClient(conc)
		defer c.close()
		stopSampler := heapSampler()
		began := time.Now()
		rs := c.load(context.Background(), ord.url, n, conc, orderMix)
		elapsed = time.Since(began)
		peak = stopSampler()
		conns = c.conns.Load()

		if len(rs) != n {
			t.Fatalf("%d responses for %d requests", len(rs), n)
		}
		checkResults(t, rs, normal)
		checkAccounting(t, inv.inv, ord.ord, stock, rs)
		counts = tally(rs)
		if counts["409 inventory.insufficient_stock"] == 0 || counts["201"] == 0 || counts["404 inventory.unknown_sku"] == 0 ||
			counts["400 invalid_argument"] == 0 {
			t.Errorf("the mix should give every outcome: %s", fmtTally(counts))
		}
		if conns < int64(conc) {
			t.Errorf("%d connections, want at least %d concurrent ones", conns, conc)
		}
		total, _ := inv.att.count("inventory.Reserve")
		// orders validates nothing itself: every order reaches inventory once.
		if total != n {
			t.Errorf("inventory.Reserve ran %d times for %d orders: no retry for a non-idempotent command", total, n)
		}
	})
	if t.Failed() {
		return
	}
	heapAfter := heapInuse()
	checkHeap(t, heapBefore, heapAfter)
	time.Sleep(100 * time.Millisecond) // let closed connections' goroutines end, for the count below
	t.Logf("FIGURES load: requests=%d concurrency=%d connections=%d duration=%s throughput=%.0f/s statuses={%s} "+
		"heap_before={%s} heap_peak_inuse=%.1fMiB heap_after={%s} goroutines_before=%d goroutines_after=%d",
		n, conc, conns, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), fmtTally(counts),
		heapBefore, float64(peak)/mib, heapAfter, goroutinesBefore, runtime.NumGoroutine())
}
