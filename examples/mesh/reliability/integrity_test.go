package reliability

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/wegomesh/wego/examples/mesh/orders"
)

// The integrity targets: whatever a client does — half-close its
// connection, ask for a 1 ms deadline, retry while inventory is frozen —
// the stock decrease equals the units of the 201s it got, exactly.

// integrityMix is the orders of the integrity tests: 1 to 3 units of SKUs
// with plenty of stock or scarce ones, a fixed function of i.
func integrityMix(i int) (string, int) {
	h := uint32(i)*2654435761 + 977
	if h%5 == 0 {
		return fmt.Sprintf("scarce-%d", h/5%5), int(h/100%3) + 1
	}
	return fmt.Sprintf("plenty-%d", h/5%10), int(h/100%3) + 1
}

// readOrder reads a response of POST /orders into r: status, code, and the
// order of a 201, which must be complete.
func readOrder(r *result, resp *http.Response) {
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	r.status, r.header = resp.StatusCode, resp.Header.Get("X-Request-Id")
	if err != nil {
		r.problem = "incomplete body: " + err.Error()
		return
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		r.problem = fmt.Sprintf("content type %q, body %q", ct, data)
		return
	}
	if resp.StatusCode == http.StatusCreated {
		var o orders.Order
		if err := json.Unmarshal(data, &o); err != nil || o.OrderID == "" || o.ReservationID == "" || o.SKU != r.sku || o.Qty != r.qty {
			r.problem = fmt.Sprintf("bad order %s", data)
		}
		r.orderID, r.resID = o.OrderID, o.ReservationID
		return
	}
	var eb errorBody
	if err := json.Unmarshal(data, &eb); err != nil || eb.Code == "" {
		r.problem = fmt.Sprintf("not an error body: %q", data)
	}
	r.code = eb.Code
}

// TestHalfClosedClients: clients send a complete POST /orders on a raw
// socket and half-close it 0 to 4 ms later (60; 300 with WEGO_SOAK=1).
// Orders that started run to completion; those whose client had gone
// before they started run nothing. Each 201 the clients read is one order
// and one reservation, and nothing else is held.
func TestHalfClosedClients(t *testing.T) {
	verifyNoLeaks(t)
	n, conc := scale(60, 300), 10
	stock := catalogue(1000, 6)
	inv := start(t, nodeOpts{yaml: inventoryYAML(""), stock: stock})
	ord := start(t, nodeOpts{yaml: ordersYAML(inv.url, "", "")})

	rs := make([]result, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range conc {
		rng := rand.New(rand.NewPCG(uint64(w), 12))
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				sku, qty := integrityMix(i)
				rs[i] = halfClose(ord.addr, sku, qty, time.Duration(rng.IntN(4001))*time.Microsecond)
			}
		})
	}
	wg.Wait()

	answered := 0
	for _, r := range rs {
		if r.problem != "" {
			t.Errorf("POST /orders %s×%d -> %d: %s", r.sku, r.qty, r.status, r.problem)
		}
		if r.status != 0 {
			answered++
		}
	}
	checkAccounting(t, inv.inv, ord.ord, stock, rs)
	placed, _ := ord.att.count("orders.Place")
	t.Logf("FIGURES half-close: %d orders, half-closed after 0-4 ms: {%s}; %d answered; orders.Place reached %d times",
		n, fmtTally(tally(rs)), answered, placed)
}

// halfClose sends one order on a new connection, half-closes it after
// wait, and reads the answer, if any.
func halfClose(addr, sku string, qty int, wait time.Duration) result {
	r := result{sku: sku, qty: qty}
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		r.err = err
		return r
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := conn.Write(post(fmt.Sprintf(`{"sku":%q,"qty":%d}`, sku, qty))); err != nil {
		r.err = err
		return r
	}
	time.Sleep(wait)
	_ = conn.(*net.TCPConn).CloseWrite()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return r // no answer: the server saw the client gone before it started
	}
	readOrder(&r, resp)
	return r
}

// TestShortClientDeadlines: orders with X-Wego-Timeout of 1 to 3 ms (60;
// 300 with WEGO_SOAK=1). An order whose deadline passed before it started
// is 504 and reserves nothing; one that started runs to completion and is
// answered 201, or 409 when its SKU ran out.
func TestShortClientDeadlines(t *testing.T) {
	verifyNoLeaks(t)
	n, conc := scale(60, 300), 10
	stock := catalogue(1000, 6)
	inv := start(t, nodeOpts{yaml: inventoryYAML(""), stock: stock})
	ord := start(t, nodeOpts{yaml: ordersYAML(inv.url, "", "")})
	c := newClient(conc)
	defer c.close()

	rs := make([]result, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				sku, qty := integrityMix(i)
				rs[i] = c.placeWith(ord.url, sku, qty, map[string]string{"X-Wego-Timeout": fmt.Sprint(1 + i%3)})
			}
		})
	}
	wg.Wait()
	checkResults(t, rs, map[int][]string{
		http.StatusCreated:        {""},
		http.StatusConflict:       {"inventory.insufficient_stock"},
		http.StatusGatewayTimeout: {"deadline_exceeded"},
	})
	checkAccounting(t, inv.inv, ord.ord, stock, rs)
	t.Logf("FIGURES short deadlines: %d orders with X-Wego-Timeout 1-3 ms: {%s}", n, fmtTally(tally(rs)))
}

// placeWith sends POST /orders with extra headers and reads the answer.
func (c *client) placeWith(base, sku string, qty int, headers map[string]string) result {
	r := result{sku: sku, qty: qty}
	req, err := http.NewRequest(http.MethodPost, base+"/orders", strings.NewReader(fmt.Sprintf(`{"sku":%q,"qty":%d}`, sku, qty)))
	if err != nil {
		r.err = err
		return r
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := c.hc.Do(req)
	r.at = time.Now()
	if err != nil {
		r.err = err
		return r
	}
	readOrder(&r, resp)
	return r
}

// freezeBudgets are the http sections of the frozen-inventory test: short
// budgets in the normal run (a write timeout of 1.2s, so a command budget
// of 1s), the defaults in the soak run.
func freezeBudgets() (writeTimeout time.Duration, ordersHTTP, inventoryHTTP string) {
	if soak {
		return 30 * time.Second, "http: {read_header_timeout: 1s, drain_delay: 100ms}\n",
			`http: {addr: "127.0.0.1:0", read_header_timeout: 1s}` + "\n"
	}
	return 1200 * time.Millisecond,
		"http: {read_header_timeout: 1s, drain_delay: 100ms, write_timeout: 1200ms}\nhttp_client: {response_header_timeout: 800ms}\n",
		`http: {addr: "127.0.0.1:0", read_header_timeout: 1s, write_timeout: 1200ms}` + "\n"
}

// TestInventoryFrozen freezes inventory, its own process, with SIGSTOP —
// for 35/30 and 65/30 of the write timeout: past orders' write timeout,
// and past what was the route's response_header_timeout (60s) — while a
// client places one order and retries it with the same Idempotency-Key
// until it gets a 201. Every attempt is answered with a JSON body before
// orders' write timeout would close the connection; once inventory runs
// again, the order is placed once and reserved once, though copies of its
// reservation request reached inventory while it was frozen. The budgets
// are 1s in the normal run (freezes of 1.4s and 2.6s) and the defaults
// with WEGO_SOAK=1 (35s and 65s).
func TestInventoryFrozen(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	write, ordersHTTP, inventoryHTTP := freezeBudgets()
	for _, freeze := range []time.Duration{write * 35 / 30, write * 65 / 30} {
		t.Run(freeze.String(), func(t *testing.T) { frozenInventory(t, write, freeze, ordersHTTP, inventoryHTTP) })
	}
}

func frozenInventory(t *testing.T, write, freeze time.Duration, ordersHTTP, inventoryHTTP string) {
	verifyNoLeaks(t)
	const sku, qty, initial = "plenty-0", 3, 1000
	invURL, proc := startInventoryProcess(t, inventoryHTTP+fmt.Sprintf("inventory:\n  stock: {%s: %d}\n", sku, initial))
	pause, openTimeout := 100*time.Millisecond, 200*time.Millisecond
	if soak {
		pause, openTimeout = time.Second, 2*time.Second
	}
	ord := start(t, nodeOpts{yaml: ordersYAML(invURL, fmt.Sprintf("  breaker: {open_timeout: %s}\n", openTimeout), ordersHTTP)})
	c := newClient(1)
	c.hc.Timeout = 3 * write // longer than orders may take: it must answer first
	defer c.close()

	if err := proc.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	frozenAt := time.Now()
	resumed := make(chan struct{})
	go func() {
		time.Sleep(freeze)
		_ = proc.Signal(syscall.SIGCONT)
		close(resumed)
	}()
	t.Cleanup(func() { <-resumed })

	key := uuid.NewString()
	var attempts []result
	var tookMax time.Duration
	giveUp := frozenAt.Add(freeze + 10*write + 10*openTimeout)
	for time.Now().Before(giveUp) {
		began := time.Now()
		r := c.placeWith(ord.url, sku, qty, map[string]string{"Idempotency-Key": key})
		tookMax = max(tookMax, time.Since(began))
		attempts = append(attempts, r)
		if r.err != nil || r.problem != "" || r.status == http.StatusCreated {
			break
		}
		time.Sleep(pause)
	}
	<-resumed

	last := attempts[len(attempts)-1]
	checkResults(t, attempts, map[int][]string{
		http.StatusCreated:            {""},
		http.StatusServiceUnavailable: {"transport.unavailable", "circuit_open", "unavailable"},
		http.StatusGatewayTimeout:     {"deadline_exceeded"},
	})
	if last.status != http.StatusCreated {
		t.Fatalf("no order after %d attempts over %s: the last got %d %s %v", len(attempts),
			time.Since(frozenAt).Round(time.Millisecond), last.status, last.code, last.err)
	}
	if tookMax >= write {
		t.Errorf("an attempt took %s, not less than orders' write timeout %s", tookMax.Round(time.Millisecond), write)
	}
	// Copies of the reservation request that waited in inventory's socket
	// buffers ran when it resumed; give stragglers a moment, then count.
	time.Sleep(min(write, 5*time.Second))
	if got := ord.ord.Len(); got != 1 || ord.ord.Quantity(sku) != qty {
		t.Errorf("orders holds %d orders (%d units), want the one order", got, ord.ord.Quantity(sku))
	}
	if left := stockOf(t, invURL, sku); left != initial-qty {
		t.Errorf("inventory has %d %s left, want %d - %d: one reservation", left, sku, initial, qty)
	}
	placed, _ := ord.att.count("orders.Place")
	t.Logf("FIGURES frozen inventory %s (write timeout %s): %d attempts {%s}, the slowest answered in %s; orders.Place ran %d times; %d order(s), %d units reserved",
		freeze, write, len(attempts), fmtTally(tally(attempts)), tookMax.Round(time.Millisecond), placed, ord.ord.Len(), initial-stockOf(t, invURL, sku))
}

// stockOf asks inventory at base for the stock of sku.
func stockOf(t *testing.T, base, sku string) int {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := hc.Get(base + "/inventory/stock/" + sku)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s struct{ Available int }
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s.Available
}

// startInventoryProcess runs the inventory binary with config/reliability.yaml
// made of yaml, and returns its URL and process; the process is killed
// when the test ends.
func startInventoryProcess(t *testing.T, yaml string) (string, *os.Process) {
	t.Helper()
	p := startProc(t, "inventory", inventoryBinary(t),
		"app: {name: inventory, shutdown_timeout: 10s}\nlog: {level: error, format: json}\n"+yaml)
	return p.url, p.cmd.Process
}
