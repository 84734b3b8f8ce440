package httptransport_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/config"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/middleware/retry"
	"github.com/wegomesh/wego/transport"
	"github.com/wegomesh/wego/transport/balance"
	httptransport "github.com/wegomesh/wego/transport/http"
)

// counted serves the fixture and counts the requests it gets.
func counted(t *testing.T, f *fixture) (url string, n *atomic.Int64) {
	t.Helper()
	h, err := httptransport.NewHandler(f.host)
	if err != nil {
		t.Fatal(err)
	}
	n = new(atomic.Int64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, n
}

// failing returns the URL of a server that answers every request 500
// internal, and counts them.
func failing(t *testing.T) (url string, n *atomic.Int64) {
	t.Helper()
	n = new(atomic.Int64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(500)
		w.Write([]byte(`{"code":"internal","message":"boom"}`))
	}))
	t.Cleanup(srv.Close)
	return srv.URL, n
}

// refusedURL returns the URL of a port where nothing listens.
func refusedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + ln.Addr().String()
	ln.Close()
	return u
}

// reserveIn declares inventory.Reserve in a new catalog, routed to urls.
func reserveIn(t *testing.T, r catalog.Route, opts ...catalog.Option) *catalog.Command[ReserveRequest, ReserveResponse] {
	t.Helper()
	cat := catalog.New()
	cmd, err := catalog.DeclareIn[ReserveRequest, ReserveResponse](cat, "inventory.Reserve", opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := cat.SetRoute("inventory.*", r); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// By default calls spread over the nodes, and a node that keeps failing
// is ejected: after its first failures, calls avoid it.
func TestRouteEjectsFailingNode(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u1, n1 := counted(t, f)
	u2, n2 := counted(t, f)
	bad, nbad := failing(t)
	cmd := reserveIn(t, httptransport.NewClient().Route(u1, bad, u2))
	ctx := context.Background()
	failures := 0
	for range 300 {
		if _, err := cmd.Call(ctx, ReserveRequest{SKU: "a", Qty: 1}); err != nil {
			if errs.KindOf(err) != errs.KindInternal {
				t.Fatalf("unexpected error %v", err)
			}
			failures++
		}
	}
	// Ejected after 5 failures in a row for 1s, then one probe per
	// ejection: a test slower than 1s may see one more.
	if failures < 5 || failures > 7 || nbad.Load() != int64(failures) {
		t.Errorf("%d failures, %d calls to the failing node; want 5 (ejected after them)", failures, nbad.Load())
	}
	if n1.Load() < 60 || n2.Load() < 60 {
		t.Errorf("the healthy nodes got %d and %d calls", n1.Load(), n2.Load())
	}
}

// A call of an idempotent command that cannot reach its node goes to
// another one; a call of another command does not.
func TestRouteFailover(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	good, ngood := counted(t, f)
	down := refusedURL(t)
	ctx := context.Background()
	rr := balance.DefaultConfig()
	rr.Policy = balance.RoundRobin
	rr.Ejection.ConsecutiveFailures = 0 // so that each call tries the node that is down
	client := httptransport.NewClient(httptransport.Balance(rr))

	idem := reserveIn(t, client.Route(down, good), catalog.With(retry.Idempotent.Value(true)))
	for i := range 20 {
		if _, err := idem.Call(ctx, ReserveRequest{SKU: "a", Qty: 1}); err != nil {
			t.Fatalf("idempotent call %d: %v", i, err)
		}
	}
	if ngood.Load() != 20 {
		t.Errorf("%d calls reached the node that is up, want 20", ngood.Load())
	}

	plain := reserveIn(t, client.Route(down, good))
	failed := 0
	for range 20 {
		if _, err := plain.Call(ctx, ReserveRequest{SKU: "a", Qty: 1}); err != nil {
			if !errors.Is(err, httptransport.ErrUnavailable) {
				t.Fatalf("unexpected error %v", err)
			}
			failed++
		}
	}
	if failed != 10 {
		t.Errorf("%d of 20 calls of a command that is not idempotent failed, want 10 (no second attempt)", failed)
	}

	// An application's configuration can make a command idempotent.
	cfg, err := config.Load(config.Optional(), config.Dir(t.TempDir()), config.LookupEnv(func(string) (string, bool) { return "", false }),
		config.Overrides(map[string]any{
			"middleware.retry.commands": map[string]any{"inventory.*": map[string]any{"idempotent": true}},
			"http_client.balance":       map[string]any{"policy": "round_robin", "ejection": map[string]any{"consecutive_failures": 0}},
		}))
	if err != nil {
		t.Fatal(err)
	}
	r, err := transport.NewRoute(transport.Host{Config: cfg}, []string{down, good})
	if err != nil {
		t.Fatal(err)
	}
	configured := reserveIn(t, r)
	for i := range 10 {
		if _, err := configured.Call(ctx, ReserveRequest{SKU: "a", Qty: 1}); err != nil {
			t.Fatalf("call %d of a command idempotent by configuration: %v", i, err)
		}
	}

	// With no other node, the error comes back.
	lone := reserveIn(t, client.Route(down), catalog.With(retry.Idempotent.Value(true)))
	if _, err := lone.Call(ctx, ReserveRequest{SKU: "a", Qty: 1}); !errors.Is(err, httptransport.ErrUnavailable) {
		t.Errorf("a lone node down: %v", err)
	}
}

// Canceled calls never count against a node, which one fault would eject
// here.
func TestRouteCanceledNeverEjects(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u1, n1 := counted(t, f)
	u2, n2 := counted(t, f)
	a := newAPI(t)
	cfg := balance.DefaultConfig()
	cfg.Policy = balance.RoundRobin
	cfg.Ejection.ConsecutiveFailures = 1
	a.route(t, httptransport.NewClient(httptransport.Balance(cfg)), u1, u2)
	for range 4 {
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() {
			_, err := a.slow.Call(ctx, SlowRequest{Millis: 10000})
			errc <- err
		}()
		<-f.started
		cancel()
		if err := <-errc; errs.KindOf(err) != errs.KindCanceled {
			t.Fatalf("canceled call: %v", err)
		}
		<-f.canceled
	}
	b1, b2 := n1.Load(), n2.Load()
	if b1 != 2 || b2 != 2 {
		t.Fatalf("canceled calls: %d and %d per node, want 2 and 2", b1, b2)
	}
	for range 10 {
		if _, err := a.slow.Call(context.Background(), SlowRequest{Millis: 1}); err != nil {
			t.Fatal(err)
		}
		<-f.started
	}
	if d1, d2 := n1.Load()-b1, n2.Load()-b2; d1 != 5 || d2 != 5 {
		t.Errorf("after canceled calls: %d and %d calls per node, want 5 and 5 (none ejected)", d1, d2)
	}
}

// Update replaces the nodes of a route while it serves calls.
func TestRouteUpdate(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u1, n1 := counted(t, f)
	u2, n2 := counted(t, f)
	route, ok := httptransport.NewClient().Route(u1).(httptransport.RouteUpdater)
	if !ok {
		t.Fatal("the route is not a RouteUpdater")
	}
	cmd := reserveIn(t, route)
	ctx := context.Background()
	call := func() error {
		_, err := cmd.Call(ctx, ReserveRequest{SKU: "a", Qty: 1})
		return err
	}
	if err := call(); err != nil || n1.Load() != 1 {
		t.Fatalf("%v, %d calls to the first node", err, n1.Load())
	}
	if err := route.Update([]string{u2 + "/"}); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if err := call(); err != nil {
			t.Fatal(err)
		}
	}
	if n1.Load() != 1 || n2.Load() != 5 {
		t.Errorf("after Update: %d and %d calls, want 1 and 5", n1.Load(), n2.Load())
	}
	if got, want := route.Pick(), strings.TrimPrefix(u2, "http://"); got != want {
		t.Errorf("Pick() = %q, want %q", got, want)
	}
	for _, bad := range [][]string{{"ftp://x"}, {u1, "http://h/?q=1"}, {u1, u1 + "/other"}} {
		if err := route.Update(bad); err == nil {
			t.Errorf("Update(%q) accepted", bad)
		}
	}
	if err := call(); err != nil || n2.Load() != 6 {
		t.Errorf("a failed Update changed the nodes: %v, %d", err, n2.Load())
	}
	if err := route.Update(nil); err != nil {
		t.Fatal(err)
	}
	if err := call(); !errors.Is(err, httptransport.ErrUnavailable) {
		t.Errorf("a call with no node: %v", err)
	}
	if err := route.Update([]string{u1, u2}); err != nil {
		t.Fatal(err)
	}
	for range 40 {
		if err := call(); err != nil {
			t.Fatal(err)
		}
	}
	if n1.Load() < 5 || n2.Load() < 6+5 {
		t.Errorf("after Update with two nodes: %d and %d calls", n1.Load(), n2.Load())
	}
}

func TestClientBalanceConfig(t *testing.T) {
	t.Parallel()
	for key, v := range map[string]any{
		"http_client.balance.policy":                        "least_conn",
		"http_client.balance.ejection.max_share":            2,
		"http_client.balance.ejection.consecutive_failures": -1,
	} {
		cfg, err := config.Load(config.Optional(), config.Dir(t.TempDir()), config.LookupEnv(func(string) (string, bool) { return "", false }),
			config.Overrides(map[string]any{key: v}))
		if err != nil {
			t.Fatal(err)
		}
		_, err = httptransport.NewClientFromConfig(cfg)
		var ce *config.Error
		if !errors.As(err, &ce) || ce.Key != key {
			t.Errorf("%s: %v, want a *config.Error naming it", key, err)
		}
	}
	if got := httptransport.DefaultClientConfig().Balance; got != balance.DefaultConfig() {
		t.Errorf("default balance %+v", got)
	}
}

// Calls never fail while Update changes the nodes under them.
func TestRouteUpdateConcurrent(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u1, _ := counted(t, f)
	u2, _ := counted(t, f)
	route := httptransport.NewClient().Route(u1).(httptransport.RouteUpdater)
	cmd := reserveIn(t, route)
	done := make(chan struct{})
	updated := make(chan error, 1)
	go func() {
		sets := [][]string{{u1, u2}, {u2}, {u2, u1}, {u1}}
		for i := 0; ; i++ {
			select {
			case <-done:
				updated <- nil
				return
			default:
			}
			if err := route.Update(sets[i%len(sets)]); err != nil {
				updated <- err
				return
			}
		}
	}()
	errc := make(chan error, 4)
	for range 4 {
		go func() {
			for range 50 {
				if _, err := cmd.Call(context.Background(), ReserveRequest{SKU: "a", Qty: 1}); err != nil {
					errc <- err
					return
				}
			}
			errc <- nil
		}()
	}
	for range 4 {
		if err := <-errc; err != nil {
			t.Error(err)
		}
	}
	close(done)
	if err := <-updated; err != nil {
		t.Error(err)
	}
}
