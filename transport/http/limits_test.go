package httptransport_test

import (
	"bufio"
	"context"
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
	"github.com/wegomesh/wego/transport"
	httptransport "github.com/wegomesh/wego/transport/http"
)

// TestRemoteBodyNotHTMLEscaped: a request full of '<' relays at its own
// size (encoding/json's default escaping made each '<' six bytes, and a
// 100 KiB request a 413 at a 150 KiB limit).
func TestRemoteBodyNotHTMLEscaped(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	h, err := httptransport.NewHandler(f.host, httptransport.MaxBodyBytes(150<<10))
	if err != nil {
		t.Fatal(err)
	}
	var size atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		size.Store(r.ContentLength)
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	a := newAPI(t)
	c := httptransport.NewClient()
	defer c.CloseIdleConnections()
	a.route(t, c, srv.URL)
	sku := strings.Repeat("<", 100<<10) + "&>"
	resp, err := a.reserve.Call(context.Background(), ReserveRequest{SKU: sku, Qty: 1})
	if err != nil || resp.ID != "r-"+sku {
		t.Fatalf("%.100v %v", resp, err)
	}
	if n := size.Load(); n > int64(len(sku))+64 {
		t.Errorf("a request of %d bytes of SKU was sent as %d bytes", len(sku), n)
	}
}

// TestMaxConcurrent: requests over max_concurrent get a JSON 503 with
// Retry-After before their body is read, while probes still answer;
// once requests end, new ones are served.
func TestMaxConcurrent(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv := f.serve(t, httptransport.MaxConcurrent(2))
	results := make(chan int, 2)
	for range 2 {
		go func() {
			resp, err := http.Post(srv.URL+"/faulty/slow", "application/json", strings.NewReader(`{}`))
			if err != nil {
				results <- 0
				return
			}
			resp.Body.Close()
			results <- resp.StatusCode
		}()
		<-f.started
	}
	r := do(t, nil, "POST", srv.URL+"/inventory/reserve", jsonCT, reserveBody)
	if r.status != http.StatusServiceUnavailable || r.errorBody(t).Code != "transport.overloaded" || r.header.Get("Retry-After") != "1" {
		t.Errorf("over the limit: %d %v %s", r.status, r.header, r.body)
	}
	if f.calls.Load() != 0 {
		t.Error("the refused request ran")
	}
	if r := do(t, nil, "GET", srv.URL+"/readyz", nil, ""); r.status != http.StatusOK {
		t.Errorf("/readyz while full: %d", r.status)
	}
	close(f.release)
	for range 2 {
		if s := <-results; s != http.StatusOK {
			t.Errorf("a request within the limit: %d", s)
		}
	}
	if r := do(t, nil, "POST", srv.URL+"/inventory/reserve", jsonCT, reserveBody); r.status != http.StatusOK {
		t.Errorf("after the others ended: %d %s", r.status, r.body)
	}
}

// TestSlowBodyGets408: a body slower than read_timeout gets a JSON 408
// and the connection closes, even when the write timeout has passed too.
func TestSlowBodyGets408(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := startServer(t, f, httptransport.Timeouts(0, 300*time.Millisecond, 300*time.Millisecond, 0))
	conn, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	go func() {
		_, _ = io.WriteString(conn, "POST /inventory/reserve HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{")
		for range 10 {
			time.Sleep(100 * time.Millisecond)
			if _, err := io.WriteString(conn, " "); err != nil {
				return
			}
		}
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	r := result{resp.StatusCode, resp.Header, body}
	if r.status != http.StatusRequestTimeout || r.errorBody(t).Code != "http.request_timeout" || !resp.Close {
		t.Errorf("%d close=%v %s", r.status, resp.Close, body)
	}
	if f.calls.Load() != 0 {
		t.Error("the command ran")
	}
}

// TestCallerGoneGetsNoStatus499: a client that sends a request and
// half-closes its connection while the command runs is not sent a 499
// (nginx's "client closed request", which no client can act on): the
// command sees its context end, the server closes the connection without
// an answer, and logs why at debug level.
func TestCallerGoneGetsNoStatus499(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := startServer(t, f)
	conn, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	body := `{"millis":5000}`
	if _, err := fmt.Fprintf(conn, "POST /faulty/slow HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body); err != nil {
		t.Fatal(err)
	}
	<-f.started
	if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-f.canceled:
	case <-time.After(3 * time.Second):
		t.Fatal("the command did not see its caller go")
	}
	got, _ := io.ReadAll(conn)
	if len(got) > 0 {
		t.Errorf("the half-closed client got %q", got)
	}
	deadline := time.Now().Add(2 * time.Second)
	for f.logs.FilterMessage("http: the caller went away; no answer").Len() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no log line")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCanceledWithCallerThere: a command canceled by something else than
// its caller answers 503, not 499.
func TestCanceledWithCallerThere(t *testing.T) {
	t.Parallel()
	cat := catalog.New()
	if _, err := catalog.RegisterIn(cat, "x.Cancel", func(context.Context, Empty) (Empty, error) {
		return Empty{}, context.Canceled
	}); err != nil {
		t.Fatal(err)
	}
	h, err := httptransport.NewHandler(transport.Host{Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	r := do(t, nil, "POST", srv.URL+"/x/cancel", nil, "")
	if r.status != http.StatusServiceUnavailable || r.errorBody(t).Code != "unavailable" {
		t.Errorf("%d %s", r.status, r.body)
	}
}

// TestDrainTurnsKeepAliveOff: once Stop begins, an answer carries
// Connection: close and its connection closes, so that a client never
// sends another request on a connection the drain is about to close.
func TestDrainTurnsKeepAliveOff(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := httptransport.NewServer(httptransport.Addr("127.0.0.1:0"), httptransport.DrainDelay(300*time.Millisecond))
	if err := s.Start(context.Background(), f.host); err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(conn)
	send := func(req string) *http.Response {
		t.Helper()
		if _, err := io.WriteString(conn, req); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	if resp := send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); resp.Close {
		t.Fatal("keep-alive is off before the drain")
	}
	slow := `{"millis":0}`
	if _, err := fmt.Fprintf(conn, "POST /faulty/slow HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(slow), slow); err != nil {
		t.Fatal(err)
	}
	<-f.started
	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		stopped <- s.Stop(ctx)
	}()
	for { // wait for the drain to begin
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		if rec.Code == http.StatusServiceUnavailable {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(f.release)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !resp.Close {
		t.Errorf("the answer during the drain: %d, Connection: close %v", resp.StatusCode, resp.Close)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("the connection stays open after it: %v", err)
	}
	if err := <-stopped; err != nil {
		t.Errorf("Stop: %v", err)
	}
}
