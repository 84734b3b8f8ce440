package httptransport_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/log"
	"github.com/wegomesh/wego/middleware"
	"github.com/wegomesh/wego/transport"
	"github.com/wegomesh/wego/transport/balance"
	httptransport "github.com/wegomesh/wego/transport/http"
)

// api is what a caller imports: the commands declared with their routes,
// no functions.
type api struct {
	cat     *catalog.Catalog
	reserve *catalog.Command[ReserveRequest, ReserveResponse]
	get     *catalog.Command[GetOrder, Order]
	create  *catalog.Command[CreateOrder, Order]
	del     *catalog.Command[DeleteOrder, struct{}]
	fail    *catalog.Command[Empty, Empty]
	slow    *catalog.Command[SlowRequest, SlowResponse]
	hidden  *catalog.Command[Empty, Empty]

	mu    sync.Mutex
	nodes []string // Call.Node as the client chain saw it
}

func newAPI(t testing.TB) *api {
	t.Helper()
	a := &api{cat: catalog.New()}
	node := middleware.WrapFunc(func(_ *middleware.Spec, next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, c *middleware.Call) error {
			err := next(ctx, c)
			a.mu.Lock()
			a.nodes = append(a.nodes, c.Node)
			a.mu.Unlock()
			return err
		}
	})
	a.cat.UseClientSide(node)
	var err error
	check := func(e error) {
		if e != nil && err == nil {
			err = e
		}
	}
	var e error
	a.reserve, e = catalog.DeclareIn[ReserveRequest, ReserveResponse](a.cat, "inventory.Reserve")
	check(e)
	a.get, e = catalog.DeclareIn[GetOrder, Order](a.cat, "orders.Get", httptransport.GET("/orders/{id}"))
	check(e)
	a.create, e = catalog.DeclareIn[CreateOrder, Order](a.cat, "orders.Create", httptransport.POST("/orders"), httptransport.SuccessStatus(201))
	check(e)
	a.del, e = catalog.DeclareIn[DeleteOrder, struct{}](a.cat, "orders.Delete", httptransport.DELETE("/orders/{id}"))
	check(e)
	a.fail, e = catalog.DeclareIn[Empty, Empty](a.cat, "faulty.Fail")
	check(e)
	a.slow, e = catalog.DeclareIn[SlowRequest, SlowResponse](a.cat, "faulty.Slow")
	check(e)
	a.hidden, e = catalog.DeclareIn[Empty, Empty](a.cat, "internal.Hidden", httptransport.NoHTTP())
	check(e)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// route routes every declared command but internal.Hidden to urls.
func (a *api) route(t testing.TB, c *httptransport.Client, urls ...string) {
	t.Helper()
	for _, p := range []string{"inventory.*", "orders.*", "faulty.*"} {
		if err := a.cat.SetRoute(p, c.Route(urls...)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRemoteRoundTrip(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv := f.serve(t)
	a := newAPI(t)
	a.route(t, httptransport.NewClient(), srv.URL)
	ctx := context.Background()

	id, _ := log.ParseRequestID("trace-42")
	resp, err := a.reserve.Call(log.ContextWithRequestID(ctx, id), ReserveRequest{SKU: "a", Qty: 3, Notes: []Note{{"x"}}})
	if err != nil || resp.ID != "r-a" || resp.Remaining != 7 || resp.RequestID != "trace-42" {
		t.Fatalf("Reserve: %+v, %v", resp, err)
	}
	resp, err = a.reserve.Call(ctx, ReserveRequest{SKU: "a", Qty: 1})
	if err != nil || len(resp.RequestID) != 36 {
		t.Errorf("a call without a request id got %q, %v", resp.RequestID, err)
	}

	verbose := false
	o, err := a.get.Call(ctx, GetOrder{ID: "a/b c?d%", Limit: 3, Tags: []string{"x", "y&z"}, Verbose: &verbose,
		Wait: 1500 * time.Millisecond, Ratio: 0.5, Tenant: "acme"})
	if err != nil || o.ID != "a/b c?d%" || o.Limit != 3 || strings.Join(o.Tags, ",") != "x,y&z" || o.Verbose == nil ||
		*o.Verbose || o.Wait != "1.5s" || o.Ratio != 0.5 || o.Tenant != "acme" {
		t.Errorf("Get: %+v, %v", o, err)
	}
	if _, err := a.get.Call(ctx, GetOrder{}); errs.KindOf(err) != errs.KindInvalidArgument {
		t.Errorf("Get with an empty path value: %v", err)
	}
	if o, err := a.create.Call(ctx, CreateOrder{Item: "i", Tenant: "t"}); err != nil || o.ID != "o-i" || o.Tenant != "t" {
		t.Errorf("Create (201): %+v, %v", o, err)
	}
	if _, err := a.del.Call(ctx, DeleteOrder{ID: 9}); err != nil {
		t.Errorf("Delete (204): %v", err)
	}
	if _, err := a.del.Call(ctx, DeleteOrder{ID: 0}); errs.KindOf(err) != errs.KindNotFound {
		t.Errorf("Delete of a missing order: %v", err)
	}
	a.mu.Lock()
	nodes := a.nodes
	a.mu.Unlock()
	host := strings.TrimPrefix(srv.URL, "http://")
	for _, n := range nodes {
		if n != host {
			t.Errorf("Call.Node %q, want %q", n, host)
		}
	}
}

func TestRemoteTypedErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv := f.serve(t)
	a := newAPI(t)
	a.route(t, httptransport.NewClient(), srv.URL)
	ctx := context.Background()

	_, err := a.reserve.Call(ctx, ReserveRequest{SKU: "unknown", Qty: 1})
	if !errors.Is(err, ErrUnknownSKU) {
		t.Fatalf("errors.Is(%v, ErrUnknownSKU) is false", err)
	}
	e, _ := errs.As(err)
	if e.Status() != 404 || e.Kind() != errs.KindNotFound || e.Message() != "SKU unknown is unknown." {
		t.Errorf("status %d kind %v message %q", e.Status(), e.Kind(), e.Message())
	}
	if v, _ := e.Param("sku"); v != "unknown" {
		t.Errorf("param sku %q", v)
	}
	var remote *httptransport.RemoteError
	if !errors.As(err, &remote) || remote.Status != 404 || remote.RequestID == "" {
		t.Errorf("cause %+v", remote)
	}
	if errors.Unwrap(err) != error(remote) {
		t.Errorf("errors.Unwrap gives %v, want the *RemoteError", errors.Unwrap(err))
	}
	// The caller reads the server's error as the server wrote it; where it
	// came from is in the cause, not glued to the text that the caller may
	// relay further.
	if got := err.Error(); got != "testinv.unknown_sku: SKU unknown is unknown." {
		t.Errorf("Error() = %q", got)
	}
	host := strings.TrimPrefix(srv.URL, "http://")
	if relayed := errs.Internal().WithCause(fmt.Errorf("reserving: %w", err)).Error(); strings.Contains(relayed, "httptransport") ||
		strings.Contains(relayed, host) {
		t.Errorf("a relayed remote error shows transport details: %q", relayed)
	}

	_, err = a.reserve.Call(ctx, ReserveRequest{SKU: "a"})
	e, _ = errs.As(err)
	if e == nil || e.Code() != "invalid_argument" || len(e.Fields()) != 1 || e.Fields()[0].Field != "qty" {
		t.Errorf("invalid argument: %v", err)
	}

	_, err = a.fail.Call(ctx, Empty{})
	if errs.KindOf(err) != errs.KindInternal || strings.Contains(err.Error(), "SENTINEL") {
		t.Errorf("internal error: %v", err)
	}
}

func TestRemoteDeadlineAndCancel(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv := f.serve(t)
	a := newAPI(t)
	a.route(t, httptransport.NewClient(), srv.URL)

	// The server runs the command with the caller's deadline.
	go func() { <-f.started }()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	resp, err := a.slow.Call(ctx, SlowRequest{Millis: 1})
	cancel()
	if err != nil || !resp.HadDeadline || resp.DeadlineMs > 2000 || resp.DeadlineMs < 1000 {
		t.Errorf("server saw %+v, %v", resp, err)
	}

	// The deadline passes: the caller gets DeadlineExceeded and the command
	// stops.
	ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
	_, err = a.slow.Call(ctx, SlowRequest{Millis: 10000})
	cancel()
	if errs.KindOf(err) != errs.KindDeadlineExceeded {
		t.Errorf("after the deadline: %v", err)
	}
	<-f.started
	select {
	case <-f.canceled:
	case <-time.After(5 * time.Second):
		t.Error("the command outlived the caller's deadline")
	}

	// The caller gives up.
	ctx, cancel = context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := a.slow.Call(ctx, SlowRequest{Millis: 10000})
		errc <- err
	}()
	<-f.started
	cancel()
	if err := <-errc; errs.KindOf(err) != errs.KindCanceled {
		t.Errorf("canceled call: %v", err)
	}
	select {
	case <-f.canceled:
	case <-time.After(5 * time.Second):
		t.Error("the command did not stop when the caller gave up")
	}
}

func TestRemoteTransientErrors(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String()
	ln.Close()

	handler := func(status int, ct, body string) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			if ct != "" {
				w.Header().Set("Content-Type", ct)
			}
			w.WriteHeader(status)
			io.WriteString(w, body)
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	hangup := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
	}))
	t.Cleanup(hangup.Close)

	for _, tt := range []struct {
		name string
		url  string
		opts []httptransport.ClientOption
		is   error
		kind errs.Kind
		code string
	}{
		{"connection refused", refused, nil, httptransport.ErrUnavailable, errs.KindUnavailable, "transport.unavailable"},
		{"closed before the response", hangup.URL, nil, httptransport.ErrUnavailable, errs.KindUnavailable, "transport.unavailable"},
		{"502 from a proxy", handler(502, "text/html", "<h1>Bad Gateway</h1>"), nil, httptransport.ErrUnavailable, errs.KindUnavailable, "transport.unavailable"},
		{"503 plain", handler(503, "", "busy"), nil, httptransport.ErrUnavailable, errs.KindUnavailable, "transport.unavailable"},
		{"504 plain", handler(504, "", ""), nil, httptransport.ErrUnavailable, errs.KindUnavailable, "transport.unavailable"},
		{"503 WeGO body", handler(503, "application/json", `{"code":"wego.no_route","message":"x"}`), nil, nil, errs.KindUnavailable, "wego.no_route"},
		{"404 not WeGO", handler(404, "text/plain", "404 page not found"), nil, nil, errs.KindNotFound, "not_found"},
		{"429 WeGO kind", handler(429, "application/json", `{"code":"resource_exhausted","message":"slow down"}`), nil, nil, errs.KindResourceExhausted, "resource_exhausted"},
		{"unknown code keeps status", handler(409, "application/json", `{"code":"other.stale","message":"stale","params":{"v":"3"}}`), nil, nil, errs.KindConflict, "other.stale"},
		{"redirect", handler(302, "", ""), nil, httptransport.ErrBadResponse, errs.KindInternal, "transport.bad_response"},
		{"bad JSON", handler(200, "application/json", "{"), nil, httptransport.ErrBadResponse, errs.KindInternal, "transport.bad_response"},
		{"too large", handler(200, "application/json", `{"id":"`+strings.Repeat("x", 2000)+`"}`),
			[]httptransport.ClientOption{httptransport.MaxResponseBytes(1000)}, httptransport.ErrResponseTooLarge, errs.KindInternal, "transport.response_too_large"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := newAPI(t)
			a.route(t, httptransport.NewClient(tt.opts...), tt.url)
			_, err := a.reserve.Call(context.Background(), ReserveRequest{SKU: "a", Qty: 1})
			e, ok := errs.As(err)
			if !ok {
				t.Fatalf("%v is not an *errs.Error", err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v) is false", err, tt.is)
			}
			if e.Kind() != tt.kind || e.Code() != tt.code {
				t.Errorf("kind %v code %q, want %v %q (%v)", e.Kind(), e.Code(), tt.kind, tt.code, err)
			}
		})
	}
}

func TestRemoteRoundRobinAndReuse(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	h, err := httptransport.NewHandler(f.host)
	if err != nil {
		t.Fatal(err)
	}
	s1, s2 := httptest.NewUnstartedServer(h), httptest.NewUnstartedServer(h)
	c1, c2 := connCounter(s1), connCounter(s2)
	s1.Start()
	s2.Start()
	defer s1.Close()
	defer s2.Close()
	a := newAPI(t)
	rr := balance.DefaultConfig()
	rr.Policy = balance.RoundRobin
	a.route(t, httptransport.NewClient(httptransport.Balance(rr)), s1.URL, s2.URL)
	for i := 0; i < 100; i++ {
		if _, err := a.reserve.Call(context.Background(), ReserveRequest{SKU: "a", Qty: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if c1.Load() != 1 || c2.Load() != 1 {
		t.Errorf("connections %d and %d, want one each (keep-alive)", c1.Load(), c2.Load())
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	n1 := 0
	for i, n := range a.nodes {
		if n == strings.TrimPrefix(s1.URL, "http://") {
			n1++
		}
		if i > 0 && n == a.nodes[i-1] {
			t.Fatalf("calls %d and %d went to the same node %s", i-1, i, n)
		}
	}
	if n1 != 50 {
		t.Errorf("%d of 100 calls to the first node", n1)
	}
}

func TestRouteBindErrors(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	c := httptransport.NewClient()
	if err := a.cat.SetRoute("internal.Hidden", c.Route("http://127.0.0.1:1")); err == nil || !strings.Contains(err.Error(), "NoHTTP") {
		t.Errorf("NoHTTP command: %v", err)
	}
	for _, bad := range []string{"ftp://x", "http://", "inventory:8080", "http://h/?q=1"} {
		if err := a.cat.SetRoute("inventory.*", c.Route(bad)); err == nil {
			t.Errorf("base URL %q accepted", bad)
		}
	}
	if err := a.cat.SetRoute("inventory.*", c.Route()); err == nil {
		t.Error("a route without URLs accepted")
	}
}

func TestRouteFactory(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv := f.serve(t)
	a := newAPI(t)
	r, err := transport.NewRoute(transport.Host{}, []string{srv.URL + "/"})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.cat.SetRoute("inventory.*", r); err != nil {
		t.Fatal(err)
	}
	if resp, err := a.reserve.Call(context.Background(), ReserveRequest{SKU: "b", Qty: 2}); err != nil || resp.ID != "r-b" {
		t.Errorf("%+v, %v", resp, err)
	}
	if _, err := transport.NewRoute(transport.Host{}, []string{"https://a:1", "https://b:2"}); err != nil {
		t.Errorf("https: %v", err)
	}
}

func TestNewClientFromConfigDefaults(t *testing.T) {
	t.Parallel()
	if _, err := httptransport.NewClientFromConfig(nil); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if recover() == nil {
			t.Error("NewClient with a negative size did not panic")
		}
	}()
	httptransport.NewClient(httptransport.MaxResponseBytes(-1))
}
