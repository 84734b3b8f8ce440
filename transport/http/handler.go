package httptransport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"go.uber.org/zap"

	"github.com/wegomesh/wego/auth"
	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/events"
	"github.com/wegomesh/wego/log"
	"github.com/wegomesh/wego/middleware"
	"github.com/wegomesh/wego/transport"
)

// Header names of the WeGO protocol over HTTP: the metadata keys of
// package transport, which every transport shares.
const (
	// HeaderRequestID carries the request id both ways.
	HeaderRequestID = transport.HeaderRequestID
	// HeaderTimeout carries the caller's remaining time in milliseconds:
	// 1 to 8 ASCII digits, not zero, like grpc-timeout; the server runs
	// the command with that deadline, capped by max_timeout and the
	// command budget. Anything else, or the header twice, is a 400.
	HeaderTimeout = transport.HeaderTimeout
	// HeaderIdempotencyKey carries the client's idempotency key: the
	// server puts it in the request's context (idempotency.WithKey), for
	// the commands that accept keys, and remote routes send the key of
	// their call's context along. A value that is not 1 to 255 printable
	// ASCII characters, or a header given twice, is
	// idempotency.invalid_key (400), whatever the command.
	HeaderIdempotencyKey = transport.HeaderIdempotencyKey
)

// Canonical forms, for direct header map access.
var (
	canonRequestID       = http.CanonicalHeaderKey(HeaderRequestID)
	canonWWWAuthenticate = http.CanonicalHeaderKey("WWW-Authenticate")
)

// Shared header values; net/http only reads them.
var (
	jsonContentType = []string{"application/json; charset=utf-8"}
	bearerChallenge = []string{"Bearer"} // of every 401 answer
	nosniff         = []string{"nosniff"}
)

// handler serves one catalog: the commands' routes, the health and
// readiness probes, the OpenAPI and AsyncAPI documents and the listing.
type handler struct {
	core     *transport.Core // serves each command's request
	log      *zap.Logger
	maxBody  int64
	ready    *atomic.Bool
	engine   transport.Engine // host.Engine: not ready while it is disconnected
	mux      *http.ServeMux
	methods  []string // the methods some route serves, for Allow
	openapi  []byte
	asyncapi []byte
	listing  []byte
	patterns map[string]string // ServeMux pattern -> owner, for conflict errors
	limit    *limiter          // requests in flight, memory of large bodies
}

// NewHandler returns an http.Handler that serves the commands of
// host.Catalog that have a local function, with the "http" section of
// host.Config (when not nil) and opts; the listening options (Addr,
// Listener, timeouts, TLS, DrainDelay) have no effect, and the framing
// checks of [Server]'s connections are not made. It is for tests and for
// mounting WeGO in another server: it is always ready. It fails, naming
// the command, when a route is malformed, two routes conflict, or a
// request type cannot be bound to its route.
func NewHandler(host transport.Host, opts ...ServerOption) (http.Handler, error) {
	s, err := loadServerSettings(host.Config, opts)
	if err != nil {
		return nil, err
	}
	ready := new(atomic.Bool)
	ready.Store(true)
	return newHandler(host, s, ready)
}

func newHandler(host transport.Host, s *serverSettings, ready *atomic.Bool) (*handler, error) {
	core := transport.NewCore("http", host, transport.CoreLimits{CommandBudget: s.CommandBudget(), MaxTimeout: s.callerCap()})
	cat := core.Catalog()
	h := &handler{
		core: core, log: core.Logger(), maxBody: s.MaxBodyBytes, ready: ready, engine: host.Engine,
		mux: http.NewServeMux(), patterns: map[string]string{},
		limit: newLimiter(s.ConcurrencyLimit(), s.MemoryReleaseDelay),
	}
	var eps []*endpoint
	for _, e := range cat.Commands() {
		spec := e.Spec()
		r, ok := EndpointOf(spec)
		if !ok || !e.Local() || e.Routed() || spec.Kind == middleware.Event {
			continue // served where it runs (a routed command's server is elsewhere); events are not served
		}
		ep, err := newEndpoint(h, e, r)
		if err != nil {
			return nil, err
		}
		eps = append(eps, ep)
	}
	doc, err := openAPIDocument(host.Name, eps)
	if err != nil {
		return nil, err
	}
	h.openapi = doc
	if h.asyncapi, err = events.AsyncAPI(cat, host.Name); err != nil {
		return nil, err
	}
	h.listing = listing(host.Name, eps)

	builtin := []struct {
		pattern string
		h       http.HandlerFunc
	}{
		{"GET /healthz", h.healthz},
		{"GET /readyz", h.readyz},
		{"GET /openapi.json", h.serveOpenAPI},
		{"GET /asyncapi.json", h.serveAsyncAPI},
		{"GET /{$}", h.serveListing},
		{"/", h.fallback},
	}
	for _, b := range builtin {
		if err := h.handle(b.pattern, "the server's "+b.pattern, b.h); err != nil {
			return nil, err
		}
	}
	for _, ep := range eps {
		if err := h.handle(ep.route.String(), ep.name, ep); err != nil {
			return nil, err
		}
		if !slices.Contains(h.methods, ep.route.Method) {
			h.methods = append(h.methods, ep.route.Method)
			if ep.route.Method == http.MethodGet {
				h.methods = append(h.methods, http.MethodHead)
			}
		}
	}
	slices.Sort(h.methods)
	return h, nil
}

// handle registers a pattern, and turns ServeMux's panic on a malformed or
// conflicting pattern into an error that names both owners. It finds the
// other owner by asking ServeMux about each registered pattern in turn,
// never by reading the text of its panic.
func (h *handler) handle(pattern, owner string, hd http.Handler) error {
	if o, dup := h.patterns[pattern]; dup {
		return fmt.Errorf("httptransport: endpoint %q of %s is also the endpoint of %s", pattern, owner, o)
	}
	if err := muxHandle(h.mux, pattern, hd); err != nil {
		if muxHandle(http.NewServeMux(), pattern, hd) == nil { // valid alone: a conflict
			for _, p := range slices.Sorted(maps.Keys(h.patterns)) {
				pair := http.NewServeMux()
				if muxHandle(pair, p, hd) == nil && muxHandle(pair, pattern, hd) != nil {
					return fmt.Errorf("httptransport: endpoint %q of %s conflicts with %q of %s: both match some requests and neither is more specific (net/http.ServeMux's rule)",
						pattern, owner, p, h.patterns[p])
				}
			}
		}
		return fmt.Errorf("httptransport: endpoint %q of %s: %w", pattern, owner, err)
	}
	h.patterns[pattern] = owner
	return nil
}

// muxHandle registers pattern in m, returning ServeMux's panic as an error.
func muxHandle(m *http.ServeMux, pattern string, hd http.Handler) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(error); ok {
				err = e
			} else {
				err = fmt.Errorf("%v", r)
			}
		}
	}()
	m.Handle(pattern, hd)
	return nil
}

// ServeHTTP serves r. A panic outside a command (inside one, the endpoint
// recovers it) becomes a 500 for this request only.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if m := takeMark(r.Context()); m != markNone && h.marked(w, r, m) {
		return // the connection guard found the head unacceptable
	}
	h.closeIfDraining(w)
	h.serve(w, r)
}

// serve serves r once the connection guard has accepted it.
func (h *handler) serve(w http.ResponseWriter, r *http.Request) {
	// Every response of the transport is JSON (or empty): browsers must
	// not guess another type, for errors, successes and pages alike.
	w.Header()["X-Content-Type-Options"] = nosniff
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			id, _ := requestID(r)
			ctx := log.ContextWithRequestID(r.Context(), id)
			h.core.Panicked(ctx, id, transport.MD(r.Header), responder{h, w}, v)
		}
	}()
	if r.Method == http.MethodConnect || r.Method == http.MethodOptions && r.RequestURI == "*" {
		h.serverMethods(w, r) // neither names anything served here
		return
	}
	if !canonicalPath(r.URL.EscapedPath()) {
		// ServeMux would answer a redirect with an HTML body; a path with
		// "..", "." or "//" names nothing here.
		h.notFound(w, r)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// canonicalPath reports whether p, an escaped path, is clean, as ServeMux
// wants it: no empty, "." or ".." segments (a final slash is fine).
// Percent-encoded dots and slashes are data inside one segment, as
// ServeMux treats them.
func canonicalPath(p string) bool {
	if p == "" || p[0] != '/' {
		return p == "" // the empty path of "OPTIONS *" and similar
	}
	for seg := range strings.SplitSeq(p[1:], "/") {
		if seg == "." || seg == ".." {
			return false
		}
	}
	return !strings.Contains(p, "//")
}

func (h *handler) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header()["Content-Type"] = jsonContentType
	_, _ = io.WriteString(w, `{"status":"ok"}`)
}

func (h *handler) readyz(w http.ResponseWriter, _ *http.Request) {
	w.Header()["Content-Type"] = jsonContentType
	if !h.ready.Load() || h.engine != nil && !h.engine.Ready() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, `{"status":"not ready"}`)
		return
	}
	_, _ = io.WriteString(w, `{"status":"ready"}`)
}

func (h *handler) serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header()["Content-Type"] = jsonContentType
	_, _ = w.Write(h.openapi)
}

func (h *handler) serveAsyncAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header()["Content-Type"] = jsonContentType
	_, _ = w.Write(h.asyncapi)
}

func (h *handler) serveListing(w http.ResponseWriter, _ *http.Request) {
	w.Header()["Content-Type"] = jsonContentType
	_, _ = w.Write(h.listing)
}

// fallback answers what no route matches: 405 with Allow when the path is
// served for other methods, 404 otherwise, both as WeGO errors.
func (h *handler) fallback(w http.ResponseWriter, r *http.Request) {
	id, idh := requestID(r)
	w.Header()[canonRequestID] = idh
	ctx := log.ContextWithRequestID(r.Context(), id)
	if allow := h.allowed(r); len(allow) > 0 {
		a := strings.Join(allow, ", ")
		w.Header().Set("Allow", a)
		h.writeError(w, r, ctx, id, ErrMethodNotAllowed.New(errs.P("method", r.Method), errs.P("allow", a)), false)
		return
	}
	h.writeNotFound(w, r, ctx, id)
}

// notFound answers 404 as a WeGO error.
func (h *handler) notFound(w http.ResponseWriter, r *http.Request) {
	id, idh := requestID(r)
	w.Header()[canonRequestID] = idh
	h.writeNotFound(w, r, log.ContextWithRequestID(r.Context(), id), id)
}

func (h *handler) writeNotFound(w http.ResponseWriter, r *http.Request, ctx context.Context, id log.RequestID) {
	// errs cuts the path to errs.MaxParamBytes, as every value a client
	// sent; json.Marshal replaces invalid UTF-8.
	h.writeError(w, r, ctx, id, ErrNotFound.New(errs.P("path", r.URL.Path)), false)
}

// allowed returns the methods that some route serves at r's path.
func (h *handler) allowed(r *http.Request) []string {
	var allow []string
	for _, m := range h.methods {
		if m == r.Method {
			continue
		}
		probe := *r
		probe.Method = m
		if _, p := h.mux.Handler(&probe); p != "" && p != "/" {
			allow = append(allow, m)
		}
	}
	return allow
}

// requestID returns the id of r, from X-Request-Id when it is valid and
// new otherwise ([transport.RequestIDOf]), and the header value that
// echoes it: the request's own value, or the new id's text in one
// allocation.
func requestID(r *http.Request) (log.RequestID, []string) {
	id, given := transport.RequestIDOf(transport.MD(r.Header))
	if given {
		return id, r.Header[canonRequestID][:1:1]
	}
	h := new(idHeader)
	b := id.AppendTo(h.text[:0])
	h.value[0] = unsafe.String(unsafe.SliceData(b), len(b))
	return id, h.value[:]
}

// idHeader is the X-Request-Id value of a generated id: the one-string
// slice the header map holds and the text that string points into, in one
// allocation instead of two. Neither is written after requestID returns.
type idHeader struct {
	value [1]string
	text  [36]byte // a UUID's text
}

// writeError answers err as a WeGO error body and logs it unless logged
// is true ([transport.Core.Fail]).
func (h *handler) writeError(w http.ResponseWriter, r *http.Request, ctx context.Context, id log.RequestID, err error, logged bool) {
	h.core.Fail(ctx, id, transport.MD(r.Header), responder{h, w}, err, logged)
}

// responder answers the requests that the handler answers itself, and
// the errors of commands.
type responder struct {
	h *handler
	w http.ResponseWriter
}

// Reply is not used: the handler's own answers are errors.
func (rs responder) Reply(body []byte) { writeJSON(rs.h, rs.w, http.StatusOK, body) }

// Fail writes an error answer with the status of e; a 401 challenges the
// client to authenticate with a bearer token (RFC 6750), as RFC 9110 asks
// of every 401.
func (rs responder) Fail(e *errs.Error, body []byte) {
	rs.w.Header().Del("Content-Length")
	status := e.Status()
	if status == http.StatusUnauthorized {
		rs.w.Header()[canonWWWAuthenticate] = bearerChallenge
	}
	writeJSON(rs.h, rs.w, status, body)
}

// writeJSON writes a JSON answer.
func writeJSON(h *handler, w http.ResponseWriter, status int, body []byte) {
	h.closeIfDraining(w)
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// endpoint serves one command.
type endpoint struct {
	h         *handler
	cmd       *transport.Command
	spec      *middleware.Spec
	name      string
	route     Endpoint
	status    int  // success status
	noContent bool // 204: no body
	bodyless  bool // GET, HEAD, DELETE: no request body
	shape     *shape
	hasQuery  bool
}

// checkRoute validates the route, the success status and the request
// shape of a command, for the server and for the client alike.
func checkRoute(spec *middleware.Spec, r Endpoint) (*shape, int, error) {
	fail := func(format string, args ...any) (*shape, int, error) {
		return nil, 0, fmt.Errorf("httptransport: command %s: route %s: %s", spec.Name, r, fmt.Sprintf(format, args...))
	}
	switch r.Method {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		return fail("method %q is not supported", r.Method)
	}
	if !strings.HasPrefix(r.Path, "/") || strings.ContainsAny(r.Path, " \t\n?#") {
		return fail("the path must start with / and hold no spaces, query or fragment")
	}
	status := http.StatusOK
	if s, ok := SuccessStatusKey.Get(spec.Attributes); ok {
		if s < 200 || s > 299 {
			return fail("success status %d is not in 200-299", s)
		}
		status = s
	} else if transport.EmptyType(spec.Response) {
		status = http.StatusNoContent
	}
	sh, err := shapeOf(spec.Request)
	if err != nil {
		return fail("request %s: %v", spec.Request, err)
	}
	wild := pathWildcards(r.Path)
	for _, p := range sh.params {
		if p.in == inPath && !slices.Contains(wild, p.name) {
			return fail("field %s is tagged path:%q but the path has no {%s}", p.field, p.name, p.name)
		}
	}
	for _, w := range wild {
		if !slices.ContainsFunc(sh.params, func(p param) bool { return p.in == inPath && p.name == w }) {
			return fail("the request has no field tagged path:%q for {%s}", w, w)
		}
	}
	if bodyless(r.Method) && len(sh.body) > 0 {
		return fail("a %s request has no body, but fields %s are neither tagged path, query or header nor json:\"-\"",
			r.Method, strings.Join(sh.body, ", "))
	}
	return sh, status, nil
}

func newEndpoint(h *handler, e catalog.Entry, r Endpoint) (*endpoint, error) {
	spec := e.Spec()
	sh, status, err := checkRoute(spec, r)
	if err != nil {
		return nil, err
	}
	ep := &endpoint{
		h: h, cmd: h.core.Command(e), spec: spec, name: spec.Name, route: r,
		status: status, noContent: status == http.StatusNoContent,
		bodyless: bodyless(r.Method), shape: sh,
	}
	for _, p := range sh.params {
		if p.in == inQuery {
			ep.hasQuery = true
		}
	}
	return ep, nil
}

// reqBuf holds what one request needs besides the core's: its body and
// its exchange with the core; pooled.
type reqBuf struct {
	body []byte
	x    exchange
}

var reqBufs = sync.Pool{New: func() any { return &reqBuf{body: make([]byte, 0, 512)} }}

func putReqBuf(b *reqBuf) {
	b.x = exchange{}
	if cap(b.body) > transport.MaxPooledBuffer {
		return
	}
	b.body = b.body[:0]
	reqBufs.Put(b)
}

func (ep *endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, idh := requestID(r)
	w.Header()[canonRequestID] = idh
	rb := reqBufs.Get().(*reqBuf)
	defer putReqBuf(rb)
	x := &rb.x
	*x = exchange{ep: ep, w: w, r: r, rb: rb}
	defer func() {
		if x.admitted {
			ep.h.limit.release()
		}
	}()
	ctx := r.Context()
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && len(r.TLS.VerifiedChains[0]) > 0 {
		// A client certificate that the server's authorities verified:
		// the authentication middleware maps it to a service account.
		ctx = auth.ContextWithPeerCertificate(ctx, r.TLS.VerifiedChains[0][0])
	}
	ep.cmd.Serve(ctx, id, x)
	if x.gone {
		// No answer: the client disconnected or half-closed its
		// connection. The server chain's logging middleware logged the
		// call.
		panic(http.ErrAbortHandler)
	}
}

// exchange is one request of a command as the serving core sees it.
type exchange struct {
	ep       *endpoint
	w        http.ResponseWriter
	r        *http.Request
	rb       *reqBuf
	admitted bool // a slot of max_concurrent is taken
	gone     bool // the client went away; abort without an answer
}

var _ transport.Exchange = (*exchange)(nil)

// Metadata returns the request's headers.
func (x *exchange) Metadata() transport.Metadata { return transport.MD(x.r.Header) }

// Admit takes a slot of max_concurrent, or refuses the request with
// ErrOverloaded and Retry-After, logged once a second at most.
func (x *exchange) Admit() error {
	if !x.ep.h.limit.acquire() {
		return x.ep.h.overloaded(x.w)
	}
	x.admitted = true
	return nil
}

// Decode reads and decodes the body, then binds the path, query and
// headers.
func (x *exchange) Decode(req any) error {
	err := x.ep.decode(x.r, x.rb, req)
	x.ep.h.bodyRead(x.w, x.rb, err)
	return err
}

// Gone reports whether the request's context has ended: net/http ends it
// when the client disconnects or half-closes its connection.
func (x *exchange) Gone() bool {
	x.gone = x.r.Context().Err() != nil
	return x.gone
}

// Reply writes the success status and the body.
func (x *exchange) Reply(body []byte) {
	x.ep.h.closeIfDraining(x.w)
	if x.ep.noContent || body == nil {
		x.w.WriteHeader(x.ep.status)
		return
	}
	x.w.Header()["Content-Type"] = jsonContentType
	x.w.WriteHeader(x.ep.status)
	_, _ = x.w.Write(body)
}

// Fail writes an error answer with the status of e.
func (x *exchange) Fail(e *errs.Error, body []byte) { responder{x.ep.h, x.w}.Fail(e, body) }

// decode fills req from r's body, path, query and headers.
func (ep *endpoint) decode(r *http.Request, rb *reqBuf, req any) error {
	body, err := readBody(r, rb.body, ep.h.maxBody)
	rb.body = body
	if err != nil {
		return err
	}
	if len(body) > 0 && ep.bodyless {
		return reasonBodyNotAllowed.Invalid("body", "method", r.Method)
	}
	if err := ep.cmd.DecodeBody(r.Header["Content-Type"], body, req); err != nil {
		return err
	}
	if len(ep.shape.params) == 0 {
		return nil
	}
	rv := reflect.ValueOf(req).Elem()
	var query url.Values
	if ep.hasQuery {
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			return reasonBadQuery.Invalid("query").WithCause(err)
		}
		query = q
	}
	var bad []errs.FieldViolation
	for i := range ep.shape.params {
		p := &ep.shape.params[i]
		var vals []string
		switch p.in {
		case inPath:
			vals = []string{r.PathValue(p.name)}
		case inQuery:
			vals = query[p.name]
		case inHeader:
			vals = r.Header[p.name]
		}
		if len(vals) == 0 {
			continue
		}
		f := rv.FieldByIndex(p.index)
		if !p.multi {
			if len(vals) > 1 {
				bad = append(bad, reasonGivenOnce.At(p.name))
				continue
			}
			if err := p.conv.set(f, vals[0]); err != nil {
				bad = append(bad, p.conv.reason.At(p.name))
			}
			continue
		}
		s := reflect.MakeSlice(p.typ, len(vals), len(vals))
		for j, v := range vals {
			if err := p.conv.set(s.Index(j), v); err != nil {
				bad = append(bad, p.conv.list.At(p.name))
				break
			}
		}
		f.Set(s)
	}
	if len(bad) > 0 {
		return errs.InvalidArgument(bad...)
	}
	return nil
}

// readBody reads r's body into buf, up to max bytes; a larger body is
// ErrBodyTooLarge (without reading it all when Content-Length says so).
func readBody(r *http.Request, buf []byte, max int64) ([]byte, error) {
	buf = buf[:0]
	if r.ContentLength > max {
		return buf, ErrBodyTooLarge.New(errs.P("limit", max))
	}
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return buf, nil
	}
	if r.ContentLength > 0 && int64(cap(buf)) < r.ContentLength+1 {
		buf = make([]byte, 0, r.ContentLength+1)
	}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		window := buf[len(buf):cap(buf)]
		if room := max + 1 - int64(len(buf)); int64(len(window)) > room {
			window = window[:room]
		}
		n, err := r.Body.Read(window)
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > max {
			return buf[:0], ErrBodyTooLarge.New(errs.P("limit", max))
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			// net/http cancels the request's context on any read error, so
			// the context says nothing here; a timeout is read_timeout's.
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return buf, ErrRequestTimeout.New().WithCause(err)
			}
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return buf[:0], ErrBodyTooLarge.New(errs.P("limit", max))
			}
			return buf, reasonUnreadable.Invalid("body").WithCause(err)
		}
	}
}
