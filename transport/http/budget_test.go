package httptransport_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/config"
	"github.com/wegomesh/wego/middleware/timeout"
	"github.com/wegomesh/wego/transport"
	httptransport "github.com/wegomesh/wego/transport/http"
)

// TestTimeoutHeader: X-Wego-Timeout is 1 to 8 digits and not zero; any
// other value, or the header twice, is a 400 naming it, and the command
// does not run.
func TestTimeoutHeader(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv := f.serve(t)
	for _, v := range []string{"0", "000", "-5", "+5", "5.0", "5ms", "1e3", "0x10", "123456789", "99999999999999",
		"٣", "5 5", "soon"} {
		before := f.calls.Load()
		r := do(t, nil, "POST", srv.URL+"/inventory/reserve",
			map[string]string{"Content-Type": "application/json", "X-Wego-Timeout": v}, `{"sku":"a","qty":1}`)
		if r.status != http.StatusBadRequest {
			t.Errorf("X-Wego-Timeout %q: %d %s, want 400", v, r.status, r.body)
			continue
		}
		if e := r.errorBody(t); e.Code != "invalid_argument" || len(e.Fields) != 1 || e.Fields[0].Field != "X-Wego-Timeout" {
			t.Errorf("X-Wego-Timeout %q: %s", v, r.body)
		}
		if f.calls.Load() != before {
			t.Errorf("X-Wego-Timeout %q: the command ran", v)
		}
	}
	for _, v := range []string{"1", "00005", "99999999"} {
		r := do(t, nil, "POST", srv.URL+"/inventory/reserve",
			map[string]string{"Content-Type": "application/json", "X-Wego-Timeout": v}, `{"sku":"a","qty":1}`)
		if r.status != http.StatusOK {
			t.Errorf("X-Wego-Timeout %q: %d %s, want 200", v, r.status, r.body)
		}
	}
	// Twice, even with valid values.
	resp := rawRequest(t, srv.Listener.Addr().String(), "POST /inventory/reserve HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"+
		"X-Wego-Timeout: 100\r\nX-Wego-Timeout: 200\r\nContent-Length: 19\r\nConnection: close\r\n\r\n{\"sku\":\"a\",\"qty\":1}", false)
	if resp.status != http.StatusBadRequest || !strings.Contains(string(resp.body), "X-Wego-Timeout") {
		t.Errorf("X-Wego-Timeout twice: %d %s, want 400", resp.status, resp.body)
	}
}

// rawRequest writes req on a new connection, half-closes it when
// closeWrite is set, and reads the response.
func rawRequest(t *testing.T, addr, req string, closeWrite bool) result {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	if closeWrite {
		if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
			t.Fatal(err)
		}
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return result{}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return result{resp.StatusCode, resp.Header, b}
}

// TestCommandBudgetAnswers504: a command that outlives the server's
// budget is answered 504 with a JSON body before the write timeout closes
// the connection, instead of an empty reply.
func TestCommandBudgetAnswers504(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const write = 800 * time.Millisecond
	s := httptransport.NewServer(httptransport.Addr("127.0.0.1:0"), httptransport.Timeouts(0, 0, write, 0))
	if err := s.Start(context.Background(), f.host); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	c := &http.Client{Transport: &http.Transport{}}
	defer c.CloseIdleConnections()
	start := time.Now()
	req, _ := http.NewRequest("POST", s.URL()+"/faulty/slow", strings.NewReader(`{"millis":5000}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("no answer after %s: %v", time.Since(start).Round(time.Millisecond), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	took := time.Since(start)
	if err != nil || resp.StatusCode != http.StatusGatewayTimeout || !strings.Contains(string(body), `"code":"deadline_exceeded"`) {
		t.Fatalf("got %d %q (%v), want a 504 deadline_exceeded body", resp.StatusCode, body, err)
	}
	if took >= write {
		t.Fatalf("answered after %s, not before the write timeout %s", took, write)
	}
	if budget := write - write/6; took < budget-50*time.Millisecond {
		t.Fatalf("answered after %s, before the budget %s", took, budget)
	}
}

// completionFixture serves two commands behind the deadline middleware:
// orders.Place runs to completion, orders.Peek stops with its caller. Each
// takes wait unless its context ends first.
type completionFixture struct {
	srv                       *httptest.Server
	started, placed, canceled atomic.Int64
	finished                  chan string
}

func newCompletionFixture(t *testing.T, wait time.Duration, opts ...httptransport.ServerOption) *completionFixture {
	t.Helper()
	cf := &completionFixture{finished: make(chan string, 16)}
	cat := catalog.New()
	mw, err := timeout.Deadline(timeout.DefaultDeadlineConfig())
	if err != nil {
		t.Fatal(err)
	}
	cat.UseServerSide(mw)
	work := func(name string) func(context.Context, ReserveRequest) (ReserveResponse, error) {
		return func(ctx context.Context, r ReserveRequest) (ReserveResponse, error) {
			cf.started.Add(1)
			defer func() { cf.finished <- name }()
			select {
			case <-time.After(wait):
			case <-ctx.Done():
			}
			// Both may be ready when the goroutine runs late (a loaded
			// machine): an ended context wins, whichever select chose.
			if err := ctx.Err(); err != nil {
				cf.canceled.Add(1)
				return ReserveResponse{}, err
			}
			if name == "orders.Place" {
				cf.placed.Add(1)
			}
			return ReserveResponse{ID: name}, nil
		}
	}
	if _, err := catalog.RegisterIn(cat, "orders.Place", work("orders.Place"), catalog.With(timeout.RunToCompletion(time.Minute))); err != nil {
		t.Fatal(err)
	}
	if _, err := catalog.RegisterIn(cat, "orders.Peek", work("orders.Peek")); err != nil {
		t.Fatal(err)
	}
	h, err := httptransport.NewHandler(transport.Host{Catalog: cat}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	cf.srv = httptest.NewServer(h)
	t.Cleanup(cf.srv.Close)
	return cf
}

func (cf *completionFixture) await(t *testing.T) string {
	t.Helper()
	select {
	case name := <-cf.finished:
		return name
	case <-time.After(10 * time.Second):
		t.Fatal("the command did not finish")
		return ""
	}
}

// TestRunToCompletionOverHTTP: a client that half-closes its connection
// right after a complete request, or asks for 1 ms, does not cut a command
// that runs to completion: its work is done and its answer written. A
// read stops.
func TestRunToCompletionOverHTTP(t *testing.T) {
	t.Parallel()
	cf := newCompletionFixture(t, 100*time.Millisecond)
	addr := cf.srv.Listener.Addr().String()
	raw := func(path, extra string) string {
		body := `{"sku":"a","qty":1}`
		return fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n%sContent-Length: %d\r\n\r\n%s", path, extra, len(body), body)
	}

	// net/http takes a half-close for the caller leaving, and may see it
	// before the command starts; then no command starts (nothing is half
	// done), which a command that has started never sees.
	r := rawRequest(t, addr, raw("/orders/place", ""), true)
	if cf.started.Load() == 0 {
		t.Log("the half-close ended the call before orders.Place started")
	} else {
		if name := cf.await(t); name != "orders.Place" || cf.placed.Load() != 1 {
			t.Fatalf("after a half-close: %s finished, %d placed, want orders.Place done", name, cf.placed.Load())
		}
		if r.status != http.StatusOK || !strings.Contains(string(r.body), "orders.Place") {
			t.Errorf("after a half-close the client read %d %q, want the 200", r.status, r.body)
		}
	}
	placed := cf.placed.Load()

	started := cf.started.Load()
	rawRequest(t, addr, raw("/orders/peek", ""), true)
	if cf.started.Load() == started {
		t.Log("the half-close ended the call before orders.Peek started")
	} else if name := cf.await(t); name != "orders.Peek" || cf.canceled.Load() != 1 {
		t.Fatalf("a read after a half-close: %s, %d canceled; want it canceled", name, cf.canceled.Load())
	}

	r = rawRequest(t, addr, raw("/orders/place", "X-Wego-Timeout: 1\r\n"), false)
	cf.await(t)
	if r.status != http.StatusOK || cf.placed.Load() != placed+1 {
		t.Errorf("X-Wego-Timeout 1: %d %q, %d placed; want the work done and answered", r.status, r.body, cf.placed.Load())
	}
	r = rawRequest(t, addr, raw("/orders/peek", "X-Wego-Timeout: 1\r\n"), false)
	cf.await(t)
	if r.status != http.StatusGatewayTimeout {
		t.Errorf("a read with X-Wego-Timeout 1: %d %q, want 504", r.status, r.body)
	}
}

// TestRunToCompletionCappedByServerBudget: detached from its caller, a
// command still ends at the server's budget, which its own longer budget
// does not extend, and is answered 504.
func TestRunToCompletionCappedByServerBudget(t *testing.T) {
	t.Parallel()
	cf := newCompletionFixture(t, time.Hour, httptransport.CommandTimeout(200*time.Millisecond))
	start := time.Now()
	r := do(t, nil, "POST", cf.srv.URL+"/orders/place", jsonCT, `{"sku":"a","qty":1}`)
	if r.status != http.StatusGatewayTimeout || r.errorBody(t).Code != "deadline_exceeded" {
		t.Fatalf("got %d %s, want 504", r.status, r.body)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("took %s", took)
	}
	cf.await(t)
}

func TestBudgetConfig(t *testing.T) {
	t.Parallel()
	cat := catalog.New()
	for _, tt := range []struct {
		opts []httptransport.ServerOption
		want string
	}{
		{[]httptransport.ServerOption{httptransport.CommandTimeout(28 * time.Second)},
			"command_timeout: 28s leaves less than a tenth of http.write_timeout (30s) to write the answer: at most 27s"},
		{[]httptransport.ServerOption{httptransport.CommandTimeout(-time.Second)}, "command_timeout"},
		{[]httptransport.ServerOption{httptransport.MaxTimeout(26 * time.Second)},
			"max_timeout: 26s is longer than the command budget (25s, http.command_timeout)"},
		{[]httptransport.ServerOption{httptransport.Timeouts(0, 0, 10*time.Second, 0), httptransport.MaxTimeout(9 * time.Second)},
			"max_timeout: 9s is longer than the command budget (8.333s"},
		{[]httptransport.ServerOption{httptransport.MaxTimeout(-1)}, "max_timeout"},
		{[]httptransport.ServerOption{httptransport.CommandTimeout(27 * time.Second), httptransport.MaxTimeout(26 * time.Second)}, ""},
	} {
		_, err := httptransport.NewHandler(transport.Host{Catalog: cat}, tt.opts...)
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("NewHandler: %v, want %q", err, tt.want)
		}
	}
	for _, tt := range []struct {
		cfg  httptransport.ServerConfig
		want time.Duration
	}{
		{httptransport.DefaultServerConfig(), 25 * time.Second},
		{httptransport.ServerConfig{WriteTimeout: 1200 * time.Millisecond}, time.Second},
		{httptransport.ServerConfig{WriteTimeout: 30 * time.Second, CommandTimeout: 10 * time.Second}, 10 * time.Second},
		{httptransport.ServerConfig{}, 0},
	} {
		if got := tt.cfg.CommandBudget(); got != tt.want {
			t.Errorf("CommandBudget(%+v) = %s, want %s", tt.cfg, got, tt.want)
		}
	}
}

// TestServerBudgetFromConfig: the command budget follows write_timeout from
// the configuration, and a caller's longer X-Wego-Timeout is capped by it.
func TestServerBudgetFromConfig(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c, err := config.Load(config.FS(fstest.MapFS{"dev.yaml": {Data: []byte("http: {write_timeout: 1200ms}\n")}}),
		config.Env("dev"), config.Dir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	f.host.Config = c
	srv := f.serve(t)
	close(f.release)
	r := do(t, nil, "POST", srv.URL+"/faulty/slow", map[string]string{"Content-Type": "application/json", "X-Wego-Timeout": "99999999"}, `{}`)
	<-f.started
	var resp SlowResponse
	if err := json.Unmarshal(r.body, &resp); err != nil || !resp.HadDeadline || resp.DeadlineMs > 1000 || resp.DeadlineMs < 900 {
		t.Fatalf("%d %s: want a deadline within the 1s budget", r.status, r.body)
	}
}

// TestRouteBudgets: a route factory refuses a response_header_timeout that
// is not below the command budget of the process's server, naming both.
func TestRouteBudgets(t *testing.T) {
	t.Parallel()
	load := func(yaml string) *config.Config {
		c, err := config.Load(config.FS(fstest.MapFS{"dev.yaml": {Data: []byte(yaml)}}), config.Env("dev"), config.Dir(t.TempDir()))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	_, err := transport.NewRoute(transport.Host{Config: load("http: {write_timeout: 6s}\n")}, []string{"http://127.0.0.1:1"})
	if err == nil || !strings.Contains(err.Error(), "http_client.response_header_timeout") ||
		!strings.Contains(err.Error(), "20s is not below the command budget 5s (http.command_timeout") || !strings.Contains(err.Error(), "dev.yaml") {
		t.Fatalf("NewRoute = %v, want an error naming both keys and the file", err)
	}
	for _, yaml := range []string{"app: {name: x}\n", "http: {write_timeout: 6s}\nhttp_client: {response_header_timeout: 4s}\n"} {
		if _, err := transport.NewRoute(transport.Host{Config: load(yaml)}, []string{"http://127.0.0.1:1"}); err != nil {
			t.Errorf("%q: NewRoute = %v", yaml, err)
		}
	}
}

// BenchmarkServerHandlerBudget measures what the command budget costs a
// request: the default (a deadline and the server deadline in the context)
// against no budget (write_timeout 0), and a hand-written net/http handler
// as the baseline of the same run.
func BenchmarkServerHandlerBudget(b *testing.B) {
	noBudget, err := config.Load(config.FS(fstest.MapFS{"dev.yaml": {Data: []byte("http: {write_timeout: 0}\n")}}),
		config.Env("dev"), config.Dir(b.TempDir()))
	if err != nil {
		b.Fatal(err)
	}
	handler := func(c *config.Config) http.Handler {
		cat := catalog.New()
		if _, err := catalog.RegisterIn(cat, "inventory.Reserve", reserveBench); err != nil {
			b.Fatal(err)
		}
		h, err := httptransport.NewHandler(transport.Host{Catalog: cat, Config: c})
		if err != nil {
			b.Fatal(err)
		}
		return h
	}
	b.Run("bare", func(b *testing.B) { serveDirect(b, http.HandlerFunc(bareHandler)) })
	b.Run("no-budget", func(b *testing.B) { serveDirect(b, handler(noBudget)) })
	b.Run("budget", func(b *testing.B) { serveDirect(b, handler(nil)) })
}

// TestOpenAPIListsTransportAnswers: every operation documents the errors
// that any command may get from the transport and the server chain —
// 503 and 504 included — and those of a request body where it has one.
func TestOpenAPIListsTransportAnswers(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv := f.serve(t)
	r := do(t, nil, "GET", srv.URL+"/openapi.json", nil, "")
	var doc struct {
		Paths map[string]map[string]struct {
			Responses map[string]struct {
				Ref         string `json:"$ref"`
				Description string `json:"description"`
			} `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path, method string
		want, not    []string
	}{
		{"/inventory/reserve", "post", []string{"200", "400", "413", "415", "500", "503", "504", "default"}, nil},
		{"/orders/{id}", "get", []string{"200", "400", "500", "503", "504", "default"}, []string{"413", "415"}},
	} {
		op := doc.Paths[tt.path][tt.method]
		for _, s := range tt.want {
			resp, ok := op.Responses[s]
			if !ok {
				t.Errorf("%s %s: no %s response", tt.method, tt.path, s)
				continue
			}
			if s[0] != '2' && (resp.Ref != "#/components/responses/Error" || s != "default" && resp.Description == "") {
				t.Errorf("%s %s %s: %+v, want the Error response with a description", tt.method, tt.path, s, resp)
			}
		}
		for _, s := range tt.not {
			if _, ok := op.Responses[s]; ok {
				t.Errorf("%s %s: a %s response without a body", tt.method, tt.path, s)
			}
		}
	}
}
