package httptransport_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	httptransport "github.com/wegomesh/wego/transport/http"
)

// startServer starts a Server for f on a loopback port; it stops when the
// test ends.
func startServer(t testing.TB, f *fixture, opts ...httptransport.ServerOption) *httptransport.Server {
	t.Helper()
	s := httptransport.NewServer(append([]httptransport.ServerOption{httptransport.Addr("127.0.0.1:0")}, opts...)...)
	if err := s.Start(context.Background(), f.host); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Stop(ctx)
	})
	return s
}

// wireResp is a response read off a raw connection.
type wireResp struct {
	status int
	header http.Header
	body   []byte
	close  bool // Connection: close (ReadResponse takes the header out)
}

func (r wireResp) errorBody(t *testing.T) errorBody {
	t.Helper()
	return result{r.status, r.header, r.body}.errorBody(t)
}

// exchange writes req on a new connection to addr and reads the
// responses until the server closes the connection, or until n arrived
// and nothing more comes for 300ms; closed says whether the server closed
// it. A reset counts as closed, and fails the test when it comes before
// n responses.
func exchange(t *testing.T, addr, req string, n int) (rs []wireResp, closed bool) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	go func() { _, _ = io.WriteString(conn, req) }()
	br := bufio.NewReader(conn)
	for {
		if len(rs) >= n {
			_ = conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			var ne net.Error
			switch {
			case errors.As(err, &ne) && ne.Timeout() && len(rs) >= n:
				return rs, false
			case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
				return rs, true
			default:
				if len(rs) < n {
					t.Fatalf("after %d responses: %v", len(rs), err)
				}
				return rs, true
			}
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		rs = append(rs, wireResp{resp.StatusCode, resp.Header, body, resp.Close})
	}
}

const reserveBody = `{"sku":"a","qty":1}`

// chunk encodes s as one chunk and the last chunk.
func chunk(s string) string { return fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(s), s) }

// second is a valid request pipelined after the one under test: it must
// never run.
var second = "POST /inventory/reserve HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
	fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(reserveBody), reserveBody)

// TestBadFramingRejected sends requests whose body length a proxy and the
// server could read differently, each carrying a valid order and followed
// on the connection by a second valid order: exactly one answer comes, a
// JSON 400 http.bad_framing with Connection: close, the connection
// closes, and no order runs.
func TestBadFramingRejected(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := startServer(t, f)
	head := "POST /inventory/reserve HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
	cases := []struct{ name, req string }{
		{"Content-Length and chunked", head + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk(reserveBody)},
		{"chunked and Content-Length", head + "Transfer-Encoding: chunked\r\nContent-Length: 100\r\n\r\n" + chunk(reserveBody)},
		{"upper case", head + "TRANSFER-ENCODING: CHUNKED\r\ncontent-length: 5\r\n\r\n" + chunk(reserveBody)},
		{"gzip", head + "Transfer-Encoding: gzip\r\n\r\n" + chunk(reserveBody)},
		{"gzip, chunked", head + "Transfer-Encoding: gzip, chunked\r\n\r\n" + chunk(reserveBody)},
		{"chunked twice", head + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk(reserveBody)},
		{"folded coding", head + "Transfer-Encoding: chunked\r\n , identity\r\n\r\n" + chunk(reserveBody)},
		{"empty coding", head + "Transfer-Encoding:\r\n\r\n" + chunk(reserveBody)},
		{"chunked in HTTP/1.0", strings.Replace(head, "HTTP/1.1", "HTTP/1.0", 1) +
			fmt.Sprintf("Transfer-Encoding: chunked\r\nContent-Length: %d\r\n\r\n", len(reserveBody)) + reserveBody},
		{"two Content-Lengths", head + fmt.Sprintf("Content-Length: %d\r\nContent-Length: 3\r\n\r\n", len(reserveBody)) + reserveBody},
		{"signed Content-Length", head + fmt.Sprintf("Content-Length: +%d\r\n\r\n", len(reserveBody)) + reserveBody},
		{"empty Content-Length", head + "Content-Length:\r\n\r\n" + reserveBody},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := f.calls.Load()
			rs, closed := exchange(t, s.Addr(), c.req+second, 1)
			if len(rs) != 1 || !closed {
				t.Fatalf("%d responses, closed %v: want one, then the connection closed", len(rs), closed)
			}
			r := rs[0]
			if r.status != http.StatusBadRequest || r.errorBody(t).Code != "http.bad_framing" {
				t.Errorf("%d %s", r.status, r.body)
			}
			if !r.close || r.header.Get("X-Content-Type-Options") != "nosniff" ||
				r.header.Get("Content-Type") != "application/json; charset=utf-8" {
				t.Errorf("headers %v", r.header)
			}
			if n := f.calls.Load() - before; n != 0 {
				t.Errorf("%d orders ran", n)
			}
		})
	}
}

// TestChunkedServedThenClosed: a chunked request alone is served, and its
// connection closes after the answer, so that what follows its body is
// never read as a request.
func TestChunkedServedThenClosed(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := startServer(t, f)
	req := "POST /inventory/reserve HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
		chunk(reserveBody)
	rs, closed := exchange(t, s.Addr(), req+second, 1)
	if len(rs) != 1 || !closed {
		t.Fatalf("%d responses, closed %v: want one, then the connection closed", len(rs), closed)
	}
	if rs[0].status != http.StatusOK || !rs[0].close {
		t.Errorf("%d %v %s", rs[0].status, rs[0].header, rs[0].body)
	}
	if n := f.calls.Load(); n != 1 {
		t.Errorf("%d orders ran, want 1", n)
	}
}

// TestPipelinedRequests: requests with a Content-Length, and without a
// body, pipelined on one connection are all answered in order and the
// connection stays open: the guard keeps to net/http's framing.
func TestPipelinedRequests(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := startServer(t, f)
	get := "GET /orders/7?limit=2 HTTP/1.1\r\nHost: x\r\n\r\n"
	folded := "GET /orders/8 HTTP/1.1\r\nHost: x\r\nX-Tenant: a\r\n b\r\n\r\n"
	tail := strings.Repeat("z", 5000) // a body over one read of the guard
	big := fmt.Sprintf(`{"sku":"%s","qty":1}`, tail)
	bigReq := "POST /inventory/reserve HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
		fmt.Sprintf("Content-Length: %d\r\nContent-Length: %d\r\n\r\n%s", len(big), len(big), big)
	rs, closed := exchange(t, s.Addr(), second+"\r\n"+get+bigReq+folded+second, 5)
	if len(rs) != 5 || closed {
		t.Fatalf("%d responses, closed %v: want 5 and the connection open", len(rs), closed)
	}
	for i, r := range rs {
		if r.status != http.StatusOK {
			t.Errorf("response %d: %d %s", i, r.status, r.body)
		}
	}
	var o Order
	if err := json.Unmarshal(rs[3].body, &o); err != nil || o.ID != "8" || o.Tenant != "a b" {
		t.Errorf("the folded header: %s", rs[3].body)
	}
	if n := f.calls.Load(); n != 3 {
		t.Errorf("%d orders ran, want 3", n)
	}
}

// TestExpect: Expect: 100-continue works; any other expectation is a JSON
// 417 and the connection closes without the body being read.
func TestExpect(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := startServer(t, f)
	head := "POST /inventory/reserve HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
		fmt.Sprintf("Content-Length: %d\r\n", len(reserveBody))
	rs, closed := exchange(t, s.Addr(), head+"Expect: 200-ok\r\n\r\n"+reserveBody+second, 1)
	if len(rs) != 1 || !closed {
		t.Fatalf("%d responses, closed %v", len(rs), closed)
	}
	if rs[0].status != http.StatusExpectationFailed || rs[0].errorBody(t).Code != "http.expectation_failed" || !rs[0].close ||
		rs[0].header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("%d %v %s", rs[0].status, rs[0].header, rs[0].body)
	}
	if n := f.calls.Load(); n != 0 {
		t.Errorf("%d orders ran", n)
	}

	// 100-continue: the server asks for the body when it reads it.
	conn, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(conn)
	if _, err := io.WriteString(conn, head+"Expect: 100-continue\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	if line, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(line, "HTTP/1.1 100") {
		t.Fatalf("%q %v", line, err)
	}
	if _, err := br.ReadString('\n'); err != nil { // the empty line ending the 100
		t.Fatal(err)
	}
	if _, err := io.WriteString(conn, reserveBody); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("%v %v", resp, err)
	}
	resp.Body.Close()
}

// TestConnectAndOptionsStar: CONNECT and OPTIONS * name nothing served:
// both get a JSON 405 with the server's methods in Allow.
func TestConnectAndOptionsStar(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := startServer(t, f)
	for _, req := range []string{
		"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
	} {
		rs, _ := exchange(t, s.Addr(), req, 1)
		if len(rs) != 1 {
			t.Fatalf("%q: %d responses", req, len(rs))
		}
		r := rs[0]
		if r.status != http.StatusMethodNotAllowed || r.errorBody(t).Code != "http.method_not_allowed" ||
			r.header.Get("Allow") != "DELETE, GET, HEAD, POST, PUT" || r.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%q: %d %v %s", req, r.status, r.header, r.body)
		}
	}
}

// TestHeadOverLimitStill431: a head over the limit passes the guard as it
// is, and net/http answers 431.
func TestHeadOverLimitStill431(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := startServer(t, f, httptransport.MaxHeaderBytes(8<<10))
	for _, pad := range []string{
		"X-Pad: " + strings.Repeat("a", 20<<10) + "\r\n",               // one long line
		strings.Repeat("X-Pad: "+strings.Repeat("a", 100)+"\r\n", 200), // many lines
		strings.Repeat("Expect: 100-continue\r\n", 1000),               // held lines
	} {
		rs, closed := exchange(t, s.Addr(), "GET /healthz HTTP/1.1\r\nHost: x\r\n"+pad+"\r\n", 1)
		if len(rs) != 1 || rs[0].status != http.StatusRequestHeaderFieldsTooLarge || !closed {
			t.Errorf("%d responses, closed %v", len(rs), closed)
		}
	}
	rs, _ := exchange(t, s.Addr(), "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: "+strings.Repeat("a", 6<<10)+"\r\n\r\n", 1)
	if len(rs) != 1 || rs[0].status != http.StatusOK {
		t.Errorf("a head within the limit: %v", rs)
	}
}

// TestTLSGuarded: over TLS the guard works too, requests see their TLS
// state, and the server speaks HTTP/1.1 even when offered h2.
func TestTLSGuarded(t *testing.T) {
	t.Parallel()
	ts := httptest.NewUnstartedServer(nil)
	ts.EnableHTTP2 = true
	ts.StartTLS() // for its certificate
	cert := ts.TLS.Certificates[0]
	ts.Close()
	f := newFixture(t)
	s := startServer(t, f, httptransport.TLS(&tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}}))
	cfg := &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2", "http/1.1"}}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true}}
	defer c.CloseIdleConnections()
	resp, err := c.Get(s.URL() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ProtoMajor != 1 || resp.TLS == nil {
		t.Errorf("%d %s %v", resp.StatusCode, resp.Proto, resp.TLS)
	}
	conn, err := tls.Dial("tcp", s.Addr(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	req := "POST /inventory/reserve HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\n" +
		"Transfer-Encoding: chunked\r\n\r\n" + chunk(reserveBody) + second
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	r, err := http.ReadResponse(br, nil)
	if err != nil || r.StatusCode != http.StatusBadRequest {
		t.Fatalf("%v %v", r, err)
	}
	r.Body.Close()
	if _, err := http.ReadResponse(br, nil); err == nil {
		t.Error("a second response")
	}
	if n := f.calls.Load(); n != 0 {
		t.Errorf("%d orders ran", n)
	}
}
