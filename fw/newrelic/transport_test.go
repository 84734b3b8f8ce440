package newrelic_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	nr "github.com/newrelic/go-agent/v3/newrelic"
	"go.uber.org/zap"

	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	fwnewrelic "github.com/wegomesh/wego/fw/newrelic"
	nrmw "github.com/wegomesh/wego/middleware/newrelic"
	"github.com/wegomesh/wego/transport"
	httptransport "github.com/wegomesh/wego/transport/http"
)

type stockReq struct {
	SKU string `path:"sku"`
}

// ServerHook and Propagator, plugged into a transport's host: a remote
// route sends the caller's trace headers, and the server's web
// transaction, named after the command, continues that trace and records
// the status the client got.
func TestHooksAcrossRemoteRoute(t *testing.T) {
	t.Parallel()
	col := newCollector(t)
	cfg := nrmw.DefaultConfig()
	cfg.LicenseKey, cfg.AppName, cfg.LogLevel = license, "nrtest", "off"
	m, err := nrmw.New(cfg, nrmw.AgentOptions(col.agentOption()))
	if err != nil {
		t.Fatal(err)
	}
	app := m.Application()
	if err := app.WaitForConnection(10 * time.Second); err != nil {
		t.Fatalf("connect: %v", err)
	}

	server := catalog.New()
	server.UseServerSide(m)
	catalog.RegisterIn(server, "inventory.Stock", func(ctx context.Context, r stockReq) (int, error) {
		if nr.FromContext(ctx) == nil {
			return 0, errs.Internal()
		}
		if r.SKU == "pear" {
			return 0, errs.NotFound()
		}
		return 7, nil
	}, httptransport.GET("/stock/{sku}"))
	h, err := httptransport.NewHandler(transport.Host{Catalog: server, Logger: zap.NewNop(),
		ServerHooks: []transport.ServerHook{fwnewrelic.ServerHook(app)}, Propagators: []transport.Propagator{fwnewrelic.Propagator{}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	client := catalog.New()
	client.UseClientSide(m)
	stock, _ := catalog.DeclareIn[stockReq, int](client, "inventory.Stock", httptransport.GET("/stock/{sku}"))
	route, err := transport.NewRoute(transport.Host{Propagators: []transport.Propagator{fwnewrelic.Propagator{}}}, []string{srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if err := client.SetRoute("inventory.*", route); err != nil {
		t.Fatal(err)
	}
	caller := app.StartTransaction("caller")
	ctx := nr.NewContext(context.Background(), caller)
	if n, err := stock.Call(ctx, stockReq{SKU: "apple"}); err != nil || n != 7 {
		t.Fatalf("apple: %d, %v", n, err)
	}
	if _, err := stock.Call(ctx, stockReq{SKU: "pear"}); errs.KindOf(err) != errs.KindNotFound {
		t.Fatalf("pear: %v", err)
	}
	traceID := caller.GetTraceMetadata().TraceID
	caller.End()
	app.Shutdown(10 * time.Second)

	var web []event
	for _, e := range col.events(t) {
		if e.Intrinsics["name"] == "WebTransaction/Go/inventory.Stock" {
			web = append(web, e)
		}
	}
	if len(web) != 2 {
		t.Fatalf("%d web transactions for inventory.Stock, want 2", len(web))
	}
	statuses := map[string]bool{}
	for _, e := range web {
		if e.Intrinsics["traceId"] != traceID || e.Intrinsics["parentId"] == nil {
			t.Errorf("the web transaction does not continue trace %s: %+v", traceID, e.Intrinsics)
		}
		switch {
		case e.Agent["http.statusCode"] != nil:
			statuses[fmtAny(e.Agent["http.statusCode"])] = true
		default:
			statuses[fmtAny(e.Agent["httpResponseCode"])] = true
		}
		if e.Intrinsics["error"] == true {
			t.Errorf("a not_found answer must not be an error: %+v", e)
		}
	}
	if !statuses["200"] || !statuses["404"] {
		t.Errorf("web transactions' statuses: %v, want 200 and 404", statuses)
	}
}

// event is a transaction event as the agent sends it.
type event struct{ Intrinsics, User, Agent map[string]any }

// events returns the transaction events the collector received.
func (c *collector) events(t *testing.T) []event {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []event
	for _, p := range c.payloads["analytic_event_data"] {
		var top []json.RawMessage
		if err := json.Unmarshal([]byte(p), &top); err != nil || len(top) < 3 {
			t.Fatalf("analytic_event_data payload %s: %v", p, err)
		}
		var evs [][3]map[string]any
		if err := json.Unmarshal(top[2], &evs); err != nil {
			t.Fatalf("events %s: %v", top[2], err)
		}
		for _, e := range evs {
			out = append(out, event{e[0], e[1], e[2]})
		}
	}
	return out
}

func fmtAny(v any) string {
	switch v := v.(type) {
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case string:
		return v
	}
	return ""
}
