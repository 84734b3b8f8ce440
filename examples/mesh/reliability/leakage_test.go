package reliability

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/catalog/catalogtest"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/examples/mesh/inventory"
	httptransport "github.com/wegomesh/wego/transport/http"
)

// secretPanic is a panic value of a type of this package: its type name
// must not reach a client either.
type secretPanic struct{ Secret string }

// failing is the behavior of the fake inventory commands, by SKU: each
// hides the sentinel in a different kind of failure. "slow" waits for its
// caller to give up (2 s at most).
func failing(ctx context.Context, sku string) error {
	secret := errors.New(sentinel + " db password=hunter2")
	switch sku {
	case "plain-error": // an untyped error with a file position
		return fmt.Errorf("query failed at /srv/inventory/store.go:42: %w", secret)
	case "typed-internal":
		return errs.Internal().WithCause(secret)
	case "typed-unavailable":
		return errs.Unavailable().WithCause(secret)
	case "typed-not-found": // a client error whose cause is internal
		return inventory.ErrUnknownSKU.New(errs.P("sku", sku)).WithCause(secret)
	case "context":
		return fmt.Errorf("%s: %w", sentinel, context.DeadlineExceeded)
	case "panic-string":
		panic(sentinel + " /srv/inventory/store.go:42")
	case "panic-error":
		panic(secret)
	case "panic-value":
		panic(secretPanic{Secret: sentinel})
	case "panic-nil-map":
		var m map[string]int
		//lint:ignore SA5000 the runtime panic is the point
		m[sentinel]++
	case "slow":
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
	if len(sku) > 1000 { // what a real inventory says of a SKU it does not know
		return inventory.ErrUnknownSKU.New(errs.P("sku", sku))
	}
	return nil
}

var failures = []struct {
	sku    string
	status int
	code   string
}{
	{"plain-error", 500, "internal"},
	{"typed-internal", 500, "internal"},
	{"typed-unavailable", 503, "unavailable"},
	{"typed-not-found", 404, "inventory.unknown_sku"},
	{"context", 504, "deadline_exceeded"},
	{"panic-string", 500, "internal"},
	{"panic-error", 500, "internal"},
	{"panic-value", 500, "internal"},
	{"panic-nil-map", 500, "internal"},
}

// defaultChainsYAML is the configuration of a node that runs fw's default
// chains (no middleware.server or middleware.client list): every default
// middleware is on. routes, when not empty, routes inventory.* there;
// middleware goes under middleware: (indent 2).
func defaultChainsYAML(name, routes, middleware string) string {
	y := "app: {name: " + name + ", shutdown_timeout: 10s}\n" + testHTTP
	if routes != "" {
		y += "routes:\n  inventory.*: " + routes + "\n"
	}
	if middleware != "" {
		y += "middleware:\n" + middleware
	}
	return y
}

// fakeInventory replaces inventory's commands in cat by ones that fail as
// failing says.
func fakeInventory(t *testing.T) func(cat *catalog.Catalog) {
	return func(cat *catalog.Catalog) {
		catalogtest.Replace(t, cat, inventory.Stock, func(ctx context.Context, r inventory.StockRequest) (inventory.StockResponse, error) {
			return inventory.StockResponse{SKU: r.SKU}, failing(ctx, r.SKU)
		})
		catalogtest.Replace(t, cat, inventory.Reserve, func(ctx context.Context, r inventory.ReserveRequest) (inventory.ReserveResponse, error) {
			if err := failing(ctx, r.SKU); err != nil {
				return inventory.ReserveResponse{}, err
			}
			return inventory.ReserveResponse{ReservationID: "r-1", SKU: r.SKU, Remaining: 1}, nil
		})
	}
}

// exposure is what no response may reveal beyond leak's list: the
// addresses of the nodes, their ports, and the names of the commands of
// the mesh, which are internal (a client knows endpoints, not commands).
type exposure struct {
	words []string
}

// port matches an address's port in a body (headers have times such as
// 15:04:05).
var port = regexp.MustCompile(`:[0-9]{2,5}\b`)

// goName matches a qualified Go name or a command name, pkg.Name.
var goName = regexp.MustCompile(`\b[a-z][a-z0-9_]*\.[A-Z][A-Za-z0-9_]*`)

func newExposure(addrs []string, cats ...*catalog.Catalog) *exposure {
	x := &exposure{words: []string{"127.0.0.1", "localhost", "[::1]", "/srv/", "/home/", "/tmp/", "/work/", ".go"}}
	for _, a := range addrs {
		_, p, _ := net.SplitHostPort(a)
		x.words = append(x.words, a, ":"+p)
	}
	for _, c := range cats {
		for _, e := range c.Commands() {
			x.words = append(x.words, e.Spec().Name)
		}
	}
	return x
}

// check returns what the response reveals, or "".
func (x *exposure) check(h http.Header, body []byte) string {
	if what := leak(h, body); what != "" {
		return what
	}
	var all strings.Builder
	for k, vs := range h {
		all.WriteString(k + ": " + strings.Join(vs, ", ") + "\n")
	}
	all.Write(body)
	for _, w := range x.words {
		if strings.Contains(all.String(), w) {
			return fmt.Sprintf("%q", w)
		}
	}
	if m := port.Find(body); m != nil {
		return fmt.Sprintf("a port %q", m)
	}
	if m := goName.Find(body); m != nil {
		return fmt.Sprintf("a Go or command name %q", m)
	}
	return ""
}

// logged fails the test unless a line of logs with the request id holds
// every one of want.
func logged(t *testing.T, logs *observer.ObservedLogs, id string, want ...string) {
	t.Helper()
	for _, e := range logs.All() {
		line := fmt.Sprint(e.Message, " ", e.ContextMap())
		if !strings.Contains(line, id) {
			continue
		}
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(line, w)
		}
		if ok {
			return
		}
	}
	t.Errorf("no log line with request id %s and %q", id, want)
}

// reply is one answer of the mesh.
type reply struct {
	status int
	header http.Header
	body   []byte
	eb     errorBody
}

// send sends a request and checks that the answer reveals nothing and, for
// an error, is a WeGO error body whose request id is the header's.
func (x *exposure) send(t *testing.T, c *client, req *http.Request) reply {
	t.Helper()
	resp, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header, body: body}
	if what := x.check(resp.Header, body); what != "" {
		t.Errorf("%s %s: the response reveals %s: %s %s", req.Method, req.URL.Path[:min(len(req.URL.Path), 40)], what, resp.Header, body)
	}
	if strings.Contains(string(body), "hunter2") {
		t.Errorf("the response reveals the cause: %s", body)
	}
	if resp.StatusCode >= 400 {
		if err := json.Unmarshal(body, &r.eb); err != nil || r.eb.Code == "" || r.eb.Message == "" {
			t.Errorf("%d: not an error body: %q", resp.StatusCode, body)
		}
		if r.eb.RequestID == "" || r.eb.RequestID != resp.Header.Get("X-Request-Id") {
			t.Errorf("request id %q, header %q", r.eb.RequestID, resp.Header.Get("X-Request-Id"))
		}
	}
	return r
}

func postJSON(url, body string, header ...string) *http.Request {
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return req
}

// expect fails the test unless r has the status and code.
func expect(t *testing.T, r reply, status int, code string) {
	t.Helper()
	if r.status != status || r.eb.Code != code {
		t.Errorf("%d %s, want %d %s", r.status, r.body, status, code)
	}
}

// TestNoLeakage makes inventory's commands fail and panic in every way with
// a sentinel hidden in the error, the panic value or its type, and injects
// panics whose message is the sentinel, with fw's default chains on both
// nodes: no response of inventory, nor of orders relaying inventory's
// errors, holds the sentinel, a stack trace, a file position, a Go type or
// package name, an address, a port or a command name, in its body or
// headers. The log of inventory, given by fw.Logger, does hold the sentinel
// and the stack, under the request id of the response; orders logs the
// request id too, so one id ties the client's error to the detail.
func TestNoLeakage(t *testing.T) {
	t.Parallel()
	invCore, invLogs := observer.New(zapcore.DebugLevel)
	ordCore, ordLogs := observer.New(zapcore.DebugLevel)
	inv := start(t, nodeOpts{
		yaml:   defaultChainsYAML("inventory", "", ""),
		stock:  catalogue(1000, 1000),
		logger: zap.New(invCore),
		setup:  fakeInventory(t),
	})
	// The breaker stays on, but this test fails most calls on purpose: it
	// opens only after 1000 failures in a row.
	const patientBreaker = "  breaker: {mode: consecutive, consecutive_failures: 1000}\n"
	ord := start(t, nodeOpts{yaml: defaultChainsYAML("orders", inv.url, patientBreaker), logger: zap.New(ordCore)})
	// A second pair where inventory's real commands get injected panics
	// whose message is the sentinel.
	injCore, injLogs := observer.New(zapcore.DebugLevel)
	injInv := start(t, nodeOpts{
		yaml: defaultChainsYAML("inventory", "", `  faultinject:
    enabled: true
    commands:
      inventory.Reserve: {panic_rate: 0.5, panic_message: "`+sentinel+` injected at main.go:1"}
`),
		stock:  catalogue(1000, 1000),
		logger: zap.New(injCore),
	})
	injOrd := start(t, nodeOpts{yaml: defaultChainsYAML("orders", injInv.url, patientBreaker)})
	x := newExposure([]string{inv.addr, ord.addr, injInv.addr, injOrd.addr}, inv.cat, ord.cat)
	c := newClient(4)
	defer c.close()

	for _, f := range failures {
		t.Run("inventory "+f.sku, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, inv.url+"/inventory/stock/"+f.sku, nil)
			r := x.send(t, c, req)
			expect(t, r, f.status, f.code)
			id := r.eb.RequestID
			detail := sentinel
			if f.sku == "panic-nil-map" { // the runtime's message, not ours
				detail = "nil map"
			}
			if f.status >= 500 {
				logged(t, invLogs, id, detail)
			}
			if strings.HasPrefix(f.sku, "panic") {
				logged(t, invLogs, id, detail, "goroutine ")
			}
		})
		t.Run("orders "+f.sku, func(t *testing.T) {
			r := x.send(t, c, postJSON(ord.url+"/orders", `{"sku":"`+f.sku+`","qty":1}`))
			expect(t, r, f.status, f.code)
			if f.status >= 500 && f.sku != "panic-nil-map" {
				logged(t, invLogs, r.eb.RequestID, sentinel) // the request id crossed the route
				logged(t, ordLogs, r.eb.RequestID, f.code)
			}
		})
	}
	t.Run("injected panics", func(t *testing.T) {
		panics := 0
		for range 20 {
			r := x.send(t, c, postJSON(injOrd.url+"/orders", `{"sku":"plenty-0","qty":1}`))
			switch r.status {
			case http.StatusCreated:
			case http.StatusInternalServerError:
				panics++
				logged(t, injLogs, r.header.Get("X-Request-Id"), sentinel+" injected", "goroutine ")
			default:
				t.Errorf("%d %s", r.status, r.body)
			}
		}
		if _, p, _ := injInv.inj.Counts("inventory.Reserve"); p == 0 || int64(panics) != p {
			t.Errorf("%d responses 500 for %d injected panics", panics, p)
		}
	})
}

// probeRequest asks the probe command of the orders node to fail in one of
// the ways the catalog and the client chain can.
type probeRequest struct {
	What string `json:"what"`
	SKU  string `json:"sku"`
}

type probeResponse struct {
	OK bool `json:"ok"`
}

// probes registers, in an orders node's catalog, leak.Probe (POST
// /leak/probe), which calls a command that does not exist, a declared
// command without a route, or inventory.Stock, as asked; and leak.Limited
// (GET /leak/limited), which the configuration rate-limits.
func probes(t *testing.T) func(cat *catalog.Catalog) {
	return func(cat *catalog.Catalog) {
		nowhere, err := catalog.DeclareIn[probeRequest, probeResponse](cat, "leak.Nowhere")
		if err != nil {
			t.Fatal(err)
		}
		_, err = catalog.RegisterIn(cat, "leak.Probe", func(ctx context.Context, r probeRequest) (probeResponse, error) {
			var err error
			switch r.What {
			case "unknown_command":
				var resp inventory.StockResponse
				err = cat.Call(ctx, "inventory.Nope", &inventory.StockRequest{SKU: r.SKU}, &resp)
			case "no_route":
				_, err = nowhere.Call(ctx, r)
			case "stock":
				_, err = inventory.Stock.Call(ctx, inventory.StockRequest{SKU: r.SKU})
			}
			return probeResponse{OK: err == nil}, err
		}, httptransport.POST("/leak/probe"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = catalog.RegisterIn(cat, "leak.Limited", func(context.Context, struct{}) (probeResponse, error) {
			return probeResponse{OK: true}, nil
		}, httptransport.GET("/leak/limited"))
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestNoLeakageOnEveryErrorPath drives, with fw's default chains, every
// way the framework itself fails a call — the breaker open, retries
// exhausted, rate limited, timeouts (the client chain's and the client's
// own), inventory down, an unknown command, a command without a route — and
// client values far over the limit of an echoed parameter. No response
// reveals an address, a port, a command name, a Go name or a file path;
// the internal parameters (the node, the command, the timeout) reach
// orders' log under the request id of the response; and a parameter that
// echoes 170 KB of a request costs the answer at most 256 bytes.
func TestNoLeakageOnEveryErrorPath(t *testing.T) {
	t.Parallel()
	invCore, invLogs := observer.New(zapcore.DebugLevel)
	ordCore, ordLogs := observer.New(zapcore.DebugLevel)
	inv := start(t, nodeOpts{
		yaml:   defaultChainsYAML("inventory", "", ""),
		stock:  catalogue(1000, 1000),
		logger: zap.New(invCore),
		setup:  fakeInventory(t),
	})
	ord := start(t, nodeOpts{
		yaml: defaultChainsYAML("orders", inv.url, `  breaker: {mode: consecutive, consecutive_failures: 1000}
  timeout: {commands: {inventory.Reserve: {timeout: 1s}}}
  retry: {base_delay: 1ms, max_delay: 2ms, commands: {inventory.Stock: {idempotent: true}}}
  ratelimit: {commands: {leak.Limited: {rate: 0.001, burst: 1}}}
`),
		logger: zap.New(ordCore),
		setup:  probes(t),
	})
	// orders with inventory down: nothing listens where its route points.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close()
	downCore, downLogs := observer.New(zapcore.DebugLevel)
	down := start(t, nodeOpts{
		yaml:   defaultChainsYAML("orders", "http://"+dead, "  breaker: {mode: consecutive, consecutive_failures: 3, open_timeout: 1m}\n"),
		logger: zap.New(downCore),
	})
	x := newExposure([]string{inv.addr, ord.addr, down.addr, dead}, inv.cat, ord.cat)
	x.words = append(x.words, "inventory.Nope")
	c := newClient(4)
	defer c.close()

	t.Run("retries exhausted", func(t *testing.T) {
		r := x.send(t, c, postJSON(ord.url+"/leak/probe", `{"what":"stock","sku":"typed-unavailable"}`))
		expect(t, r, 503, "unavailable")
		attempts := 0
		for _, e := range invLogs.All() {
			if m := e.ContextMap(); m["request_id"] == r.eb.RequestID && m["command"] == "inventory.Stock" {
				attempts++
			}
		}
		if attempts < 2 {
			t.Errorf("inventory saw %d attempts, want the retries", attempts)
		}
	})
	t.Run("timeout of the client chain", func(t *testing.T) {
		r := x.send(t, c, postJSON(ord.url+"/orders", `{"sku":"slow","qty":1}`, "Accept-Language", "es"))
		expect(t, r, 504, "deadline_exceeded")
		logged(t, ordLogs, r.eb.RequestID, "deadline_exceeded")
	})
	t.Run("the client's own deadline", func(t *testing.T) {
		r := x.send(t, c, postJSON(ord.url+"/orders", `{"sku":"slow","qty":1}`, "X-Wego-Timeout", "20"))
		if r.status < 400 {
			t.Errorf("%d %s, want an error", r.status, r.body)
		}
	})
	t.Run("unknown command", func(t *testing.T) {
		r := x.send(t, c, postJSON(ord.url+"/leak/probe", `{"what":"unknown_command","sku":"a"}`))
		expect(t, r, 404, "wego.unknown_command")
		logged(t, ordLogs, r.eb.RequestID, "command=inventory.Nope")
	})
	t.Run("no route", func(t *testing.T) {
		r := x.send(t, c, postJSON(ord.url+"/leak/probe", `{"what":"no_route"}`, "Accept-Language", "es"))
		expect(t, r, 503, "wego.no_route")
		logged(t, ordLogs, r.eb.RequestID, "command=leak.Nowhere")
	})
	t.Run("rate limited", func(t *testing.T) {
		statuses := map[int]int{}
		for range 3 {
			req, _ := http.NewRequest(http.MethodGet, ord.url+"/leak/limited", nil)
			r := x.send(t, c, req)
			statuses[r.status]++
			if r.status == 429 {
				expect(t, r, 429, "resource_exhausted")
			}
		}
		if statuses[429] == 0 {
			t.Errorf("statuses %v, want 429s", statuses)
		}
	})
	t.Run("inventory down, then the breaker open", func(t *testing.T) {
		codes := map[string]int{}
		for range 6 {
			r := x.send(t, c, postJSON(down.url+"/orders", `{"sku":"plenty-0","qty":1}`))
			codes[r.eb.Code]++
			if r.status != 503 {
				t.Errorf("%d %s, want 503", r.status, r.body)
			}
			if r.eb.Code == "circuit_open" {
				logged(t, downLogs, r.eb.RequestID, "circuit_open", "command=inventory.Reserve")
			}
		}
		if codes["transport.unavailable"] == 0 || codes["circuit_open"] == 0 {
			t.Errorf("codes %v, want transport.unavailable, then circuit_open", codes)
		}
	})
	t.Run("client values are cut", func(t *testing.T) {
		huge := strings.Repeat("ñ", 85<<10) // 170 KB
		for _, req := range []*http.Request{
			postJSON(ord.url+"/orders", `{"sku":"`+huge+`","qty":1}`), // relayed from inventory
			postJSON(ord.url+"/orders", `{"sku":"`+huge+`","qty":1}`, "Accept-Language", "es"),
			mustGet(ord.url + "/orders/" + strings.Repeat("x", 60<<10)), // orders' own
		} {
			r := x.send(t, c, req)
			if r.status != 404 || len(r.body) > 2<<10 {
				t.Errorf("%d, a body of %d bytes: %.200s", r.status, len(r.body), r.body)
			}
			for k, v := range r.eb.Params {
				if len(v) > errs.MaxParamBytes {
					t.Errorf("parameter %s of %d bytes", k, len(v))
				}
			}
		}
		for _, e := range slices.Concat(ordLogs.All(), invLogs.All()) {
			if n := len(fmt.Sprint(e.ContextMap())); n > 8<<10 {
				t.Errorf("a log line of %d bytes: %.200s", n, fmt.Sprint(e.ContextMap()))
			}
		}
	})
}

func mustGet(url string) *http.Request {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		panic(err)
	}
	return req
}
