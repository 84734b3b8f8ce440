package reliability

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// The limits of the hostile-input servers.
const (
	maxBody   = 64 << 10
	maxHeader = 4 << 10
)

// hostileHTTP configures orders for the hostile input: small limits and a
// short read_header_timeout for the slowloris test.
var hostileHTTP = fmt.Sprintf("http: {max_body_bytes: %d, max_header_bytes: %d, read_header_timeout: 1s}\n", maxBody, maxHeader)

// rawResponse is a response read off a raw connection.
type rawResponse struct {
	status int
	header http.Header
	body   []byte
}

// sendRaw writes req (a whole HTTP/1.1 request, bytes as given) on a new
// connection to addr and reads the response.
func sendRaw(t *testing.T, addr string, req []byte) rawResponse {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	// Write in the background: the server may answer (413, 431) and close
	// before it reads everything.
	go func() { _, _ = conn.Write(req) }()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return rawResponse{status: resp.StatusCode, header: resp.Header, body: body}
}

// request builds a raw HTTP/1.1 request with a Content-Length when body is
// not nil.
func request(method, target string, headers []string, body []byte) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n", method, target)
	for _, h := range headers {
		b.WriteString(h)
		b.WriteString("\r\n")
	}
	if body != nil {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n")
	return append([]byte(b.String()), body...)
}

func post(body string, headers ...string) []byte {
	return request("POST", "/orders", append([]string{"Content-Type: application/json"}, headers...), []byte(body))
}

func get(target string, headers ...string) []byte { return request("GET", target, headers, nil) }

// hostile is one hostile request and the answer it must get.
type hostile struct {
	name   string
	to     string // "orders" (default) or "inventory"
	req    []byte
	status int
	code   string // of the JSON error body; "" when plain
	// plain: net/http answers before WeGO sees the request, in plain text
	// (431, and 400 for a request it cannot parse): documented exceptions.
	plain bool
	// forgedID is an X-Request-Id that must not be echoed.
	forgedID string
}

func hostileCases() []hostile {
	const order = `{"sku":"plenty-0","qty":1}`
	deepArray := strings.Repeat("[", 10000) + strings.Repeat("]", 10000)
	deepObject := strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000)
	overLimit := order + strings.Repeat(" ", maxBody-len(order)+1) // one byte over
	atLimit := order + strings.Repeat(" ", maxBody-len(order))
	longID := strings.Repeat("a", 10<<10)
	manyKeys := "{" + strings.Repeat(`"k":1,`, 2000) + `"sku":"plenty-0","qty":1}`
	chunked := func(n int) []byte {
		body := strings.Repeat(" ", n) + order
		return []byte(fmt.Sprintf("POST /orders HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n"+
			"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", len(body), body))
	}
	bad := "invalid_argument"
	return []hostile{
		// The body.
		{name: "malformed JSON", req: post(`{"sku":`), status: 400, code: bad},
		{name: "not JSON", req: post(`hello`), status: 400, code: bad},
		{name: "byte order mark", req: post("\ufeff" + order), status: 400, code: bad},
		{name: "qty as a string", req: post(`{"sku":"plenty-0","qty":"1"}`), status: 400, code: bad},
		{name: "sku as a number", req: post(`{"sku":7,"qty":1}`), status: 400, code: bad},
		{name: "qty as an object", req: post(`{"sku":"plenty-0","qty":{"$gt":0}}`), status: 400, code: bad},
		{name: "unknown field", req: post(`{"sku":"plenty-0","qty":1,"admin":true}`), status: 400, code: bad},
		{name: "prototype pollution key", req: post(`{"sku":"plenty-0","qty":1,"__proto__":{"x":1}}`), status: 400, code: bad},
		{name: "trailing value", req: post(order + ` {}`), status: 400, code: bad},
		{name: "trailing garbage", req: post(order + `x`), status: 400, code: bad},
		{name: "duplicate key", req: post(`{"sku":"plenty-0","qty":1,"qty":1000}`), status: 400, code: bad},
		{name: "duplicate key in another case", req: post(`{"sku":"plenty-0","qty":1,"QTY":1000}`), status: 400, code: bad},
		{name: "duplicate key escaped", req: post(`{"sku":"plenty-0","qty":1,"q\u0074y":1000}`), status: 400, code: bad},
		{name: "2000 keys", req: post(manyKeys), status: 400, code: bad},
		{name: "body at the limit", req: post(atLimit), status: 201},
		{name: "body one byte over the limit", req: post(overLimit), status: 413, code: "transport.body_too_large"},
		{name: "chunked body over the limit", req: chunked(maxBody), status: 413, code: "transport.body_too_large"},
		{name: "Content-Length over the limit, no body", req: []byte("POST /orders HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" +
			"Content-Type: application/json\r\nContent-Length: 99999999999\r\n\r\n"), status: 413, code: "transport.body_too_large"},
		{name: "invalid UTF-8 in a string", req: post("{\"sku\":\"plenty-\xff\",\"qty\":1}"), status: 400, code: bad},
		{name: "invalid UTF-8 in a key", req: post("{\"sku\":\"plenty-0\",\"q\xfe\":1}"), status: 400, code: bad},
		{name: "overlong UTF-8 slash", req: post("{\"sku\":\"\xc0\xaf\",\"qty\":1}"), status: 400, code: bad},
		{name: "arrays 10,000 deep", req: post(`{"sku":` + deepArray + `,"qty":1}`), status: 400, code: bad},
		{name: "objects 10,000 deep", req: post(deepObject), status: 400, code: bad},
		{name: "huge exponent", req: post(`{"sku":"plenty-0","qty":1e400}`), status: 400, code: bad},
		{name: "integer overflow", req: post(`{"sku":"plenty-0","qty":99999999999999999999}`), status: 400, code: bad},
		{name: "NaN", req: post(`{"sku":"plenty-0","qty":NaN}`), status: 400, code: bad},
		{name: "Infinity", req: post(`{"sku":"plenty-0","qty":Infinity}`), status: 400, code: bad},
		{name: "fraction", req: post(`{"sku":"plenty-0","qty":1.5}`), status: 400, code: bad},
		{name: "negative quantity", req: post(`{"sku":"plenty-0","qty":-5}`), status: 400, code: bad},
		{name: "zero quantity", req: post(`{"sku":"plenty-0","qty":0}`), status: 400, code: bad},
		{name: "min int quantity", req: post(`{"sku":"plenty-0","qty":-9223372036854775808}`), status: 400, code: bad},
		{name: "empty body", req: request("POST", "/orders", []string{"Content-Type: application/json"}, []byte{}), status: 400, code: bad},
		{name: "null", req: post(`null`), status: 400, code: bad},
		{name: "array", req: post(`[]`), status: 400, code: bad},
		{name: "huge SKU", req: post(`{"sku":"` + strings.Repeat("x", 60000) + `","qty":1}`), status: 404, code: "inventory.unknown_sku"},
		// The content type.
		{name: "text/plain", req: request("POST", "/orders", []string{"Content-Type: text/plain"}, []byte(order)), status: 415, code: "transport.unsupported_media_type"},
		{name: "JSON in Latin-1", req: request("POST", "/orders", []string{"Content-Type: application/json; charset=latin1"}, []byte(order)), status: 415, code: "transport.unsupported_media_type"},
		{name: "multipart form", req: request("POST", "/orders", []string{"Content-Type: multipart/form-data; boundary=x"}, []byte("--x\r\n\r\n"+order+"\r\n--x--")), status: 415, code: "transport.unsupported_media_type"},
		{name: "no content type", req: request("POST", "/orders", nil, []byte(order)), status: 415, code: "transport.unsupported_media_type"},
		{name: "two content types", req: request("POST", "/orders", []string{"Content-Type: application/json", "Content-Type: text/html"}, []byte(order)), status: 415, code: "transport.unsupported_media_type"},
		// Methods.
		{name: "PUT /orders", req: request("PUT", "/orders", []string{"Content-Type: application/json"}, []byte(order)), status: 405, code: "http.method_not_allowed"},
		{name: "DELETE /orders/x", req: request("DELETE", "/orders/x", nil, nil), status: 405, code: "http.method_not_allowed"},
		{name: "unknown method", req: request("BREW", "/orders", nil, nil), status: 405, code: "http.method_not_allowed"},
		{name: "GET with a body", req: request("GET", "/orders/x", []string{"Content-Type: application/json"}, []byte(order)), status: 400, code: bad},
		// Path parameters.
		{name: "encoded traversal", req: get("/orders/..%2F..%2Fetc%2Fpasswd"), status: 404, code: "orders.not_found"},
		{name: "NUL byte", req: get("/orders/%00"), status: 404, code: "orders.not_found"},
		{name: "double encoding", req: get("/orders/%252e%252e%252fetc"), status: 404, code: "orders.not_found"},
		{name: "encoded dots", req: get("/orders/%2e%2e"), status: 404, code: "orders.not_found"},
		{name: "invalid UTF-8 in the path", req: get("/orders/%ff%fe"), status: 404, code: "orders.not_found"},
		{name: "CRLF in the path", req: get("/orders/x%0d%0aSet-Cookie:%20a=b"), status: 404, code: "orders.not_found"},
		{name: "traversal to the root", req: get("/%2e%2e/%2e%2e/etc/passwd"), status: 404, code: "http.not_found"},
		{name: "long unknown path", req: get("/" + strings.Repeat("a/", 1500)), status: 404, code: "http.not_found"},
		{name: "SKU traversal in inventory", to: "inventory", req: get("/inventory/stock/..%2F..%2Fetc%2Fpasswd"), status: 404, code: "inventory.unknown_sku"},
		{name: "negative reserve in inventory", to: "inventory", req: request("POST", "/inventory/reserve", []string{"Content-Type: application/json"}, []byte(`{"sku":"plenty-0","qty":-1}`)), status: 400, code: bad},
		// Headers.
		{name: "headers over the limit", req: post(order, "X-Pad: "+strings.Repeat("a", 4*maxHeader)), status: 431, plain: true},
		{name: "control character in X-Request-Id", req: post(`{}`, "X-Request-Id: abc\x01def"), status: 400, plain: true},
		{name: "X-Request-Id of 10 KB", to: "inventory", req: request("POST", "/inventory/reserve",
			[]string{"Content-Type: application/json", "X-Request-Id: " + longID}, []byte(`{"qty":1}`)), status: 400, code: bad, forgedID: longID},
		{name: "markup in X-Request-Id", req: post(`{"qty":1}`, "X-Request-Id: <script>alert(1)</script>"), status: 400, code: bad, forgedID: "<script>alert(1)</script>"},
		{name: "two X-Request-Ids", req: post(`{"qty":1}`, "X-Request-Id: <b>", "X-Request-Id: ok-id"), status: 400, code: bad, forgedID: "<b>"},
		{name: "negative X-Wego-Timeout", req: post(order, "X-Wego-Timeout: -1"), status: 400, code: bad},
		{name: "huge X-Wego-Timeout", req: post(order, "X-Wego-Timeout: 99999999999999999999"), status: 400, code: bad},
		{name: "X-Wego-Timeout not a number", req: post(order, "X-Wego-Timeout: 1e3"), status: 400, code: bad},
		// Framing and protocol (the connection guard of transport/http;
		// TestSmuggling sends a whole order in the smuggling shape).
		{name: "Content-Length and chunked", req: []byte("POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4\r\n" +
			"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n"), status: 400, code: "http.bad_framing"},
		{name: "two Content-Lengths", req: []byte("POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n" +
			"Content-Length: 3\r\nConnection: close\r\n\r\n{}"), status: 400, code: "http.bad_framing"},
		{name: "gzip transfer coding", req: post(order, "Transfer-Encoding: gzip"), status: 400, code: "http.bad_framing"},
		{name: "chunked, gzip", req: []byte("POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
			"Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n"), status: 400, code: "http.bad_framing"},
		{name: "chunked in HTTP/1.0", req: []byte("POST /orders HTTP/1.0\r\nHost: x\r\nContent-Type: application/json\r\n" +
			fmt.Sprintf("Transfer-Encoding: chunked\r\nContent-Length: %d\r\n\r\n%s", len(order), order)), status: 400, code: "http.bad_framing"},
		{name: "Content-Length with a sign", req: []byte("POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
			fmt.Sprintf("Content-Length: +%d\r\n\r\n%s", len(order), order)), status: 400, code: "http.bad_framing"},
		{name: "Expect: 200-ok", req: post(order, "Expect: 200-ok"), status: 417, code: "http.expectation_failed"},
		{name: "CONNECT", req: request("CONNECT", "127.0.0.1:443", nil, nil), status: 405, code: "http.method_not_allowed"},
		{name: "OPTIONS *", req: request("OPTIONS", "*", nil, nil), status: 405, code: "http.method_not_allowed"},
	}
}

// TestHostileInput sends every hostile request to the real servers: each
// gets its documented 4xx and a JSON error body with X-Content-Type-Options:
// nosniff and a request id equal to X-Request-Id (net/http's own
// plain-text 400 and 431 for requests it cannot parse are the documented
// exceptions); none gets a 5xx; no response reveals internals; forged
// request ids are never echoed.
func TestHostileInput(t *testing.T) {
	t.Parallel()
	stock := catalogue(1000, 1000)
	inv := start(t, nodeOpts{yaml: inventoryYAML(""), stock: stock})
	ord := start(t, nodeOpts{yaml: ordersYAML(inv.url, "", hostileHTTP)})
	cases := hostileCases()
	if len(cases) < 30 {
		t.Fatalf("%d cases", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			addr := ord.addr
			if c.to == "inventory" {
				addr = inv.addr
			}
			r := sendRaw(t, addr, c.req)
			if r.status >= 500 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			if r.status != c.status {
				t.Errorf("status %d, want %d: %.300s", r.status, c.status, r.body)
			}
			if what := leak(r.header, r.body); what != "" {
				t.Errorf("the response reveals %s: %.300s", what, r.body)
			}
			if c.plain || r.status < 300 {
				return
			}
			if r.header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("no X-Content-Type-Options: nosniff: %v", r.header)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			var eb errorBody
			if err := json.Unmarshal(r.body, &eb); err != nil {
				t.Fatalf("not a JSON error body: %v: %.300s", err, r.body)
			}
			if eb.Code != c.code || eb.Message == "" {
				t.Errorf("code %q, message %q, want code %q", eb.Code, eb.Message, c.code)
			}
			if id := r.header.Get("X-Request-Id"); eb.RequestID == "" || eb.RequestID != id {
				t.Errorf("request_id %q, X-Request-Id %q", eb.RequestID, id)
			}
			if c.forgedID != "" && (strings.Contains(string(r.body), c.forgedID) || strings.Contains(fmt.Sprint(r.header), c.forgedID)) {
				t.Errorf("the forged request id is echoed")
			}
			if c.forgedID != "" && !uuidRE.MatchString(eb.RequestID) {
				t.Errorf("request id %q for a forged one, want a fresh UUID", eb.RequestID)
			}
		})
	}
}

// TestSlowloris opens connections that send one header byte per second:
// each is closed within read_header_timeout (1s, plus slack), while normal
// clients keep getting fast answers meanwhile.
func TestSlowloris(t *testing.T) {
	t.Parallel()
	inv := start(t, nodeOpts{yaml: inventoryYAML(""), stock: catalogue(100000, 1)})
	ord := start(t, nodeOpts{yaml: ordersYAML(inv.url, "", hostileHTTP)})
	const slow = 20
	var wg sync.WaitGroup
	lifetimes := make([]time.Duration, slow)
	sent := make([]int, slow)
	for i := range slow {
		wg.Go(func() {
			conn, err := net.Dial("tcp", ord.addr)
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close()
			began := time.Now()
			msg := "POST /orders HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + strings.Repeat("a", 100)
			for j := 0; j < len(msg); j++ {
				if _, err := conn.Write([]byte{msg[j]}); err != nil {
					break
				}
				sent[i]++
				// A read with a one-second deadline paces the bytes and sees
				// the server close the connection.
				_ = conn.SetReadDeadline(time.Now().Add(time.Second))
				var b [1]byte
				if _, err := conn.Read(b[:]); err != nil {
					if ne, ok := err.(net.Error); ok && ne.Timeout() {
						continue
					}
					break // closed by the server
				}
				break // the server answered (408): it closes next
			}
			lifetimes[i] = time.Since(began)
		})
	}
	c := newClient(4)
	defer c.close()
	deadline := time.Now().Add(2500 * time.Millisecond)
	var slowest time.Duration
	n := 0
	for time.Now().Before(deadline) {
		began := time.Now()
		r := c.placeOrder(t.Context(), ord.url, "plenty-0", 1)
		slowest = max(slowest, time.Since(began))
		n++
		if r.status != http.StatusCreated {
			t.Fatalf("a normal client got %d %s %s %v", r.status, r.code, r.problem, r.err)
		}
	}
	wg.Wait()
	for i, d := range lifetimes {
		if d > 3*time.Second {
			t.Errorf("slow connection %d lived %s after %d bytes, read_header_timeout is 1s", i, d, sent[i])
		}
	}
	if slowest > 500*time.Millisecond {
		t.Errorf("the slowest of %d normal orders took %s while slow clients were connected", n, slowest)
	}
	t.Logf("%d slow connections closed after %s; %d normal orders meanwhile, the slowest in %s", slow, lifetimes[0].Round(time.Millisecond), n, slowest.Round(time.Millisecond))
}

// readAll reads the responses of one connection until the server closes
// it (or 5s pass): what a client that sent several requests at once sees.
func readAll(t *testing.T, addr string, req []byte) (rs []rawResponse, closed bool) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	go func() { _, _ = conn.Write(req) }()
	br := bufio.NewReader(conn)
	for {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			// Nothing more: EOF, which ReadResponse reports as unexpected.
			return rs, errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		rs = append(rs, rawResponse{status: resp.StatusCode, header: resp.Header, body: body})
	}
}

// TestSmuggling sends a valid order in a chunked body that also has a
// Content-Length (a proxy that reads the Content-Length would see one
// request; net/http used to read the chunked body and then the bytes
// after it as a second request), followed on the same connection by a
// second valid order: exactly one answer comes, a JSON 400
// http.bad_framing, the connection closes, and nothing is reserved or
// ordered.
func TestSmuggling(t *testing.T) {
	t.Parallel()
	stock := map[string]int{"pear": 5}
	inv := start(t, nodeOpts{yaml: inventoryYAML(""), stock: stock})
	ord := start(t, nodeOpts{yaml: ordersYAML(inv.url, "", hostileHTTP)})
	order := `{"sku":"pear","qty":5}`
	chunked := fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(order), order)
	for _, c := range []struct{ name, framing string }{
		{"Content-Length first", fmt.Sprintf("Content-Length: %d\r\nTransfer-Encoding: chunked\r\n", len(chunked))},
		{"Transfer-Encoding first", "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			smuggled := string(post(order))
			req := "POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + c.framing + "\r\n" + chunked + smuggled
			rs, closed := readAll(t, ord.addr, []byte(req))
			if len(rs) != 1 || !closed {
				t.Fatalf("%d answers, connection closed %v: want one answer and the connection closed", len(rs), closed)
			}
			var eb errorBody
			if err := json.Unmarshal(rs[0].body, &eb); err != nil || rs[0].status != http.StatusBadRequest || eb.Code != "http.bad_framing" {
				t.Errorf("%d %s", rs[0].status, rs[0].body)
			}
		})
	}
	if left, _ := inv.inv.Available("pear"); left != 5 || inv.inv.Reservations() != 0 || ord.ord.Len() != 0 {
		t.Errorf("pear: %d left, %d reservations, %d orders", left, inv.inv.Reservations(), ord.ord.Len())
	}
}

// TestSlowBody: a body that arrives one byte every 300ms gets a JSON 408
// http.request_timeout once read_timeout (1s here) passes, and the
// connection closes; nothing is reserved.
func TestSlowBody(t *testing.T) {
	t.Parallel()
	inv := start(t, nodeOpts{yaml: inventoryYAML(""), stock: map[string]int{"pear": 5}})
	ord := start(t, nodeOpts{yaml: ordersYAML(inv.url, "", "http: {read_header_timeout: 1s, read_timeout: 1s}\n")})
	conn, err := net.Dial("tcp", ord.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	order := `{"sku":"pear","qty":1}`
	go func() {
		_, _ = fmt.Fprintf(conn, "POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(order))
		for i := range len(order) {
			if _, err := conn.Write([]byte{order[i]}); err != nil {
				return
			}
			time.Sleep(300 * time.Millisecond)
		}
	}()
	began := time.Now()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer after %s: %v", time.Since(began).Round(time.Millisecond), err)
	}
	body, _ := io.ReadAll(resp.Body)
	var eb errorBody
	if err := json.Unmarshal(body, &eb); err != nil || resp.StatusCode != http.StatusRequestTimeout || eb.Code != "http.request_timeout" ||
		!resp.Close || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("%d close=%v %s", resp.StatusCode, resp.Close, body)
	}
	if d := time.Since(began); d > 3*time.Second {
		t.Errorf("answered after %s", d)
	}
	if inv.inv.Reservations() != 0 {
		t.Error("reserved")
	}
}
