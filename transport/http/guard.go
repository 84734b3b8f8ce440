package httptransport

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/log"
)

// The connection guard reads each request head on the connection before
// net/http does, because net/http hides what request smuggling needs to be
// seen: given both Content-Length and Transfer-Encoding: chunked it drops
// Content-Length and serves the chunked body (RFC 9112 lets a server do
// that, but it must then close the connection, and net/http keeps it
// open); given another transfer coding it answers a plain-text 501; given
// an Expect other than 100-continue, an empty 417; given a bad or doubled
// Content-Length, a plain-text 400. The handler never sees the headers
// that caused these, so it could not answer them itself.
//
// The guard tracks the framing of the HTTP/1 byte stream the same way
// net/http's parser does (heads end with an empty line, bodies are as long
// as Content-Length says), so that it knows where each head starts. From a
// head it holds back the Content-Length, Transfer-Encoding and Expect
// lines until the head ends, then:
//
//   - framing net/http reads the same way as any proxy (one Content-Length,
//     or Transfer-Encoding: chunked alone): the held lines go on unchanged;
//   - anything else (both headers, another coding, several
//     Transfer-Encoding fields, one in HTTP/1.0, an invalid or doubled
//     Content-Length) or an unsupported Expect: the head goes on without
//     the held lines, so net/http sees a request without a body and calls
//     the handler, which finds the head's mark and answers a JSON 400 or
//     417 with Connection: close; the guard gives net/http nothing of the
//     connection after that head, so bytes smuggled after it never run.
//
// After a chunked head the guard stops tracking (it does not parse chunks)
// and the handler closes the connection after that response, so that the
// next head, which only the chunked framing could place, is never read.
// Heads over the header limit are passed on as they are, for net/http's
// 431.

// The marks the guard puts on a head for the handler.
const (
	markNone         int32 = iota
	markClose              // serve, then close the connection (chunked body)
	markBadFraming         // answer ErrBadFraming and close
	markExpectFailed       // answer ErrExpectationFailed and close
)

type guardMode uint8

const (
	modeHead   guardMode = iota // reading a request head
	modeBody                    // passing remain bytes of a body through
	modeRaw                     // passing everything through, untracked
	modeClosed                  // nothing more for net/http: EOF
)

// guardListener wraps the connections it accepts in a guardConn, and
// serves TLS over them when tls is set.
type guardListener struct {
	net.Listener
	headLimit int           // bytes of request line and headers net/http reads at most
	tls       *tls.Config   // nil for plain HTTP
	handshake time.Duration // bound of a TLS handshake
}

// newGuardListener returns ln guarded; with cfg, it serves TLS with a copy
// of cfg that offers HTTP/1.1 only (an HTTP/2 connection could not be
// guarded, and net/http would not serve it through the wrapper).
func newGuardListener(ln net.Listener, headLimit int, cfg *tls.Config, handshake time.Duration) net.Listener {
	gl := &guardListener{Listener: ln, headLimit: headLimit, handshake: handshake}
	if cfg != nil {
		gl.tls = cfg.Clone()
		gl.tls.NextProtos = slices.DeleteFunc(slices.Clone(gl.tls.NextProtos), func(p string) bool { return p == "h2" })
	}
	return gl
}

// Accept returns the next connection, guarded.
func (l *guardListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if l.tls != nil {
		c = tls.Server(c, l.tls)
	}
	g := &guardConn{Conn: c, limit: l.headLimit}
	if tc, ok := c.(*tls.Conn); ok {
		return &tlsGuardConn{guardConn: g, tc: tc, timeout: l.handshake}, nil
	}
	return g, nil
}

// guardConn is a server connection whose request heads the guard reads
// before net/http. net/http calls Read from one goroutine at a time (the
// connection's, or its background reader while a handler runs); the
// handler reads the marks from the connection's goroutine, so the marks
// are atomic.
type guardConn struct {
	net.Conn
	limit int

	buf    *[]byte // bytes read and not yet parsed or passed on: (*buf)[r:w]
	r, w   int
	out    []byte // parsed head bytes ready for net/http: out[off:]
	off    int
	mode   guardMode
	remain int64 // body bytes to pass through in modeBody
	heads  int64 // heads passed on

	// The head being read.
	started  bool // the request line was read
	http10   bool
	size     int    // bytes of the head so far
	held     []byte // the held-back lines, as received
	kind     uint8  // the held field being read: fieldLength, fieldCoding, fieldExpect; 0 none
	value    []byte // its value so far (folded lines joined by a space)
	lengths  int    // Content-Length fields
	length   []byte // the first one's value
	differ   bool   // another one differs from it
	codings  int    // Transfer-Encoding fields
	chunked  bool   // the first one is "chunked"
	expects  int    // Expect fields
	expectNo bool   // the first one is neither empty nor has 100-continue

	markAt atomic.Int64 // the head (1-based) the mark is for
	mark   atomic.Int32
	served atomic.Int64 // requests the handler has taken
}

// The held fields.
const (
	fieldLength uint8 = 1 + iota
	fieldCoding
	fieldExpect
)

// closeWriter is a connection that can half-close (TCP and TLS can).
type closeWriter interface{ CloseWrite() error }

// CloseWrite half-closes the connection, as net/http does before it closes
// a connection whose request it did not read to the end.
func (c *guardConn) CloseWrite() error {
	if cw, ok := c.Conn.(closeWriter); ok {
		return cw.CloseWrite()
	}
	return nil
}

// How long, and how much, Close reads from a connection with a marked
// head before it closes it.
const (
	lingerTime  = 500 * time.Millisecond
	lingerBytes = 256 << 10
)

// Close closes the connection. After a marked head, the client may have
// sent more than net/http read (a smuggled request, a body): closing with
// unread bytes would reset the connection, and the client could lose the
// answer. So Close half-closes, reads and drops what comes until the
// client closes its side (at most lingerTime and lingerBytes), then
// closes.
func (c *guardConn) Close() error {
	if c.markAt.Load() == 0 {
		return c.Conn.Close()
	}
	_ = c.CloseWrite()
	_ = c.Conn.SetReadDeadline(time.Now().Add(lingerTime))
	_, _ = io.Copy(io.Discard, io.LimitReader(c.Conn, lingerBytes))
	return c.Conn.Close()
}

// guarded is what the handler asks of a connection.
type guarded interface{ guard() *guardConn }

func (c *guardConn) guard() *guardConn { return c }

// tlsGuardConn is a guarded TLS connection. net/http recognizes only a
// *tls.Conn as TLS; ConnectionState gives it the state for Request.TLS,
// finishing the handshake first (net/http asks before its first read).
type tlsGuardConn struct {
	*guardConn
	tc      *tls.Conn
	timeout time.Duration
}

// ConnectionState completes the handshake, within the listener's bound,
// and returns the TLS state.
func (c *tlsGuardConn) ConnectionState() tls.ConnectionState {
	if !c.tc.ConnectionState().HandshakeComplete {
		ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
		_ = c.tc.HandshakeContext(ctx) // a failed handshake fails the first read too
		cancel()
	}
	return c.tc.ConnectionState()
}

// guardKey is the context key of a request's guarded connection.
type guardKey struct{}

// guardContext is http.Server.ConnContext: it puts a guarded connection in
// the context of its requests.
func guardContext(ctx context.Context, c net.Conn) context.Context {
	if g, ok := c.(guarded); ok {
		return context.WithValue(ctx, guardKey{}, g.guard())
	}
	return ctx
}

// takeMark returns the mark of the next request on the connection of ctx,
// markNone when the request has none or came another way.
func takeMark(ctx context.Context) int32 {
	g, ok := ctx.Value(guardKey{}).(*guardConn)
	if !ok {
		return markNone
	}
	if g.served.Add(1) != g.markAt.Load() {
		return markNone
	}
	return g.mark.Load()
}

const guardBufSize = 4096

var guardBufs = sync.Pool{New: func() any { b := make([]byte, guardBufSize); return &b }}

// Read gives net/http the connection's bytes, each request head once the
// guard has read it.
func (c *guardConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		if c.off < len(c.out) {
			n := copy(p, c.out[c.off:])
			c.off += n
			if c.off == len(c.out) {
				c.out, c.off = c.out[:0], 0
			}
			return n, nil
		}
		switch c.mode {
		case modeClosed:
			return 0, io.EOF
		case modeRaw:
			if c.r < c.w {
				return c.take(p), nil
			}
			return c.Conn.Read(p)
		case modeBody:
			q := p
			if int64(len(q)) > c.remain {
				q = q[:c.remain]
			}
			var n int
			var err error
			if c.r < c.w {
				n = c.take(q)
			} else {
				n, err = c.Conn.Read(q)
			}
			c.remain -= int64(n)
			if c.remain == 0 {
				c.mode = modeHead
			}
			return n, err
		default:
			if c.parse() {
				continue
			}
			if err := c.fill(); err != nil {
				return 0, err
			}
		}
	}
}

// take copies buffered bytes to p and releases the buffer once empty.
func (c *guardConn) take(p []byte) int {
	n := copy(p, (*c.buf)[c.r:c.w])
	c.r += n
	c.release()
	return n
}

// release gives the buffer back when it holds nothing, so that an idle
// connection keeps none.
func (c *guardConn) release() {
	if c.buf != nil && c.r == c.w {
		c.r, c.w = 0, 0
		if len(*c.buf) == guardBufSize { // one grown for a long line is dropped
			guardBufs.Put(c.buf)
		}
		c.buf = nil
	}
}

// fill reads from the connection into the buffer, growing it for a line
// longer than it (parse gives up beyond the head limit).
func (c *guardConn) fill() error {
	if c.buf == nil {
		c.buf = guardBufs.Get().(*[]byte)
	}
	b := *c.buf
	if c.w == len(b) {
		if c.r > 0 {
			c.w = copy(b, b[c.r:c.w])
			c.r = 0
		} else {
			grown := make([]byte, 2*len(b))
			c.w = copy(grown, b[:c.w])
			c.buf = &grown
		}
		b = *c.buf
	}
	n, err := c.Conn.Read(b[c.w:])
	c.w += n
	if n > 0 || err == nil {
		return nil // parse what came; an error comes again on the next read
	}
	c.release()
	return err
}

// parse reads the complete lines of the buffer into the head; it reports
// whether there is output for net/http or the mode changed.
func (c *guardConn) parse() bool {
	for c.mode == modeHead && c.r < c.w {
		data := (*c.buf)[c.r:c.w]
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			if c.size+len(data) > c.limit {
				c.giveUp(nil)
			}
			break
		}
		line := data[:i+1]
		c.r += i + 1
		c.size += len(line)
		if c.size > c.limit {
			c.giveUp(line)
			break
		}
		c.line(line)
	}
	c.release()
	return c.mode != modeHead || c.off < len(c.out)
}

// giveUp passes the head so far and everything after it through: net/http
// answers 431 to a head over the limit.
func (c *guardConn) giveUp(line []byte) {
	c.out = append(c.out, c.held...)
	c.out = append(c.out, line...)
	c.mode = modeRaw
	c.resetHead()
}

// line takes one line of a head, "\n" included.
func (c *guardConn) line(line []byte) {
	text := line[:len(line)-1]
	if n := len(text); n > 0 && text[n-1] == '\r' {
		text = text[:n-1]
	}
	if !c.started {
		// Empty lines before the request line are net/http's to skip or
		// refuse.
		if len(text) > 0 {
			c.started = true
			_, rest, _ := bytes.Cut(text, []byte{' '})
			_, proto, _ := bytes.Cut(rest, []byte{' '})
			c.http10 = string(proto) == "HTTP/1.0"
		}
		c.out = append(c.out, line...)
		return
	}
	if len(text) > 0 && (text[0] == ' ' || text[0] == '\t') {
		// A folded continuation of the previous field, joined as
		// net/textproto joins it.
		if c.kind != 0 {
			c.held = append(c.held, line...)
			c.value = append(c.value, ' ')
			c.value = append(c.value, bytes.Trim(text, " \t")...)
			return
		}
		c.out = append(c.out, line...)
		return
	}
	c.endField()
	if len(text) == 0 {
		c.endHead(line)
		return
	}
	name, value, colon := bytes.Cut(text, []byte{':'})
	switch {
	case colon && asciiEqualFold(name, "content-length"):
		c.kind = fieldLength
	case colon && asciiEqualFold(name, "transfer-encoding"):
		c.kind = fieldCoding
	case colon && asciiEqualFold(name, "expect"):
		c.kind = fieldExpect
	default: // another field, or not one (net/http refuses the head)
		c.out = append(c.out, line...)
		return
	}
	c.held = append(c.held, line...)
	c.value = append(c.value[:0], bytes.Trim(value, " \t")...)
}

// endField counts the held field just read.
func (c *guardConn) endField() {
	v := bytes.TrimLeft(c.value, " \t")
	switch c.kind {
	case fieldLength:
		if c.lengths == 0 {
			c.length = append(c.length[:0], v...)
		} else if !bytes.Equal(c.length, v) {
			c.differ = true
		}
		c.lengths++
	case fieldCoding:
		if c.codings == 0 {
			c.chunked = asciiEqualFold(v, "chunked")
		}
		c.codings++
	case fieldExpect:
		if c.expects == 0 {
			c.expectNo = len(v) > 0 && !hasToken(v, "100-continue")
		}
		c.expects++
	}
	c.kind = 0
}

// endHead ends a head with its empty line, judges its framing and passes
// it on.
func (c *guardConn) endHead(blank []byte) {
	c.heads++
	mark := markNone
	var length uint64
	switch {
	case c.codings > 0 && (c.lengths > 0 || c.codings > 1 || !c.chunked || c.http10):
		mark = markBadFraming
	case c.lengths > 0:
		n, err := strconv.ParseUint(string(c.length), 10, 63)
		if err != nil || c.differ {
			mark = markBadFraming
		}
		length = n
	}
	if mark == markNone && c.expectNo {
		mark = markExpectFailed
	}
	switch {
	case mark != markNone:
		// net/http gets the head without its framing, so a request
		// without a body, and nothing after it.
		c.mode = modeClosed
		c.r = c.w
		// The buffer is released at the end: blank is in it.
		defer c.release()
	case c.codings > 0:
		mark = markClose
		c.mode = modeRaw
	case length > 0:
		c.mode, c.remain = modeBody, int64(length)
	}
	if mark != markNone {
		c.mark.Store(mark)
		c.markAt.Store(c.heads)
	}
	if mark == markNone || mark == markClose {
		c.out = append(c.out, c.held...)
	}
	c.out = append(c.out, blank...)
	c.resetHead()
}

func (c *guardConn) resetHead() {
	c.started, c.http10, c.size, c.held, c.kind = false, false, 0, c.held[:0], 0
	c.lengths, c.differ, c.codings, c.chunked, c.expects, c.expectNo = 0, false, 0, false, 0, false
}

// asciiEqualFold reports whether b is s (lower case) in any ASCII case.
func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// hasToken reports whether v holds token (lower case) as one of its comma
// or space separated tokens, in any ASCII case, as net/http decides
// whether a request expects 100-continue.
func hasToken(v []byte, token string) bool {
	for sp := 0; sp+len(token) <= len(v); sp++ {
		if sp > 0 && !isTokenBoundary(v[sp-1]) {
			continue
		}
		if end := sp + len(token); end != len(v) && !isTokenBoundary(v[end]) {
			continue
		}
		if asciiEqualFold(v[sp:sp+len(token)], token) {
			return true
		}
	}
	return false
}

func isTokenBoundary(b byte) bool { return b == ' ' || b == ',' || b == '\t' }

// marked answers a request whose head the guard marked, and reports
// whether it did; a request marked markClose is served, and its
// connection closes after the answer.
func (h *handler) marked(w http.ResponseWriter, r *http.Request, m int32) bool {
	hdr := w.Header()
	hdr["Connection"] = connClose
	if m == markClose {
		return false
	}
	hdr["X-Content-Type-Options"] = nosniff
	var err error = ErrBadFraming.New()
	if m == markExpectFailed {
		err = ErrExpectationFailed.New()
	}
	id, idh := requestID(r)
	hdr[canonRequestID] = idh
	h.writeError(w, r, log.ContextWithRequestID(r.Context(), id), id, err, false)
	return true
}

var connClose = []string{"close"}

// closeIfDraining makes an answer the last of its connection once the
// server drains (see [Server.Stop]); the handler calls it before it
// writes, so that an answer to a request that was in flight when the
// drain began says it too.
func (h *handler) closeIfDraining(w http.ResponseWriter) {
	if !h.ready.Load() {
		w.Header()["Connection"] = connClose
	}
}

// serverMethods answers CONNECT and OPTIONS * with 405 and the methods
// the server serves in Allow: no command is a tunnel, and OPTIONS is not
// served.
func (h *handler) serverMethods(w http.ResponseWriter, r *http.Request) {
	methods := slices.Clone(h.methods)
	for _, m := range []string{http.MethodGet, http.MethodHead} { // the probes and documents
		if !slices.Contains(methods, m) {
			methods = append(methods, m)
		}
	}
	slices.Sort(methods)
	allow := strings.Join(methods, ", ")
	id, idh := requestID(r)
	hdr := w.Header()
	hdr[canonRequestID] = idh
	hdr.Set("Allow", allow)
	method := r.Method
	if len(method) > 32 {
		method = method[:32]
	}
	h.writeError(w, r, log.ContextWithRequestID(r.Context(), id), id,
		ErrMethodNotAllowed.New(errs.P("method", method), errs.P("allow", allow)), false)
}
