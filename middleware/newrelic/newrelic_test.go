package newrelic_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	nr "github.com/newrelic/go-agent/v3/newrelic"

	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/log"
	"github.com/wegomesh/wego/middleware"
	"github.com/wegomesh/wego/middleware/newrelic"
)

const license = "0123456789012345678901234567890123456789"

type reserveReq struct {
	SKU string
	Qty int
}

func onConfig() newrelic.Config {
	cfg := newrelic.DefaultConfig()
	cfg.LicenseKey = license
	cfg.AppName = "wego-test"
	cfg.LogLevel = "off"
	return cfg
}

// route is a remote route that answers without a network. It is a
// balancer with one node, so the catalog names the node before the client
// chain runs, as for a route with several.
type route struct{ node string }

var _ catalog.Balancer = route{}

func (r route) Pick() string { return r.node }

func (route) Bind(*middleware.Spec) (middleware.Handler, error) {
	return func(_ context.Context, c *middleware.Call) error {
		*c.Response.(*int) = 1
		return nil
	}, nil
}

// TestAgentAgainstFakeCollector runs the real agent against a fake collector
// on the loopback and checks what reaches it: transaction events named after
// the commands with their attributes, an error event for a server error
// only, a segment for a nested command and an external segment for a
// remote call, and web transactions with distributed tracing.
func TestAgentAgainstFakeCollector(t *testing.T) {
	t.Parallel()
	col := newCollector(t)
	m, err := newrelic.New(onConfig(), newrelic.AgentOptions(col.agentOptions()...))
	if err != nil {
		t.Fatal(err)
	}
	app := m.Application()
	if app == nil {
		t.Fatal("no application with a license key")
	}
	if err := app.WaitForConnection(10 * time.Second); err != nil {
		t.Fatalf("connect: %v (collector saw %v)", err, col.methods())
	}

	cat := catalog.New()
	cat.UseServerSide(m)
	cat.UseClientSide(m)
	reserve, _ := catalog.RegisterIn(cat, "inventory.Reserve", func(ctx context.Context, r reserveReq) (int, error) {
		if nr.FromContext(ctx) == nil {
			return 0, errs.Internal().WithCause(errNoTxn)
		}
		switch r.SKU {
		case "broken":
			return 0, errs.Internal(errs.P("why", "disk on fire"))
		case "unknown":
			return 0, errs.NotFound()
		}
		return 100 - r.Qty, nil
	})
	place, _ := catalog.RegisterIn(cat, "orders.Place", func(ctx context.Context, r reserveReq) (int, error) {
		return reserve.Call(ctx, r) // nested: a segment of this transaction
	})
	// A command served by another process, through a remote route.
	ship, _ := catalog.DeclareIn[reserveReq, int](cat, "orders.Ship")
	if err := cat.SetRoute("orders.Ship", route{node: "inventory-node:8080"}); err != nil {
		t.Fatal(err)
	}

	id, _ := log.ParseRequestID("req-ok-1")
	ctx := log.ContextWithRequestID(context.Background(), id)
	if _, err := reserve.Call(ctx, reserveReq{SKU: "apple", Qty: 1}); err != nil {
		t.Fatal(err)
	}
	bad, _ := log.ParseRequestID("req-broken-2")
	if _, err := reserve.Call(log.ContextWithRequestID(context.Background(), bad), reserveReq{SKU: "broken"}); errs.CodeOf(err) != "internal" {
		t.Fatalf("broken: %v", err)
	}
	if _, err := reserve.Call(context.Background(), reserveReq{SKU: "unknown"}); errs.CodeOf(err) != "not_found" {
		t.Fatalf("unknown: %v", err)
	}
	if _, err := place.Call(ctx, reserveReq{SKU: "apple"}); err != nil {
		t.Fatal(err)
	}
	// A background transaction started by the caller, with a remote call in it.
	bg := app.StartTransaction("batch")
	if _, err := ship.Call(nr.NewContext(ctx, bg), reserveReq{}); err != nil {
		t.Fatal(err)
	}
	bg.End()

	// HTTP: a web transaction renamed after the command, continuing the
	// caller's distributed trace.
	mux := http.NewServeMux()
	mux.HandleFunc("POST /inventory/reserve", func(w http.ResponseWriter, r *http.Request) {
		if _, err := reserve.Call(r.Context(), reserveReq{SKU: "apple", Qty: 1}); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	srv := httptest.NewServer(newrelic.HTTPServerMiddleware(app)(mux))
	defer srv.Close()
	caller := app.StartTransaction("caller")
	req, _ := http.NewRequest("POST", srv.URL+"/inventory/reserve", nil)
	newrelic.InjectHeaders(nr.NewContext(context.Background(), caller), req.Header)
	if req.Header.Get("traceparent") == "" {
		t.Fatalf("InjectHeaders added no traceparent: %v", req.Header)
	}
	traceID := strings.Split(req.Header.Get("traceparent"), "-")[1]
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("HTTP status %d", resp.StatusCode)
	}
	caller.End()

	app.Shutdown(10 * time.Second) // the final harvest sends everything

	if !col.licenses[license] {
		t.Error("the collector never saw the license key")
	}
	for _, want := range []string{"preconnect", "connect", "metric_data", "analytic_event_data", "error_event_data", "span_event_data"} {
		if !slices.Contains(col.methods(), want) {
			t.Errorf("the collector never received %s (got %v)", want, col.methods())
		}
	}

	txns := map[string][]event{}
	for _, e := range col.events(t, "analytic_event_data") {
		name, _ := e.Intrinsics["name"].(string)
		txns[name] = append(txns[name], e)
	}
	names := func() []string {
		var out []string
		for n := range txns {
			out = append(out, n)
		}
		return out
	}
	const reserveName = "OtherTransaction/Go/inventory.Reserve"
	if len(txns[reserveName]) != 3 {
		t.Fatalf("%d events named %s, want 3 (ok, broken, unknown); names %v", len(txns[reserveName]), reserveName, names())
	}
	outcomes := map[string]event{}
	for _, e := range txns[reserveName] {
		outcomes[e.User["outcome"].(string)] = e
	}
	if e, ok := outcomes["ok"]; !ok || e.User["request_id"] != "req-ok-1" {
		t.Errorf("ok transaction: %+v", outcomes)
	}
	if e, ok := outcomes["internal"]; !ok || e.User["request_id"] != "req-broken-2" || e.Intrinsics["error"] != true {
		t.Errorf("internal transaction: %+v", e)
	}
	if e, ok := outcomes["not_found"]; !ok || e.Intrinsics["error"] == true {
		t.Errorf("not_found transaction must not be an error: %+v", e)
	}
	// The nested call is part of orders.Place, not a transaction of its own.
	if p := txns["OtherTransaction/Go/orders.Place"]; len(p) != 1 || p[0].User["outcome"] != "ok" {
		t.Errorf("orders.Place events: %+v", p)
	}
	if p := txns["OtherTransaction/Go/batch"]; len(p) != 1 || p[0].Intrinsics["externalCallCount"] != float64(1) {
		t.Errorf("batch transaction with one external call: %+v", p)
	}
	web := txns["WebTransaction/Go/inventory.Reserve"]
	if len(web) != 1 {
		t.Fatalf("web transactions: %v", names())
	}
	if web[0].Intrinsics["traceId"] != traceID || web[0].Intrinsics["parentId"] == nil {
		t.Errorf("the web transaction does not continue trace %s: %+v", traceID, web[0].Intrinsics)
	}
	if web[0].Agent["http.statusCode"] != float64(204) && web[0].Agent["httpResponseCode"] != "204" {
		t.Errorf("web transaction without its status: %+v", web[0].Agent)
	}

	errEvents := col.events(t, "error_event_data")
	if len(errEvents) != 1 {
		t.Fatalf("%d error events, want 1 (the internal error only): %s", len(errEvents), col.raw("error_event_data"))
	}
	ee := errEvents[0]
	if ee.Intrinsics["transactionName"] != reserveName || ee.Intrinsics["error.class"] != "internal" ||
		ee.User["request_id"] != "req-broken-2" {
		t.Errorf("error event: %+v", ee)
	}

	spans := col.raw("span_event_data")
	for _, want := range []string{`"name":"Custom/inventory.Reserve"`, `"name":"External/inventory-node:8080/wego/orders.Ship"`} {
		if !strings.Contains(spans, want) {
			t.Errorf("span events lack %s", want)
		}
	}
	metrics := col.raw("metric_data")
	for _, want := range []string{`"External/inventory-node:8080/all"`, `"OtherTransaction/Go/inventory.Reserve"`, `"WebTransaction/Go/inventory.Reserve"`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if t.Failed() {
		t.Logf("spans: %s", spans)
	}
}

var errNoTxn = errs.Internal().WithCause(context.Canceled)

func TestOff(t *testing.T) {
	t.Parallel()
	for _, cfg := range []newrelic.Config{{}, newrelic.DefaultConfig(), func() newrelic.Config { c := onConfig(); c.Enabled = false; return c }()} {
		app, err := newrelic.NewApplication(cfg)
		if app != nil || err != nil {
			t.Fatalf("NewApplication(%+v) = %v, %v; want nil, nil", cfg, app, err)
		}
		m, err := newrelic.New(cfg)
		if err != nil || m.Application() != nil {
			t.Fatalf("New: %v", err)
		}
		next := func(context.Context, *middleware.Call) error { return nil }
		if h := m.Wrap(&middleware.Spec{Name: "a.B"}, next); h != nil {
			t.Fatal("off: Wrap must add nothing (nil)")
		}
		m.Shutdown(time.Second)
	}
	h := http.NotFoundHandler()
	if got := newrelic.HTTPServerMiddleware(nil)(h); reflect.ValueOf(got).Pointer() != reflect.ValueOf(h).Pointer() {
		t.Fatal("HTTPServerMiddleware(nil) must return the handler")
	}
	hdr := http.Header{}
	newrelic.InjectHeaders(context.Background(), hdr)
	if len(hdr) != 0 {
		t.Fatal("InjectHeaders without a transaction added headers")
	}
}

func TestCommandsOff(t *testing.T) {
	t.Parallel()
	off := false
	cfg := onConfig()
	cfg.Commands = map[string]newrelic.CommandConfig{"health.*": {Enabled: &off}}
	app, err := nr.NewApplication(nr.ConfigEnabled(false), nr.ConfigAppName("x"), nr.ConfigLicense(license))
	if err != nil {
		t.Fatal(err)
	}
	m, err := newrelic.New(cfg, newrelic.WithApplication(app))
	if err != nil {
		t.Fatal(err)
	}
	next := func(context.Context, *middleware.Call) error { return nil }
	if h := m.Wrap(&middleware.Spec{Name: "health.Check"}, next); h != nil {
		t.Fatal("a command turned off must get nothing added (nil)")
	}
	if h := m.Wrap(&middleware.Spec{Name: "inventory.Reserve"}, next); h == nil {
		t.Fatal("other commands must be wrapped")
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		mod func(*newrelic.Config)
		key string
	}{
		{func(c *newrelic.Config) { c.LicenseKey = "short" }, "middleware.newrelic.license_key"},
		{func(c *newrelic.Config) { c.AppName = " " }, "middleware.newrelic.app_name"},
		{func(c *newrelic.Config) { c.LogLevel = "loud" }, "middleware.newrelic.log_level"},
		{func(c *newrelic.Config) { c.Commands = map[string]newrelic.CommandConfig{"x.": {}} }, `middleware.newrelic.commands["x."]`},
	} {
		cfg := onConfig()
		tt.mod(&cfg)
		_, err := newrelic.NewApplication(cfg)
		if err == nil || !strings.Contains(err.Error(), tt.key+":") {
			t.Errorf("err = %v, want the key %s", err, tt.key)
		}
		if err != nil && strings.Contains(err.Error(), license) {
			t.Error("an error quotes the license key")
		}
	}
}
