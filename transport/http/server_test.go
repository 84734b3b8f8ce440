package httptransport_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/middleware/logging"
	"github.com/wegomesh/wego/transport"
	httptransport "github.com/wegomesh/wego/transport/http"
)

type errorBody struct {
	Code      string                `json:"code"`
	Message   string                `json:"message"`
	RequestID string                `json:"request_id"`
	Params    map[string]string     `json:"params"`
	Fields    []errs.FieldViolation `json:"fields"`
}

type result struct {
	status int
	header http.Header
	body   []byte
}

func (r result) errorBody(t *testing.T) errorBody {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("status %d, body %q is not a WeGO error: %v", r.status, r.body, err)
	}
	if e.Code == "" || e.Message == "" || e.RequestID == "" {
		t.Errorf("error body %s lacks code, message or request id", r.body)
	}
	return e
}

func do(t *testing.T, c *http.Client, method, url string, header map[string]string, body string) result {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return result{resp.StatusCode, resp.Header, b}
}

var jsonCT = map[string]string{"Content-Type": "application/json"}

func TestBindingErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv := f.serve(t, httptransport.MaxBodyBytes(256))
	tests := []struct {
		name        string
		method      string
		path        string
		header      map[string]string
		body        string
		status      int
		code, field string
	}{
		{"malformed JSON", "POST", "/inventory/reserve", jsonCT, `{"sku":`, 400, "invalid_argument", "body"},
		{"not JSON", "POST", "/inventory/reserve", jsonCT, `sku=1`, 400, "invalid_argument", "body"},
		{"wrong type", "POST", "/inventory/reserve", jsonCT, `{"sku":"a","qty":"two"}`, 400, "invalid_argument", "qty"},
		{"wrong nested type", "POST", "/inventory/reserve", jsonCT, `{"sku":"a","qty":1,"notes":[{"text":5}]}`, 400, "invalid_argument", "notes.text"},
		{"float for int", "POST", "/inventory/reserve", jsonCT, `{"sku":"a","qty":1.5}`, 400, "invalid_argument", "qty"},
		{"unknown field", "POST", "/inventory/reserve", jsonCT, `{"sku":"a","qty":1,"extra":true}`, 400, "invalid_argument", "extra"},
		{"nested unknown field", "POST", "/inventory/reserve", jsonCT, `{"sku":"a","qty":1,"notes":[{"text":"x"},{"txt":"y"}]}`, 400, "invalid_argument", "notes.1.txt"},
		{"key in other case", "POST", "/inventory/reserve", jsonCT, `{"SKU":"a","QTY":1}`, 400, "invalid_argument", "SKU"},
		{"key with a Kelvin sign", "POST", "/inventory/reserve", jsonCT, `{"sKu":"a","qty":1}`, 400, "invalid_argument", "sKu"},
		{"key with an escaped Kelvin sign", "POST", "/inventory/reserve", jsonCT, `{"s\u212au":"a","qty":1}`, 400, "invalid_argument", "sKu"},
		{"known key after one in other case", "POST", "/inventory/reserve", jsonCT, `{"sku":"a","Qty":1,"qty":1}`, 400, "invalid_argument", "Qty"},
		{"trailing data", "POST", "/inventory/reserve", jsonCT, `{"sku":"a","qty":1} {"sku":"b"}`, 400, "invalid_argument", "body"},
		{"trailing garbage", "POST", "/inventory/reserve", jsonCT, `{"sku":"a","qty":1}x`, 400, "invalid_argument", "body"},
		{"duplicate key", "POST", "/inventory/reserve", jsonCT, `{"sku":"a","qty":1,"qty":2}`, 400, "invalid_argument", "qty"},
		{"duplicate key other case", "POST", "/inventory/reserve", jsonCT, `{"sku":"a","SKU":"b","qty":1}`, 400, "invalid_argument", "SKU"},
		{"duplicate escaped key", "POST", "/inventory/reserve", jsonCT, `{"sku":"a","\u0073ku":"b","qty":1}`, 400, "invalid_argument", "sku"},
		{"nested duplicate key", "POST", "/inventory/reserve", jsonCT, `{"sku":"a","qty":1,"notes":[{"text":"x"},{"text":"y","text":"z"}]}`, 400, "invalid_argument", "notes.1.text"},
		{"invalid UTF-8", "POST", "/inventory/reserve", jsonCT, "{\"sku\":\"a\xff\",\"qty\":1}", 400, "invalid_argument", "sku"},
		{"invalid UTF-8 nested", "POST", "/inventory/reserve", jsonCT, "{\"sku\":\"a\",\"qty\":1,\"notes\":[{\"text\":\"\xc3\x28\"}]}", 400, "invalid_argument", "notes.0.text"},
		{"array body", "POST", "/inventory/reserve", jsonCT, `[1,2]`, 400, "invalid_argument", "body"},
		{"body too large", "POST", "/inventory/reserve", jsonCT, `{"sku":"` + strings.Repeat("a", 300) + `","qty":1}`, 413, "transport.body_too_large", ""},
		{"text/plain", "POST", "/inventory/reserve", map[string]string{"Content-Type": "text/plain"}, `{"sku":"a","qty":1}`, 415, "transport.unsupported_media_type", ""},
		{"no content type", "POST", "/inventory/reserve", nil, `{"sku":"a","qty":1}`, 415, "transport.unsupported_media_type", ""},
		{"latin1", "POST", "/inventory/reserve", map[string]string{"Content-Type": "application/json; charset=latin1"}, `{"sku":"a","qty":1}`, 415, "transport.unsupported_media_type", ""},
		{"form with empty body", "POST", "/inventory/reserve", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, ``, 415, "transport.unsupported_media_type", ""},
		{"wrong method", "GET", "/inventory/reserve", nil, ``, 405, "http.method_not_allowed", ""},
		{"unknown path", "POST", "/inventory/nope", jsonCT, `{}`, 404, "http.not_found", ""},
		{"NoHTTP command", "POST", "/internal/hidden", jsonCT, `{}`, 404, "http.not_found", ""},
		{"body on GET", "GET", "/orders/1", jsonCT, `{"id":"1"}`, 400, "invalid_argument", "body"},
		{"query not an int", "GET", "/orders/1?limit=ten", nil, ``, 400, "invalid_argument", "limit"},
		{"query given twice", "GET", "/orders/1?limit=1&limit=2", nil, ``, 400, "invalid_argument", "limit"},
		{"query not a bool", "GET", "/orders/1?verbose=maybe", nil, ``, 400, "invalid_argument", "verbose"},
		{"query not a duration", "GET", "/orders/1?wait=soon", nil, ``, 400, "invalid_argument", "wait"},
		{"path not an int", "DELETE", "/orders/abc", nil, ``, 400, "invalid_argument", "id"},
		{"bad timeout header", "POST", "/inventory/reserve", map[string]string{"Content-Type": "application/json", "X-Wego-Timeout": "soon"}, `{"sku":"a","qty":1}`, 400, "invalid_argument", "X-Wego-Timeout"},
		{"command's own validation", "POST", "/inventory/reserve", jsonCT, `{"sku":"a","qty":0}`, 400, "invalid_argument", "qty"},
		{"application error", "POST", "/inventory/reserve", jsonCT, `{"sku":"unknown","qty":1}`, 404, "testinv.unknown_sku", ""},
	}
	t.Run("cases", func(t *testing.T) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				r := do(t, nil, tt.method, srv.URL+tt.path, tt.header, tt.body)
				if r.status != tt.status {
					t.Fatalf("status %d, want %d; body %s", r.status, tt.status, r.body)
				}
				if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
					t.Errorf("Content-Type %q", ct)
				}
				e := r.errorBody(t)
				if e.Code != tt.code {
					t.Errorf("code %q, want %q (%s)", e.Code, tt.code, r.body)
				}
				if tt.field != "" && (len(e.Fields) == 0 || e.Fields[0].Field != tt.field) {
					t.Errorf("fields %+v, want %q first", e.Fields, tt.field)
				}
				if strings.Contains(string(r.body), "httptransport_test.") || strings.Contains(string(r.body), "Go struct") {
					t.Errorf("body names Go types: %s", r.body)
				}
			})
		}
	})
	if n := f.calls.Load(); n != 2 { // the last two cases reach the command
		t.Errorf("the command ran %d times, want 2", n)
	}
}

func TestMethodNotAllowedListsAllow(t *testing.T) {
	t.Parallel()
	srv := newFixture(t).serve(t)
	r := do(t, nil, "PATCH", srv.URL+"/orders/7", nil, "")
	if r.status != 405 {
		t.Fatalf("status %d", r.status)
	}
	if got := r.header.Get("Allow"); got != "DELETE, GET, HEAD" {
		t.Errorf("Allow %q", got)
	}
	if e := r.errorBody(t); e.Params["method"] != "PATCH" {
		t.Errorf("params %v", e.Params)
	}
}

func TestSuccess(t *testing.T) {
	t.Parallel()
	srv := newFixture(t).serve(t)
	tests := []struct {
		name, method, path string
		header             map[string]string
		body               string
		status             int
		want               string
	}{
		{"default route", "POST", "/inventory/reserve", jsonCT, `{"sku":"a","qty":3}`, 200, `"remaining":7`},
		{"charset", "POST", "/inventory/reserve", map[string]string{"Content-Type": "application/json; charset=UTF-8"}, `{"sku":"a","qty":3}`, 200, `"id":"r-a"`},
		{"declared 201", "POST", "/orders", map[string]string{"Content-Type": "application/json", "X-Tenant": "acme"}, `{"item":"x"}`, 201, `"tenant":"acme"`},
		{"empty body, no type", "POST", "/orders", nil, ``, 201, `"id":"o-"`},
		{"struct{} gives 204", "DELETE", "/orders/5", nil, ``, 204, ``},
		{"empty struct gives 204", "PUT", "/orders/5/touch", nil, ``, 204, ``},
		{"HEAD of a GET", "HEAD", "/orders/5", nil, ``, 200, ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := do(t, nil, tt.method, srv.URL+tt.path, tt.header, tt.body)
			if r.status != tt.status || !strings.Contains(string(r.body), tt.want) {
				t.Fatalf("got %d %s, want %d with %s", r.status, r.body, tt.status, tt.want)
			}
			if tt.status == 204 && len(r.body) != 0 {
				t.Errorf("204 with body %q", r.body)
			}
			if r.header.Get("X-Request-Id") == "" {
				t.Error("no X-Request-Id")
			}
		})
	}
}

func TestPathQueryHeaderBinding(t *testing.T) {
	t.Parallel()
	srv := newFixture(t).serve(t)
	r := do(t, nil, "GET", srv.URL+"/orders/a%2Fb%20c%C3%A9?limit=5&tag=x&tag=y%26z&verbose=true&wait=1.5s&ratio=0.25",
		map[string]string{"X-Tenant": "acme"}, "")
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var o Order
	if err := json.Unmarshal(r.body, &o); err != nil {
		t.Fatal(err)
	}
	if o.ID != "a/b cé" || o.Limit != 5 || strings.Join(o.Tags, ",") != "x,y&z" || o.Verbose == nil || !*o.Verbose ||
		o.Wait != "1.5s" || o.Ratio != 0.25 || o.Tenant != "acme" {
		t.Errorf("bound %+v", o)
	}
	// Absent values stay zero; a nil pointer stays nil.
	r = do(t, nil, "GET", srv.URL+"/orders/1", nil, "")
	o = Order{}
	_ = json.Unmarshal(r.body, &o)
	if o.Verbose != nil || o.Limit != 0 || o.Tags != nil {
		t.Errorf("zero request bound as %+v", o)
	}
}

func TestRequestID(t *testing.T) {
	t.Parallel()
	srv := newFixture(t).serve(t)
	r := do(t, nil, "POST", srv.URL+"/inventory/reserve", map[string]string{"Content-Type": "application/json", "X-Request-Id": "abc-123"}, `{"sku":"a","qty":1}`)
	var resp ReserveResponse
	_ = json.Unmarshal(r.body, &resp)
	if r.header.Get("X-Request-Id") != "abc-123" || resp.RequestID != "abc-123" {
		t.Errorf("echo %q, command saw %q", r.header.Get("X-Request-Id"), resp.RequestID)
	}
	r = do(t, nil, "POST", srv.URL+"/inventory/reserve", map[string]string{"Content-Type": "application/json", "X-Request-Id": "bad id\u00e9"}, `{"sku":"a","qty":1}`)
	_ = json.Unmarshal(r.body, &resp)
	if got := r.header.Get("X-Request-Id"); len(got) != 36 || got != resp.RequestID {
		t.Errorf("invalid id replaced by %q, command saw %q", got, resp.RequestID)
	}
	r = do(t, nil, "POST", srv.URL+"/inventory/reserve", map[string]string{"Content-Type": "application/json", "X-Request-Id": "err-1"}, `{"sku":"unknown","qty":1}`)
	if e := r.errorBody(t); e.RequestID != "err-1" {
		t.Errorf("error body request id %q", e.RequestID)
	}
}

func TestLocalizedMessages(t *testing.T) {
	t.Parallel()
	srv := newFixture(t).serve(t)
	for _, tt := range []struct{ lang, want string }{
		{"es-ES,es;q=0.9", "El SKU unknown no existe."},
		{"en", "SKU unknown is unknown."},
		{"", "SKU unknown is unknown."},
	} {
		h := map[string]string{"Content-Type": "application/json", "Accept-Language": tt.lang}
		r := do(t, nil, "POST", srv.URL+"/inventory/reserve", h, `{"sku":"unknown","qty":1}`)
		if e := r.errorBody(t); e.Message != tt.want || e.Params["sku"] != "unknown" {
			t.Errorf("Accept-Language %q: %+v", tt.lang, e)
		}
	}
	// Framework messages too.
	r := do(t, nil, "POST", srv.URL+"/inventory/reserve", map[string]string{"Content-Type": "application/json", "Accept-Language": "es"}, `{"sku":1}`)
	if e := r.errorBody(t); !strings.HasPrefix(e.Message, "Solicitud no válida: sku") {
		t.Errorf("Spanish invalid argument: %q", e.Message)
	}
}

func TestNoInternalDetailLeaks(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	mw, err := logging.New(logging.DefaultConfig(), logging.WithLogger(f.host.Logger))
	if err != nil {
		t.Fatal(err)
	}
	f.cat.UseServerSide(mw) // logs what the command returns; the transport, the panic
	srv := f.serve(t)
	for _, path := range []string{"/faulty/fail", "/faulty/plain", "/faulty/panic"} {
		r := do(t, nil, "POST", srv.URL+path, map[string]string{"X-Request-Id": "x-" + path[8:10]}, "")
		if r.status != 500 {
			t.Fatalf("%s: status %d", path, r.status)
		}
		e := r.errorBody(t)
		for _, bad := range []string{"SENTINEL", ".go", "pq.Error", "goroutine", "panic"} {
			if strings.Contains(string(r.body), bad) {
				t.Errorf("%s: body leaks %q: %s", path, bad, r.body)
			}
		}
		if e.Code != "internal" || e.Message != "An internal error occurred." {
			t.Errorf("%s: %+v", path, e)
		}
		// The server logged the whole error, with the request id and command.
		logged := false
		for _, entry := range f.logs.All() {
			m := entry.ContextMap()
			if m["request_id"] == "x-"+path[8:10] && strings.Contains(fmt.Sprint(m), "SENTINEL") && m["command"] != nil {
				logged = true
			}
		}
		if !logged {
			t.Errorf("%s: no error log with the cause, request id and command: %v", path, f.logs.All())
		}
	}
}

// connCounter counts the connections a server accepts.
func connCounter(srv *httptest.Server) *atomic.Int64 {
	n := new(atomic.Int64)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			n.Add(1)
		}
	}
	return n
}

func TestPanicIsOneRequest(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	h, err := httptransport.NewHandler(f.host)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	conns := connCounter(srv)
	srv.Start()
	defer srv.Close()
	c := srv.Client()
	r := do(t, c, "POST", srv.URL+"/faulty/panic", nil, "")
	if r.status != 500 || r.errorBody(t).Code != "internal" {
		t.Fatalf("panic gave %d %s", r.status, r.body)
	}
	r = do(t, c, "POST", srv.URL+"/inventory/reserve", jsonCT, `{"sku":"a","qty":1}`)
	if r.status != 200 {
		t.Fatalf("after a panic: %d %s", r.status, r.body)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections, want the same one reused", n)
	}
	var stack bool
	for _, e := range f.logs.All() {
		if _, ok := e.ContextMap()["stack"]; ok {
			stack = true
		}
	}
	if !stack {
		t.Error("the panic was not logged with a stack")
	}
}

func TestDeadlinePropagation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv := f.serve(t, httptransport.MaxTimeout(time.Second))
	h := map[string]string{"Content-Type": "application/json", "X-Wego-Timeout": "40"}
	r := do(t, nil, "POST", srv.URL+"/faulty/slow", h, `{"millis":5000}`)
	<-f.started
	if r.status != 504 || r.errorBody(t).Code != "deadline_exceeded" {
		t.Fatalf("got %d %s, want 504 deadline_exceeded", r.status, r.body)
	}
	// A long timeout is capped by max_timeout.
	close(f.release)
	h["X-Wego-Timeout"] = "99999999" // the longest a caller may ask
	r = do(t, nil, "POST", srv.URL+"/faulty/slow", h, `{}`)
	<-f.started
	var resp SlowResponse
	_ = json.Unmarshal(r.body, &resp)
	if !resp.HadDeadline || resp.DeadlineMs > 1000 {
		t.Errorf("capped deadline: %+v", resp)
	}
}

func TestCallerGivingUpCancelsCommand(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv := f.serve(t)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/faulty/slow", strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "application/json")
	done := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	<-f.started
	cancel()
	select {
	case <-f.canceled:
	case <-time.After(5 * time.Second):
		t.Fatal("the command did not see the caller give up")
	}
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("client: %v", err)
	}
}

func TestHeaderTooLarge(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := httptransport.NewServer(httptransport.Addr("127.0.0.1:0"), httptransport.MaxHeaderBytes(1024))
	if err := s.Start(context.Background(), f.host); err != nil {
		t.Fatal(err)
	}
	defer s.Stop(context.Background())
	// net/http allows MaxHeaderBytes plus 4 KiB of slack, then answers 431
	// itself, in plain text, and closes the connection.
	r := do(t, nil, "POST", "http://"+s.Addr()+"/inventory/reserve", map[string]string{"X-Big": strings.Repeat("x", 8<<10)}, "")
	if r.status != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if !strings.Contains(string(r.body), "431 Request Header Fields Too Large") {
		t.Errorf("body %q", r.body)
	}
}

func TestServerLifecycle(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := httptransport.NewServer(httptransport.Addr("127.0.0.1:0"))
	// Before Start: alive, not ready, and commands are unavailable.
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != 200 {
		t.Errorf("healthz before start: %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != 503 {
		t.Errorf("readyz before start: %d", rec.Code)
	}
	if err := s.Start(context.Background(), f.host); err != nil {
		t.Fatal(err)
	}
	base := "http://" + s.Addr()
	if r := do(t, nil, "GET", base+"/readyz", nil, ""); r.status != 200 {
		t.Errorf("readyz after start: %d", r.status)
	}
	if r := do(t, nil, "GET", base+"/healthz", nil, ""); r.status != 200 {
		t.Errorf("healthz: %d", r.status)
	}
	if err := s.Start(context.Background(), f.host); err == nil {
		t.Error("second Start succeeded")
	}

	// A slow request is in flight when Stop is called.
	type res struct {
		status int
		err    error
	}
	inflight := make(chan res, 1)
	go func() {
		resp, err := http.Post(base+"/faulty/slow", "application/json", strings.NewReader(`{}`))
		if err != nil {
			inflight <- res{err: err}
			return
		}
		resp.Body.Close()
		inflight <- res{status: resp.StatusCode}
	}()
	<-f.started
	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		stopped <- s.Stop(ctx)
	}()
	// Draining: not ready, and new connections are refused.
	deadline := time.Now().Add(2 * time.Second)
	for {
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		conn, err := net.DialTimeout("tcp", s.Addr(), 100*time.Millisecond)
		if err == nil {
			conn.Close()
		}
		if rec.Code == 503 && err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("while draining: readyz %d, dial error %v", rec.Code, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case err := <-stopped:
		t.Fatalf("Stop returned (%v) before the in-flight request finished", err)
	default:
	}
	close(f.release)
	if r := <-inflight; r.err != nil || r.status != 200 {
		t.Errorf("in-flight request: %+v", r)
	}
	if err := <-stopped; err != nil {
		t.Errorf("Stop: %v", err)
	}
}

func TestStopDeadlineClosesConnections(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := httptransport.NewServer(httptransport.Addr("127.0.0.1:0"))
	if err := s.Start(context.Background(), f.host); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		resp, err := http.Post("http://"+s.Addr()+"/faulty/slow", "application/json", strings.NewReader(`{}`))
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	<-f.started
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Stop: %v, want the deadline", err)
	}
	if err := <-done; err == nil {
		t.Error("the request outlived Stop's deadline")
	}
	close(f.release)
}

func TestStartErrors(t *testing.T) {
	t.Parallel()
	conflict := catalog.New()
	_, _ = catalog.RegisterIn(conflict, "a.One", func(context.Context, GetOrder) (Order, error) { return Order{}, nil }, httptransport.GET("/orders/{id}"))
	_, _ = catalog.RegisterIn(conflict, "b.Two", func(context.Context, GetOrder) (Order, error) { return Order{}, nil }, httptransport.GET("/orders/{id}"))
	missing := catalog.New()
	_, _ = catalog.RegisterIn(missing, "a.One", func(context.Context, ReserveRequest) (Order, error) { return Order{}, nil }, httptransport.GET("/orders/{id}"))
	body := catalog.New()
	_, _ = catalog.RegisterIn(body, "a.List", func(context.Context, ReserveRequest) (Order, error) { return Order{}, nil }, httptransport.GET("/list"))
	status := catalog.New()
	_, _ = catalog.RegisterIn(status, "a.Make", func(context.Context, ReserveRequest) (Order, error) { return Order{}, nil }, httptransport.SuccessStatus(302))
	type badTag struct {
		C chan int `query:"c"`
	}
	tag := catalog.New()
	_, _ = catalog.RegisterIn(tag, "a.Bad", func(context.Context, badTag) (Order, error) { return Order{}, nil })
	type byA struct {
		A string `path:"a" json:"-"`
	}
	type byB struct {
		B string `path:"b" json:"-"`
	}
	overlap := catalog.New() // neither pattern is more specific than the other
	_, _ = catalog.RegisterIn(overlap, "c.Three", func(context.Context, byA) (Order, error) { return Order{}, nil }, httptransport.GET("/x/{a}"))
	_, _ = catalog.RegisterIn(overlap, "d.Four", func(context.Context, byB) (Order, error) { return Order{}, nil }, httptransport.GET("/{b}/y"))
	builtin := catalog.New()
	_, _ = catalog.RegisterIn(builtin, "a.Health", func(context.Context, Empty) (Order, error) { return Order{}, nil }, httptransport.GET("/healthz"))
	for _, tt := range []struct {
		cat  *catalog.Catalog
		want []string
	}{
		{conflict, []string{"a.One", "b.Two"}},
		{overlap, []string{"c.Three", "d.Four", "/x/{a}", "/{b}/y"}},
		{missing, []string{"a.One", `path:"id"`}},
		{body, []string{"a.List", "SKU, Qty, Notes"}},
		{status, []string{"a.Make", "302"}},
		{tag, []string{"a.Bad", "field C"}},
		{builtin, []string{"a.Health", "/healthz"}},
	} {
		_, err := httptransport.NewHandler(transport.Host{Catalog: tt.cat})
		for _, w := range tt.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("error %v, want it to mention %q", err, w)
			}
		}
	}
	if _, err := httptransport.NewHandler(transport.Host{Catalog: catalog.New()}, httptransport.MaxBodyBytes(-1)); err == nil ||
		!strings.Contains(err.Error(), "max_body_bytes") {
		t.Errorf("bad option: %v", err)
	}
	s := httptransport.NewServer(httptransport.Addr("256.0.0.1:http"))
	if err := s.Start(context.Background(), transport.Host{Catalog: catalog.New()}); err == nil || !strings.Contains(err.Error(), "http.addr") {
		t.Errorf("bad address: %v", err)
	}
}

func TestListingAndOpenAPI(t *testing.T) {
	t.Parallel()
	srv := newFixture(t).serve(t)
	r := do(t, nil, "GET", srv.URL+"/", nil, "")
	var list struct {
		Commands []struct{ Name, Method, Path, Doc string }
	}
	if err := json.Unmarshal(r.body, &list); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range list.Commands {
		got = append(got, c.Method+" "+c.Path+" "+c.Name)
	}
	want := "POST /faulty/fail faulty.Fail|POST /faulty/panic faulty.Panic|POST /faulty/plain faulty.Plain|POST /faulty/slow faulty.Slow|" +
		"POST /inventory/reserve inventory.Reserve|POST /orders orders.Create|DELETE /orders/{id} orders.Delete|GET /orders/{id} orders.Get|PUT /orders/{id}/touch orders.Touch"
	if strings.Join(got, "|") != want {
		t.Errorf("listing\n%s\nwant\n%s", strings.Join(got, "|"), want)
	}
	r = do(t, nil, "GET", srv.URL+"/openapi.json", nil, "")
	var doc map[string]any
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatal(err)
	}
	if doc["openapi"] != "3.1.0" {
		t.Errorf("openapi %v", doc["openapi"])
	}
	for _, want := range []string{
		`"/orders/{id}"`, `"operationId": "orders.Get"`, `"in": "query"`, `"name": "X-Tenant"`, `"in": "header"`,
		`"201"`, `"204"`, `"#/components/responses/Error"`, `"http_test.ReserveRequest"`, `"#/components/schemas/http_test.Note"`,
		`"summary": "Reserves stock."`,
	} {
		if !bytes.Contains(r.body, []byte(want)) {
			t.Errorf("OpenAPI document lacks %s", want)
		}
	}
	if bytes.Contains(r.body, []byte("internal.Hidden")) {
		t.Error("a NoHTTP command is documented")
	}
}
