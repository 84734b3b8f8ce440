package httptransport_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/middleware/logging"
	"github.com/wegomesh/wego/transport"
	httptransport "github.com/wegomesh/wego/transport/http"
)

// Every response the transport writes tells browsers not to sniff its type:
// errors, successes, empty successes and the server's own pages.
func TestNosniffOnEveryResponse(t *testing.T) {
	t.Parallel()
	srv := newFixture(t).serve(t)
	for _, tt := range []struct {
		method, path string
		header       map[string]string
		body         string
		status       int
	}{
		{"POST", "/inventory/reserve", jsonCT, `{"sku":"a","qty":1}`, 200},
		{"POST", "/orders", jsonCT, `{"item":"x"}`, 201},
		{"DELETE", "/orders/5", nil, ``, 204},
		{"HEAD", "/orders/5", nil, ``, 200},
		{"GET", "/", nil, ``, 200},
		{"GET", "/openapi.json", nil, ``, 200},
		{"GET", "/healthz", nil, ``, 200},
		{"GET", "/readyz", nil, ``, 200},
		{"POST", "/inventory/reserve", jsonCT, `{"sku":"unknown","qty":1}`, 404},
		{"GET", "/nothing/here", nil, ``, 404},
		{"GET", "/a/../b", nil, ``, 404},
		{"PATCH", "/orders/5", nil, ``, 405},
		{"POST", "/faulty/panic", nil, ``, 500},
	} {
		r := do(t, nil, tt.method, srv.URL+tt.path, tt.header, tt.body)
		if r.status != tt.status {
			t.Errorf("%s %s: status %d, want %d", tt.method, tt.path, r.status, tt.status)
		}
		if got := r.header.Values("X-Content-Type-Options"); !slices.Equal(got, []string{"nosniff"}) {
			t.Errorf("%s %s (%d): X-Content-Type-Options %q, want [nosniff]", tt.method, tt.path, r.status, got)
		}
	}
}

// The 415 body's content_type parameter is the header value as sent; the
// message quotes it.
func TestUnsupportedMediaTypeParam(t *testing.T) {
	t.Parallel()
	srv := newFixture(t).serve(t)
	long := "text/" + strings.Repeat("x", 200)
	for _, tt := range []struct {
		name, ct, wantParam, wantMsg string
	}{
		{"text", "text/plain", "text/plain", `Content type "text/plain" is not supported; send application/json.`},
		{"parameter", "application/json; charset=latin1", "application/json; charset=latin1",
			`Content type "application/json; charset=latin1" is not supported; send application/json.`},
		{"none", "", "", `Content type "" is not supported; send application/json.`},
		{"long, cut", long, long[:128], `Content type "` + long[:128] + `" is not supported; send application/json.`},
	} {
		h := map[string]string{}
		if tt.ct != "" {
			h["Content-Type"] = tt.ct
		}
		r := do(t, nil, "POST", srv.URL+"/inventory/reserve", h, `{"sku":"a","qty":1}`)
		if r.status != 415 {
			t.Fatalf("%s: status %d", tt.name, r.status)
		}
		e := r.errorBody(t)
		if got, ok := e.Params["content_type"]; !ok || got != tt.wantParam {
			t.Errorf("%s: params.content_type = %q (present %v), want %q", tt.name, got, ok, tt.wantParam)
		}
		if e.Message != tt.wantMsg {
			t.Errorf("%s: message %q, want %q", tt.name, e.Message, tt.wantMsg)
		}
	}
}

// An invalid argument's violations travel once, as the fields list; the
// message parameter derived from them does not travel beside them.
func TestFieldsOnceInErrorBody(t *testing.T) {
	t.Parallel()
	srv := newFixture(t).serve(t)
	r := do(t, nil, "POST", srv.URL+"/inventory/reserve", jsonCT, `{"sku":"a","qty":0}`)
	if r.status != 400 {
		t.Fatalf("status %d", r.status)
	}
	e := r.errorBody(t)
	if len(e.Fields) != 1 || e.Fields[0].Field != "qty" || e.Fields[0].Reason != "must be at least 1" {
		t.Errorf("fields %+v", e.Fields)
	}
	if e.Params != nil || strings.Contains(string(r.body), `"params"`) {
		t.Errorf("params %v beside the fields: %s", e.Params, r.body)
	}
	if e.Message != "Invalid request: qty must be at least 1." {
		t.Errorf("message %q", e.Message)
	}
	// A remote route rebuilds the same error from the body.
	a := newAPI(t)
	a.route(t, httptransport.NewClient(), srv.URL)
	_, err := a.reserve.Call(context.Background(), ReserveRequest{SKU: "a"})
	re, ok := errs.As(err)
	if !ok || re.Message() != e.Message || re.MessageKey() != "invalid_argument.fields" || len(re.Fields()) != 1 {
		t.Errorf("rebuilt %v (message %q)", err, re.Message())
	}
}

// Each failed request is logged once: by the transport when it fails
// before the command's chain runs, by the chain's logging middleware when
// the chain returns the error. The one line carries the status, the code
// and the request id.
func TestOneLogLinePerFailedRequest(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	core, logs := observer.New(zap.DebugLevel)
	logger := zap.New(core)
	mw, err := logging.New(logging.DefaultConfig(), logging.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	f.cat.UseServerSide(mw)
	f.host.Logger = logger
	srv := f.serve(t)
	for _, tt := range []struct {
		name, path string
		header     map[string]string
		body       string
		status     int
		code       string
		level      zapcore.Level
	}{
		{"application error", "/inventory/reserve", jsonCT, `{"sku":"unknown","qty":1}`, 404, "testinv.unknown_sku", zapcore.WarnLevel},
		{"server fault", "/faulty/fail", nil, ``, 500, "internal", zapcore.ErrorLevel},
		{"not an errs error", "/faulty/plain", nil, ``, 500, "internal", zapcore.ErrorLevel},
		{"binding, before the chain", "/inventory/reserve", jsonCT, `{"sku":`, 400, "invalid_argument", zapcore.DebugLevel},
		{"no route", "/nothing/here", jsonCT, `{}`, 404, "http.not_found", zapcore.DebugLevel},
	} {
		id := "one-line-" + strings.ReplaceAll(tt.name, " ", "-")
		id = strings.ReplaceAll(strings.ReplaceAll(id, ",", ""), "'", "")
		h := map[string]string{"X-Request-Id": id}
		for k, v := range tt.header {
			h[k] = v
		}
		r := do(t, nil, "POST", srv.URL+tt.path, h, tt.body)
		if r.status != tt.status {
			t.Fatalf("%s: status %d", tt.name, r.status)
		}
		var lines []observer.LoggedEntry
		for _, e := range logs.All() {
			if m := e.ContextMap(); m["request_id"] == id && (m["code"] != nil || m["error"] != nil) {
				lines = append(lines, e)
			}
		}
		if len(lines) != 1 {
			t.Errorf("%s: %d lines for the request, want 1: %v", tt.name, len(lines), lines)
			continue
		}
		m := lines[0].ContextMap()
		if m["status"] != int64(tt.status) || m["code"] != tt.code || lines[0].Level != tt.level {
			t.Errorf("%s: line at %v with %v; want level %v, status %d, code %s", tt.name, lines[0].Level, m, tt.level, tt.status, tt.code)
		}
	}
}

var errForgot = errs.Define("testinv.forgot", errs.KindNotFound, "SKU {{.sku}} is not in store {{.store}}.")

// A message whose call site forgot a parameter reaches the client with a
// gap, never with text/template's "<no value>", and the server says which
// parameter is missing.
func TestMissingParamsNeverReachClient(t *testing.T) {
	t.Parallel()
	cat := catalog.New()
	if _, err := catalog.RegisterIn(cat, "forgot.Get", func(context.Context, Empty) (Empty, error) {
		return Empty{}, errForgot.New(errs.P("sku", "A-1")) // no store
	}); err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zap.DebugLevel)
	h, err := httptransport.NewHandler(transport.Host{Catalog: cat, Logger: zap.New(core)})
	if err != nil {
		t.Fatal(err)
	}
	srv := serveHandler(t, h)
	r := do(t, nil, "POST", srv+"/forgot/get", map[string]string{"X-Request-Id": "forgot-1"}, "")
	e := r.errorBody(t)
	if e.Message != "SKU A-1 is not in store ." || strings.Contains(string(r.body), "no value") {
		t.Errorf("message %q; body %s", e.Message, r.body)
	}
	warned := false
	for _, l := range logs.FilterMessage("http: error message lacks parameters").All() {
		m := l.ContextMap()
		if m["code"] == "testinv.forgot" && m["request_id"] == "forgot-1" && slices.Equal(l.ContextMap()["missing"].([]any), []any{"store"}) {
			warned = true
		}
	}
	if !warned {
		t.Errorf("no warning naming the missing parameter: %v", logs.All())
	}
}

// serveHandler serves h on loopback for the test and returns its URL.
func serveHandler(t testing.TB, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}
