package reliability

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/catalog/catalogtest"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/examples/mesh/inventory"
)

// secretPanic is a panic value of a type of this package: its type name
// must not reach a client either.
type secretPanic struct{ Secret string }

// failing is the behavior of the fake inventory commands, by SKU: each
// hides the sentinel in a different kind of failure.
func failing(sku string) error {
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

// TestNoLeakage makes inventory's commands fail and panic in every way with
// a sentinel hidden in the error, the panic value or its type, and injects
// panics whose message is the sentinel: no response of inventory, nor of
// orders relaying inventory's errors, holds the sentinel, a stack trace, a
// file position or a Go type or package name, in its body or headers. The
// log of inventory, given by fw.Logger, does hold the sentinel and the
// stack, under the request id of the response; orders logs the request id
// too, so one id ties the client's error to the detail.
func TestNoLeakage(t *testing.T) {
	t.Parallel()
	invCore, invLogs := observer.New(zapcore.DebugLevel)
	ordCore, ordLogs := observer.New(zapcore.DebugLevel)
	inv := start(t, nodeOpts{
		yaml:   inventoryYAML(""),
		stock:  catalogue(1000, 1000),
		logger: zap.New(invCore),
		setup: func(cat *catalog.Catalog) {
			catalogtest.Replace(t, cat, inventory.Stock, func(_ context.Context, r inventory.StockRequest) (inventory.StockResponse, error) {
				return inventory.StockResponse{SKU: r.SKU}, failing(r.SKU)
			})
			catalogtest.Replace(t, cat, inventory.Reserve, func(_ context.Context, r inventory.ReserveRequest) (inventory.ReserveResponse, error) {
				if err := failing(r.SKU); err != nil {
					return inventory.ReserveResponse{}, err
				}
				return inventory.ReserveResponse{ReservationID: "r-1", SKU: r.SKU, Remaining: 1}, nil
			})
		},
	})
	// No breaker: this test fails most calls on purpose.
	const noBreaker = "  breaker: {commands: {\"*\": {disable: true}}}\n"
	ord := start(t, nodeOpts{yaml: ordersYAML(inv.url, noBreaker, ""), logger: zap.New(ordCore)})
	// A second pair where inventory's real commands get injected panics
	// whose message is the sentinel.
	injCore, injLogs := observer.New(zapcore.DebugLevel)
	injInv := start(t, nodeOpts{
		yaml: inventoryYAML(`  faultinject:
    enabled: true
    commands:
      inventory.Reserve: {panic_rate: 0.5, panic_message: "` + sentinel + ` injected at main.go:1"}
`),
		stock:  catalogue(1000, 1000),
		logger: zap.New(injCore),
	})
	injOrd := start(t, nodeOpts{yaml: ordersYAML(injInv.url, noBreaker, "")})
	c := newClient(4)
	defer c.close()

	check := func(t *testing.T, req *http.Request, status int, code string) string {
		t.Helper()
		resp, err := c.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if what := leak(resp.Header, body); what != "" {
			t.Errorf("the response reveals %s: %s %s", what, resp.Header, body)
		}
		if strings.Contains(string(body), "hunter2") {
			t.Errorf("the response reveals the cause: %s", body)
		}
		var eb errorBody
		if err := json.Unmarshal(body, &eb); err != nil || resp.StatusCode != status || eb.Code != code {
			t.Errorf("%d %s, want %d %s", resp.StatusCode, body, status, code)
		}
		if eb.RequestID == "" || eb.RequestID != resp.Header.Get("X-Request-Id") {
			t.Errorf("request id %q, header %q", eb.RequestID, resp.Header.Get("X-Request-Id"))
		}
		return eb.RequestID
	}
	logged := func(logs *observer.ObservedLogs, id string, want ...string) {
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

	for _, f := range failures {
		t.Run("inventory "+f.sku, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, inv.url+"/inventory/stock/"+f.sku, nil)
			id := check(t, req, f.status, f.code)
			detail := sentinel
			if f.sku == "panic-nil-map" { // the runtime's message, not ours
				detail = "nil map"
			}
			if f.status >= 500 {
				logged(invLogs, id, detail)
			}
			if strings.HasPrefix(f.sku, "panic") {
				logged(invLogs, id, detail, "goroutine ")
			}
		})
		t.Run("orders "+f.sku, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, ord.url+"/orders", strings.NewReader(`{"sku":"`+f.sku+`","qty":1}`))
			req.Header.Set("Content-Type", "application/json")
			id := check(t, req, f.status, f.code)
			if f.status >= 500 && f.sku != "panic-nil-map" {
				logged(invLogs, id, sentinel) // the request id crossed the route
				logged(ordLogs, id, f.code)
			}
		})
	}
	t.Run("injected panics", func(t *testing.T) {
		panics := 0
		for range 20 {
			req, _ := http.NewRequest(http.MethodPost, injOrd.url+"/orders", strings.NewReader(`{"sku":"plenty-0","qty":1}`))
			req.Header.Set("Content-Type", "application/json")
			resp, err := c.hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if what := leak(resp.Header, body); what != "" {
				t.Errorf("the response reveals %s: %s", what, body)
			}
			switch resp.StatusCode {
			case http.StatusCreated:
			case http.StatusInternalServerError:
				panics++
				logged(injLogs, resp.Header.Get("X-Request-Id"), sentinel+" injected", "goroutine ")
			default:
				t.Errorf("%d %s", resp.StatusCode, body)
			}
		}
		if _, p, _ := injInv.inj.Counts("inventory.Reserve"); p == 0 || int64(panics) != p {
			t.Errorf("%d responses 500 for %d injected panics", panics, p)
		}
	})
}
