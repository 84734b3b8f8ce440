package httptransport

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"testing"
)

// chunkConn is a connection that reads data in pieces of at most n bytes.
type chunkConn struct {
	net.Conn
	r *bytes.Reader
	n int
}

func (c *chunkConn) Read(p []byte) (int, error) {
	if len(p) > c.n {
		p = p[:c.n]
	}
	return c.r.Read(p)
}

// parsed is what net/http makes of one request on a connection.
type parsed struct {
	Method, URI, Proto string
	Header             http.Header
	ContentLength      int64
	TransferEncoding   []string
	Body               string
	BodyErr            bool
}

// parseAll reads requests off r as net/http's server does, each body to
// its end, until one fails.
func parseAll(r io.Reader) []parsed {
	br := bufio.NewReader(r)
	var out []parsed
	for len(out) < 50 {
		req, err := http.ReadRequest(br)
		if err != nil {
			return out
		}
		body, err := io.ReadAll(req.Body)
		out = append(out, parsed{req.Method, req.RequestURI, req.Proto, req.Header, req.ContentLength,
			req.TransferEncoding, string(body), err != nil})
		if err != nil {
			return out
		}
	}
	return out
}

// FuzzGuard checks that the guard keeps to net/http's framing: net/http
// reads the same requests, bodies included, through the guard as without
// it, up to the head the guard marks; that head reaches it without a body
// and nothing follows it.
func FuzzGuard(f *testing.F) {
	post := func(extra, body string) string {
		return "POST /a HTTP/1.1\r\nHost: x\r\n" + extra + fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(body), body)
	}
	get := "GET /b?c=d HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\r\n"
	for _, s := range []string{
		get + get,
		post("", `{"a":1}`) + get + post("Expect: 100-continue\r\n", "xyz"),
		post("", "") + "\r\n" + get,
		"POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" + get,
		"POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n" + get,
		"POST /a HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc" + get,
		"POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n" + get,
		"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc" + get,
		"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd" + get,
		"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n 3\r\n\r\nabc" + get,
		"GET /a HTTP/1.1\nHost: x\nX-F: a\n b\n\n" + get,
		"GET /a HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\n\r\n" + get,
		"GET /a HTTP/1.1\r\nHost: x\r\nX-Pad: " + string(bytes.Repeat([]byte("p"), 6000)) + "\r\n\r\n" + get,
	} {
		f.Add([]byte(s), uint16(7))
		f.Add([]byte(s), uint16(4096))
	}
	f.Fuzz(func(t *testing.T, data []byte, split uint16) {
		n := int(split%8192) + 1
		raw := parseAll(bytes.NewReader(data))
		g := &guardConn{Conn: &chunkConn{r: bytes.NewReader(data), n: n}, limit: 5000}
		through := parseAll(g)
		k := len(through) // the requests that must be the same
		marked := g.markAt.Load() > 0 && g.mark.Load() != markClose
		if marked {
			k = int(g.markAt.Load()) - 1 // the requests before the marked head
			switch {
			case len(through) > k+1:
				t.Fatalf("%d requests through the guard, after the head marked, number %d", len(through), k+1)
			case len(through) == k+1:
				if m := through[k]; m.ContentLength != 0 || m.Body != "" || m.TransferEncoding != nil ||
					m.Header.Get("Content-Length") != "" || m.Header.Get("Expect") != "" {
					t.Fatalf("the marked head reached net/http with its framing: %+v", m)
				}
			case len(through) == k && len(raw) != k:
				t.Fatalf("net/http refuses the marked head through the guard, not without it (%d requests)", len(raw))
			case len(through) < k:
				k = len(through) // net/http stops before the marked head
			}
		}
		if len(raw) < k || !marked && len(raw) != len(through) {
			t.Fatalf("%d requests without the guard, %d through it", len(raw), len(through))
		}
		for i := range k {
			if !reflect.DeepEqual(raw[i], through[i]) {
				t.Fatalf("request %d:\nwithout the guard %+v\nthrough it        %+v", i, raw[i], through[i])
			}
		}
		if len(through) < len(raw) && len(through) < k {
			t.Fatalf("net/http stops earlier through the guard")
		}
	})
}
