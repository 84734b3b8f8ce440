package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// probe is one answer of /readyz.
type probe struct {
	at     time.Time
	status int // 0: no connection
}

// pollReadiness asks base/readyz every 2ms on a new connection until stop
// is closed, and returns the answers.
func pollReadiness(base string, stop <-chan struct{}) func() []probe {
	var out []probe
	done := make(chan struct{})
	go func() {
		defer close(done)
		tr := &http.Transport{DisableKeepAlives: true}
		defer tr.CloseIdleConnections()
		hc := &http.Client{Transport: tr, Timeout: 2 * time.Second}
		for {
			select {
			case <-stop:
				return
			default:
			}
			p := probe{}
			if resp, err := hc.Get(base + "/readyz"); err == nil {
				p.status = resp.StatusCode
				resp.Body.Close()
			}
			p.at = time.Now()
			out = append(out, p)
			time.Sleep(2 * time.Millisecond)
		}
	}()
	return func() []probe { <-done; return out }
}

// checkReadiness checks that /readyz answered 200, then never 200 again
// once it answered anything else (503 or no connection).
func checkReadiness(t *testing.T, ps []probe) (ready, notReady, refused int) {
	t.Helper()
	down := false
	for _, p := range ps {
		switch p.status {
		case http.StatusOK:
			ready++
			if down {
				t.Errorf("/readyz answered 200 again after it went down")
			}
		case http.StatusServiceUnavailable:
			notReady++
			down = true
		case 0:
			refused++
			down = true
		default:
			t.Errorf("/readyz answered %d", p.status)
		}
	}
	if ready == 0 || refused == 0 {
		t.Errorf("/readyz: %d ready, %d not ready, %d refused: want ready then refused", ready, notReady, refused)
	}
	return ready, notReady, refused
}

// drainMix orders only SKUs in stock: what is not a 201 comes from the
// shutdown.
func drainMix(i int) (string, int) { return fmt.Sprintf("plenty-%d", i%10), 1 + i%3 }

// duringShutdown is what a caller of orders may get while inventory stops:
// a complete order, or a retryable 503.
var duringShutdown = map[int][]string{
	http.StatusCreated:            {""},
	http.StatusServiceUnavailable: {"transport.unavailable", "circuit_open"},
}

// sendUntil sends orders from conc goroutines until stop is closed.
func sendUntil(c *client, base string, conc int, stop <-chan struct{}) func() []result {
	return untilStopped(conc, stop, func(i int) result {
		sku, qty := drainMix(i)
		return c.placeOrder(context.Background(), base, sku, qty)
	})
}

// untilStopped runs one(i) from conc goroutines, goroutine w taking i = w,
// w+conc, w+2*conc, ..., until stop is closed; the function it returns
// waits for them and gives every result.
func untilStopped[T any](conc int, stop <-chan struct{}, one func(i int) T) func() []T {
	var mu sync.Mutex
	var all []T
	var wg sync.WaitGroup
	for w := range conc {
		wg.Go(func() {
			var mine []T
			for i := w; ; i += conc {
				select {
				case <-stop:
					mu.Lock()
					all = append(all, mine...)
					mu.Unlock()
					return
				default:
				}
				mine = append(mine, one(i))
			}
		})
	}
	return func() []T { wg.Wait(); return all }
}

// TestShutdownUnderLoad stops inventory (App.Stop) while 50 clients place
// orders through orders and 30% of reservations take 100ms: the requests
// inventory had accepted complete (201), later ones get a retryable 503
// (transport.unavailable, then circuit_open), /readyz goes down and never
// comes back, and the stock accounting is exact.
func TestShutdownUnderLoad(t *testing.T) {
	verifyNoLeaks(t)
	stock := catalogue(1_000_000, 1_000_000)
	inv := start(t, nodeOpts{yaml: inventoryYAML(`  faultinject:
    enabled: true
    commands:
      inventory.Reserve: {latency_rate: 0.3, latency: 100ms}
`), stock: stock})
	ord := start(t, nodeOpts{yaml: ordersYAML(inv.url, "", "")})
	c := newClient(50)
	defer c.close()

	stopLoad, stopProbe := make(chan struct{}), make(chan struct{})
	probes := pollReadiness(inv.url, stopProbe)
	results := sendUntil(c, ord.url, 50, stopLoad)
	time.Sleep(time.Duration(scale(300, 3000)) * time.Millisecond)
	stopBegan := time.Now()
	if err := inv.stop(); err != nil {
		t.Errorf("stop: %v", err)
	}
	stopped := time.Now()
	time.Sleep(300 * time.Millisecond)
	close(stopLoad)
	rs := results()
	close(stopProbe)
	ps := probes()

	checkResults(t, rs, duringShutdown)
	checkAccounting(t, inv.inv, ord.ord, stock, rs)
	ready, notReady, refused := checkReadiness(t, ps)
	completedDuringDrain := 0
	for _, r := range rs {
		if r.status == http.StatusCreated && r.at.After(stopBegan) {
			completedDuringDrain++
		}
	}
	if completedDuringDrain == 0 {
		t.Errorf("no order completed while inventory drained: in-flight requests were cut")
	}
	t.Logf("FIGURES shutdown: %d orders {%s}; %d completed while inventory stopped (stop took %s); /readyz ready=%d not_ready=%d refused=%d",
		len(rs), fmtTally(tally(rs)), completedDuringDrain, stopped.Sub(stopBegan).Round(time.Millisecond), ready, notReady, refused)
}

// TestSIGTERMChildProcess runs inventory as its own process, built from
// its main package with a config/reliability.yaml beside it, and sends it SIGTERM
// while orders (in this process) places orders through it: the process
// exits 0 within its shutdown timeout, every caller of orders gets a
// complete order or a retryable 503, /readyz goes down and stays down, and
// orders holds exactly the orders its callers were told about, each with
// its own reservation. (The child's stock dies with it; the in-process
// test checks the stock.)
func TestSIGTERMChildProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	verifyNoLeaks(t)
	yaml := `app: {name: inventory, shutdown_timeout: 10s}
log: {level: warn, format: json}
http: {addr: "127.0.0.1:0", read_header_timeout: 1s}
inventory:
  stock: {plenty-0: 1000000, plenty-1: 1000000, plenty-2: 1000000, plenty-3: 1000000, plenty-4: 1000000,
          plenty-5: 1000000, plenty-6: 1000000, plenty-7: 1000000, plenty-8: 1000000, plenty-9: 1000000}
middleware:
  faultinject:
    enabled: true
    commands:
      inventory.Reserve: {latency_rate: 0.3, latency: 100ms}
`
	inv := startProc(t, "inventory", inventoryBinary(t), yaml)
	invURL := inv.url

	ord := start(t, nodeOpts{yaml: ordersYAML(invURL, "", "")})
	c := newClient(50)
	defer c.close()
	stopLoad, stopProbe := make(chan struct{}), make(chan struct{})
	probes := pollReadiness(invURL, stopProbe)
	results := sendUntil(c, ord.url, 50, stopLoad)
	time.Sleep(time.Duration(scale(300, 3000)) * time.Millisecond)
	termAt := time.Now()
	if err := inv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-inv.done:
	case <-time.After(15 * time.Second):
		t.Fatalf("inventory still running 15s after SIGTERM\n%s", inv.stderr)
	}
	exitErr := inv.err
	exitedAt := time.Now()
	time.Sleep(300 * time.Millisecond)
	close(stopLoad)
	rs := results()
	close(stopProbe)
	ps := probes()

	if exitErr != nil {
		t.Errorf("inventory exited with %v after SIGTERM\n%s", exitErr, inv.stderr)
	}
	checkResults(t, rs, duringShutdown)
	ready, notReady, refused := checkReadiness(t, ps)
	created, completedDuringDrain := 0, 0
	ids := map[string]bool{}
	for _, r := range rs {
		if r.status != http.StatusCreated {
			continue
		}
		created++
		if ids[r.resID] {
			t.Errorf("reservation %s given to two orders", r.resID)
		}
		ids[r.resID] = true
		if r.at.After(termAt) {
			completedDuringDrain++
		}
	}
	if got := ord.ord.Len(); got != created {
		t.Errorf("orders holds %d orders, its callers got %d", got, created)
	}
	if completedDuringDrain == 0 {
		t.Errorf("no order completed after SIGTERM: in-flight requests were cut")
	}
	t.Logf("FIGURES sigterm: %d orders {%s}; %d completed after SIGTERM; exit %s after SIGTERM; /readyz ready=%d not_ready=%d refused=%d",
		len(rs), fmtTally(tally(rs)), completedDuringDrain, exitedAt.Sub(termAt).Round(time.Millisecond), ready, notReady, refused)
}

// tracedOrder is one POST /orders of the keep-alive burst.
type tracedOrder struct {
	sentAt time.Time // the connection was got
	reused bool      // a keep-alive connection
	wrote  bool      // the request was written whole
	status int
	close  bool // the answer said Connection: close
	err    error
	resID  string
}

// burstOrders sends orders from conc goroutines over c's keep-alive
// connections until stop is closed.
func burstOrders(c *client, base string, conc int, stop <-chan struct{}) func() []tracedOrder {
	return untilStopped(conc, stop, func(i int) tracedOrder {
		var o tracedOrder
		trace := &httptrace.ClientTrace{
			GotConn:      func(ci httptrace.GotConnInfo) { o.sentAt, o.reused = time.Now(), ci.Reused },
			WroteRequest: func(wr httptrace.WroteRequestInfo) { o.wrote = wr.Err == nil },
		}
		sku, qty := drainMix(i)
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace),
			http.MethodPost, base+"/orders", strings.NewReader(fmt.Sprintf(`{"sku":%q,"qty":%d}`, sku, qty)))
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.hc.Do(req)
		if err != nil {
			o.err = err
			return o
		}
		var body struct {
			ReservationID string `json:"reservation_id"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			o.err = fmt.Errorf("reading the answer: %w", err)
		}
		resp.Body.Close()
		o.status, o.close, o.resID = resp.StatusCode, resp.Close, body.ReservationID
		return o
	})
}

// TestDrainKeepAliveBurst stops orders (drain_delay 500ms) while 20
// clients burst orders over keep-alive connections: once the drain
// begins, every answer says Connection: close, so that no client sends
// another request on a connection the drain closes; no request runs
// without its answer (orders and inventory hold exactly the orders the
// clients were told about); a request that fails was never run: its
// connection was refused, or closed before the server read it.
func TestDrainKeepAliveBurst(t *testing.T) {
	verifyNoLeaks(t)
	stock := catalogue(1_000_000, 1_000_000)
	inv := start(t, nodeOpts{yaml: inventoryYAML(""), stock: stock})
	ord := start(t, nodeOpts{yaml: ordersYAML(inv.url, "", "http: {read_header_timeout: 1s, drain_delay: 500ms}\n")})
	c := newClient(20)
	defer c.close()
	stop := make(chan struct{})
	results := burstOrders(c, ord.url, 20, stop)
	time.Sleep(time.Duration(scale(300, 2000)) * time.Millisecond)
	stopBegan := time.Now()
	if err := ord.stop(); err != nil {
		t.Errorf("stop: %v", err)
	}
	time.Sleep(200 * time.Millisecond)
	close(stop)
	rs := results()

	created, afterDrain, keptAlive := 0, 0, 0
	errsBy := map[string]int{}
	ids := map[string]bool{}
	for _, r := range rs {
		switch {
		case r.err != nil:
			kind := "refused"
			if r.wrote {
				kind = "written, then closed unread"
			}
			errsBy[kind]++
			continue
		case r.status == http.StatusCreated:
			created++
			if ids[r.resID] {
				t.Errorf("reservation %s given twice", r.resID)
			}
			ids[r.resID] = true
		case r.status != http.StatusServiceUnavailable:
			t.Errorf("status %d", r.status)
		}
		if r.sentAt.After(stopBegan.Add(100 * time.Millisecond)) {
			afterDrain++
			if !r.close {
				keptAlive++
			}
		}
	}
	if keptAlive > 0 {
		t.Errorf("%d of %d answers sent during the drain kept the connection alive", keptAlive, afterDrain)
	}
	if afterDrain == 0 {
		t.Error("no request was answered during the drain")
	}
	if got := ord.ord.Len(); got != created {
		t.Errorf("orders holds %d orders, its callers got %d: a request ran without its answer", got, created)
	}
	if got := inv.inv.Reservations(); got != created {
		t.Errorf("inventory holds %d reservations, callers got %d orders", got, created)
	}
	t.Logf("FIGURES drain burst: %d requests, %d orders, %d answered during the drain (%d without Connection: close), failures %v",
		len(rs), created, afterDrain, keptAlive, errsBy)
}
