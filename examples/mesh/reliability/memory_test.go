package reliability

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The memory target: N concurrent requests of the maximum size (1 MiB)
// through orders to inventory make each service's peak resident memory
// grow by at most 3× the bytes in flight (N MiB), and each comes back to
// within 20% of its baseline within 30s. Both run as their own processes,
// built from their main packages, so that what is measured is theirs
// alone: VmHWM and VmRSS of /proc/PID/status.
//
// The baseline is that of services warmed up with the same number of
// concurrent connections, with small requests, and idle since: N
// connections cost the Go runtime memory it keeps (goroutine records and
// cached stacks, connection tables, threads: about 2-3 MiB for 200, next
// to a baseline of 15 MiB, mostly the program's code), and the target is
// about what the bytes of the requests cost.

const (
	// memBody is the size of each request: http.max_body_bytes (1 MiB,
	// the default) less room for what orders adds when it relays the
	// order to inventory, whose limit is the same.
	memBody       = 1<<20 - 256
	memGrowth     = 3   // peak growth ≤ memGrowth × bytes in flight
	memBack       = 1.2 // back to ≤ memBack × baseline
	memBackWithin = 30 * time.Second
)

// memory returns the resident memory of the process now and its peak
// (VmRSS and VmHWM), in bytes.
func (p *proc) memory(t *testing.T) (rss, peak uint64) {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		t.Fatalf("%s: %v", p.name, err)
	}
	for line := range strings.Lines(string(data)) {
		f := strings.Fields(line)
		if len(f) != 3 || f[2] != "kB" {
			continue
		}
		n, _ := strconv.ParseUint(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			rss = n << 10
		case "VmHWM:":
			peak = n << 10
		}
	}
	return rss, peak
}

// TestMemoryUnderLargeRequests sends 20 (soak: 200) requests of 1 MiB at
// once to orders, which relays each to inventory (a SKU of 1 MiB, unknown
// there: 404 inventory.unknown_sku): each service's peak resident memory
// grows by at most 3× the bytes in flight, and comes back to within 20%
// of its baseline within 30s once the requests end.
func TestMemoryUnderLargeRequests(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the services as processes")
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc: " + err.Error())
	}
	invBin := inventoryBinary(t)
	ordBin := binary(t, "orders")
	// The long run keeps the services' own timings: memory released 1s
	// after a burst and again 10s later, idle connections from orders to
	// inventory closed after 5s. The short one makes them 200ms, 2s and
	// 1s, so that its warm-up takes 3s, not 12.
	n, idle := scale(20, 200), 3*time.Second
	httpSection := "http: {addr: \"127.0.0.1:0\", memory_release_delay: 200ms}\n"
	clientSection := "http_client: {idle_conn_timeout: 1s}\n"
	if soak {
		httpSection, clientSection, idle = "http: {addr: \"127.0.0.1:0\"}\n", "", 12*time.Second
	}
	common := "log: {level: warn, format: json}\n" + httpSection
	inv := startProc(t, "inventory", invBin, "app: {name: inventory}\n"+common+"inventory:\n  stock: {apple: 1000000}\n")
	ord := startProc(t, "orders", ordBin, "app: {name: orders}\n"+common+clientSection+"routes:\n  inventory.*: "+inv.url+"\n")
	procs := []*proc{ord, inv}

	tr := &http.Transport{MaxConnsPerHost: n, MaxIdleConnsPerHost: n}
	hc := &http.Client{Transport: tr, Timeout: 60 * time.Second}
	post := func(body []byte) (int, error) {
		resp, err := hc.Post(ord.url+"/orders", "application/json", bytes.NewReader(body))
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		answer, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 300 && resp.StatusCode != http.StatusNotFound {
			return resp.StatusCode, fmt.Errorf("%.300s", answer)
		}
		return resp.StatusCode, nil
	}
	// Warm up: n small orders at once, then 5 large ones one by one (so
	// that the services release memory once idle), then idle until the
	// connections have closed and the second release has run.
	burst(t, n, func(int) []byte { return []byte(`{"sku":"apple","qty":1}`) }, post, http.StatusCreated)
	for i := range 5 {
		burst(t, 1, func(int) []byte { return bigOrder(-1 - i) }, post, http.StatusNotFound)
	}
	tr.CloseIdleConnections()
	time.Sleep(idle)
	base := make([]uint64, len(procs))
	for i, p := range procs {
		base[i], _ = p.memory(t)
	}

	// n requests of the maximum size, at once.
	took := burst(t, n, bigOrder, post, http.StatusNotFound)
	tr.CloseIdleConnections()

	inFlight := uint64(n) * memBody
	ended := time.Now()
	for i, p := range procs {
		_, peak := p.memory(t)
		growth := int64(peak) - int64(base[i])
		if growth > int64(memGrowth*inFlight) {
			t.Errorf("%s: peak resident memory %.1f MiB, %.1f MiB over its baseline %.1f MiB, for %.0f MiB in flight (limit %d×)",
				p.name, mb(peak), float64(growth)/mib, mb(base[i]), mb(inFlight), memGrowth)
		}
		var rss uint64
		for {
			rss, _ = p.memory(t)
			if float64(rss) <= memBack*float64(base[i]) || time.Since(ended) > memBackWithin {
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
		back := time.Since(ended)
		if float64(rss) > memBack*float64(base[i]) {
			t.Errorf("%s: resident memory %.1f MiB %s after the requests, baseline %.1f MiB", p.name, mb(rss), back.Round(time.Second), mb(base[i]))
		}
		t.Logf("FIGURES memory %s: %d × 1 MiB in %s; baseline %.1f MiB, peak %.1f MiB (+%.2f× the bytes in flight), %.1f MiB after %s",
			p.name, n, took.Round(time.Millisecond), mb(base[i]), mb(peak), float64(growth)/float64(inFlight), mb(rss), back.Round(10*time.Millisecond))
	}
}

func mb(n uint64) float64 { return float64(n) / mib }

// bigOrder is an order of memBody bytes whose SKU, unknown, is almost
// all of it.
func bigOrder(i int) []byte {
	prefix, suffix := fmt.Sprintf(`{"sku":"big-%d-`, i), `","qty":1}`
	return []byte(prefix + strings.Repeat("x", memBody-len(prefix)-len(suffix)) + suffix)
}

// burst sends n requests at once, request i with body(i), and fails the
// test unless each gets status want; it returns how long they took.
func burst(t *testing.T, n int, body func(i int) []byte, post func([]byte) (int, error), want int) time.Duration {
	t.Helper()
	start := make(chan struct{})
	var wg sync.WaitGroup
	statuses := make([]int, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			b := body(i)
			<-start
			statuses[i], errs[i] = post(b)
		})
	}
	began := time.Now()
	close(start)
	wg.Wait()
	took := time.Since(began)
	for i := range n {
		if errs[i] != nil || statuses[i] != want {
			t.Fatalf("request %d: %d %v", i, statuses[i], errs[i])
		}
	}
	return took
}
