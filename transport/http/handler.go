package httptransport

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/codec"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/i18n"
	"github.com/wegomesh/wego/log"
	"github.com/wegomesh/wego/middleware"
	"github.com/wegomesh/wego/middleware/idempotency"
	"github.com/wegomesh/wego/transport"
)

// Header names of the WeGO HTTP protocol.
const (
	// HeaderRequestID carries the request id both ways.
	HeaderRequestID = "X-Request-Id"
	// HeaderTimeout carries the caller's remaining time in milliseconds:
	// 1 to 8 ASCII digits, not zero, like grpc-timeout; the server runs
	// the command with that deadline, capped by max_timeout and the
	// command budget. Anything else, or the header twice, is a 400.
	HeaderTimeout = "X-Wego-Timeout"
	// HeaderIdempotencyKey carries the client's idempotency key: the
	// server puts it in the request's context (idempotency.WithKey), for
	// the commands that accept keys, and remote routes send the key of
	// their call's context along. A value that is not 1 to 255 printable
	// ASCII characters, or a header given twice, is
	// idempotency.invalid_key (400), whatever the command.
	HeaderIdempotencyKey = idempotency.Header
)

// Canonical forms, for direct header map access.
var (
	canonRequestID = http.CanonicalHeaderKey(HeaderRequestID)
	canonTimeout   = http.CanonicalHeaderKey(HeaderTimeout)
	canonIdemKey   = http.CanonicalHeaderKey(HeaderIdempotencyKey)
)

// Shared header values; net/http only reads them.
var (
	jsonContentType = []string{"application/json; charset=utf-8"}
	nosniff         = []string{"nosniff"}
)

// handler serves one catalog: the commands' routes, the health and
// readiness probes, the OpenAPI document and the listing.
type handler struct {
	cat      *catalog.Catalog
	scoped   bool // carry cat in request contexts (it is not catalog.Default)
	log      *zap.Logger
	i18n     *i18n.Bundle
	maxBody  int64
	maxWait  time.Duration // cap of X-Wego-Timeout, 0 for none
	budget   time.Duration // of each command (http.command_timeout), 0 for none
	ready    *atomic.Bool
	mux      *http.ServeMux
	methods  []string // the methods some route serves, for Allow
	openapi  []byte
	listing  []byte
	patterns map[string]string      // ServeMux pattern -> owner, for conflict errors
	props    []transport.Propagator // host.Propagators, extracted from each command's request
	hooks    []transport.ServerHook // host.ServerHooks around each command's request
	limit    *limiter               // requests in flight, memory of large bodies
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
	cat := host.Catalog
	if cat == nil {
		cat = catalog.Default
	}
	logger := host.Logger
	if logger == nil {
		logger = zap.NewNop()
	}
	h := &handler{
		cat: cat, scoped: cat != catalog.Default, log: logger, i18n: host.I18n,
		maxBody: s.MaxBodyBytes, maxWait: s.callerCap(), budget: s.CommandBudget(), ready: ready,
		mux: http.NewServeMux(), patterns: map[string]string{},
		limit: newLimiter(s.ConcurrencyLimit(), s.MemoryReleaseDelay),
	}
	var eps []*endpoint
	for _, e := range cat.Commands() {
		spec := e.Spec()
		r, ok := EndpointOf(spec)
		if !ok || !e.Local() || e.Routed() {
			continue // served where it runs: a routed command's server is elsewhere
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
	h.props = slices.DeleteFunc(slices.Clone(host.Propagators), func(p transport.Propagator) bool { return p == nil })
	h.hooks = slices.DeleteFunc(slices.Clone(host.ServerHooks), func(f transport.ServerHook) bool { return f == nil })
	h.listing = listing(host.Name, eps)

	builtin := []struct {
		pattern string
		h       http.HandlerFunc
	}{
		{"GET /healthz", h.healthz},
		{"GET /readyz", h.readyz},
		{"GET /openapi.json", h.serveOpenAPI},
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
			h.panicked(w, r, ctx, id, v)
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
	if !h.ready.Load() {
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
// new otherwise, and the header value that echoes it.
func requestID(r *http.Request) (log.RequestID, []string) {
	if v := r.Header[canonRequestID]; len(v) > 0 {
		if id, err := log.ParseRequestID(v[0]); err == nil {
			return id, v[:1:1]
		}
	}
	id := log.NewRequestID()
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

// errorBody is the JSON body of every error response.
type errorBody struct {
	Code      string                `json:"code"`
	Message   string                `json:"message"`
	RequestID string                `json:"request_id,omitempty"`
	Params    map[string]string     `json:"params,omitempty"`
	Fields    []errs.FieldViolation `json:"fields,omitempty"`
}

// writeError writes err as a WeGO error body; the client sees only the
// code, the message and the reasons of the field violations localized in
// the language of Accept-Language, the client-safe parameters and the
// field violations.
//
// Unless logged is true, the failure is logged here, with its status, code,
// method, request id and the error's text (internal parameters and cause
// included, cut to maxLoggedError bytes): server faults (5xx) at error
// level, others at debug. logged is true for the failures that another line reports: a
// panic (logged with its stack) and an error returned by the command's
// server chain, which the logging middleware reports as the call's line,
// so that each failed request is logged once.
func (h *handler) writeError(w http.ResponseWriter, r *http.Request, ctx context.Context, id log.RequestID, err error, logged bool) {
	h.closeIfDraining(w)
	e := errs.From(err)
	status := e.Status()
	if missing := e.MissingParams(); missing != nil {
		// A call site forgot a parameter of the message: the client reads
		// a gap where the value should be. Say which, for the developer.
		var buf [6]zap.Field
		fields := log.AppendFields(ctx, buf[:0])
		fields = append(fields, zap.String("code", e.Code()), zap.Strings("missing", missing))
		h.log.Warn("http: error message lacks parameters", fields...)
	}
	if !logged {
		level := zapcore.DebugLevel
		if status >= 500 && e.Kind() != errs.KindCanceled {
			level = zapcore.ErrorLevel
		}
		if ce := h.log.Check(level, "http: request failed"); ce != nil {
			var buf [6]zap.Field
			fields := log.AppendFields(ctx, buf[:0])
			fields = append(fields, zap.Int("status", status), zap.String("code", e.Code()),
				zap.String("method", r.Method), zap.String("error", errs.Truncate(err.Error(), maxLoggedError)))
			ce.Write(fields...)
		}
	}
	lang := r.Header.Values("Accept-Language")
	body := errorBody{
		Code:      e.Code(),
		Message:   h.i18n.Localize(e, lang...),
		RequestID: id.String(),
		Params:    e.WireParams(),
		Fields:    h.i18n.LocalizeFields(e, lang...),
	}
	b, jerr := json.Marshal(body)
	if jerr != nil { // not with these types; a last resort without details
		b = []byte(`{"code":"internal","message":"An internal error occurred."}`)
		status = http.StatusInternalServerError
	}
	hdr := w.Header()
	hdr["Content-Type"] = jsonContentType
	hdr.Del("Content-Length")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// panicked logs a recovered panic with its stack and answers 500.
func (h *handler) panicked(w http.ResponseWriter, r *http.Request, ctx context.Context, id log.RequestID, v any) {
	var buf [6]zap.Field
	fields := log.AppendFields(ctx, buf[:0])
	fields = append(fields, zap.String("panic", fmt.Sprint(v)), zap.ByteString("stack", debug.Stack()))
	h.log.Error("http: panic serving request", fields...)
	h.writeError(w, r, ctx, id, errs.Internal().WithCause(fmt.Errorf("panic: %v", v)), true)
}

// endpoint serves one command.
type endpoint struct {
	h         *handler
	entry     catalog.Entry
	spec      *middleware.Spec
	name      string
	route     Endpoint
	status    int  // success status
	noContent bool // 204: no body
	bodyless  bool // GET, HEAD, DELETE: no request body
	shape     *shape
	json      *codec.JSONType
	enc       *codec.Plan // a one-pass response encoder, or nil
	hasQuery  bool
	reqs      sync.Pool // *Req
	resps     sync.Pool // *Resp
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
	} else if isEmpty(spec.Response) {
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

// isEmpty reports whether values of t encode to nothing worth sending: a
// struct without fields (struct{}).
func isEmpty(t reflect.Type) bool {
	return t != nil && t.Kind() == reflect.Struct && t.NumField() == 0
}

func newEndpoint(h *handler, e catalog.Entry, r Endpoint) (*endpoint, error) {
	spec := e.Spec()
	sh, status, err := checkRoute(spec, r)
	if err != nil {
		return nil, err
	}
	ep := &endpoint{
		h: h, entry: e, spec: spec, name: spec.Name, route: r,
		status: status, noContent: status == http.StatusNoContent,
		bodyless: bodyless(r.Method), shape: sh, json: codec.TypeOf(spec.Request),
	}
	for _, p := range sh.params {
		if p.in == inQuery {
			ep.hasQuery = true
		}
	}
	if !ep.noContent && spec.Response != nil {
		ep.enc = codec.PlanOf(spec.Response)
	}
	ep.reqs.New = func() any { return e.NewRequest() }
	ep.resps.New = func() any { return e.NewResponse() }
	return ep, nil
}

// reqBuf holds the buffers of one request; pooled.
type reqBuf struct {
	body []byte
	sc   codec.Scanner
	out  bytes.Buffer
	enc  *json.Encoder
	resp []byte // the response, when a codec.Plan encodes it
}

var reqBufs = sync.Pool{New: func() any {
	b := &reqBuf{body: make([]byte, 0, 512), resp: make([]byte, 0, 256)}
	b.enc = json.NewEncoder(&b.out)
	return b
}}

// maxPooledBuffer is the largest buffer that goes back to the pool; bigger
// ones, from rare large requests, are left to the garbage collector.
const maxPooledBuffer = 64 << 10

func putReqBuf(b *reqBuf) {
	if cap(b.body) > maxPooledBuffer || b.out.Cap() > maxPooledBuffer || cap(b.resp) > maxPooledBuffer {
		return
	}
	b.body = b.body[:0]
	b.resp = b.resp[:0]
	b.out.Reset()
	reqBufs.Put(b)
}

// zero sets the value p points to to its zero value, so that it can be
// pooled without keeping what a request put in it.
func zero(p any) { reflect.ValueOf(p).Elem().SetZero() }

func (ep *endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, idh := requestID(r)
	w.Header()[canonRequestID] = idh
	ctx := log.ContextWithCommand(r.Context(), id, ep.name)
	var answered error // the error the client gets, for the host's hooks
	if len(ep.h.props)+len(ep.h.hooks) > 0 {
		var end func(error)
		ctx, end = ep.h.around(ctx, ep.spec, r.Header)
		defer func() { end(answered) }()
	}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				answered = errs.Canceled()
				panic(v)
			}
			answered = errs.Internal()
			ep.h.panicked(w, r, ctx, id, v)
		}
	}()
	if !ep.h.limit.acquire() {
		answered = ErrOverloaded.New()
		ep.h.overloaded(w, r, ctx, id)
		return
	}
	defer ep.h.limit.release()
	if ep.h.scoped {
		ctx = catalog.NewContext(ctx, ep.h.cat)
	}
	if v := r.Header[canonIdemKey]; len(v) > 0 {
		if len(v) > 1 || !idempotency.ValidKey(v[0]) {
			answered = idempotency.ErrInvalidKey.New()
			ep.h.writeError(w, r, ctx, id, answered, false)
			return
		}
		ctx = idempotency.WithKey(ctx, v[0])
	}
	// The command's time: its budget here, and the caller's deadline.
	dl, ok := ep.h.deadline(r)
	if !ok {
		answered = reasonTimeoutInvalid.invalid(HeaderTimeout)
		ep.h.writeError(w, r, ctx, id, answered, false)
		return
	}
	if c, cancel := withDeadlines(ctx, dl); cancel != nil {
		ctx = c
		defer cancel()
	}

	rb := reqBufs.Get().(*reqBuf)
	defer putReqBuf(rb)
	req := ep.reqs.Get()
	defer func() { zero(req); ep.reqs.Put(req) }()

	err := ep.decode(r, rb, req)
	ep.h.bodyRead(w, rb, err)
	if err != nil {
		answered = err
		ep.h.writeError(w, r, ctx, id, err, false)
		return
	}
	resp := ep.resps.Get()
	defer func() { zero(resp); ep.resps.Put(resp) }()
	if err := ep.entry.Serve(ctx, req, resp); err != nil {
		// The server chain's logging middleware reports the call.
		answered = ep.h.canceled(r, ctx, err)
		ep.h.writeError(w, r, ctx, id, answered, true)
		return
	}
	ep.h.closeIfDraining(w)
	hdr := w.Header()
	if ep.noContent {
		w.WriteHeader(ep.status)
		return
	}
	out, ok := rb.resp, false
	if ep.enc != nil {
		out, ok = ep.enc.Encode(rb.resp[:0], resp)
		rb.resp = out[:0]
	}
	if !ok {
		if err := rb.enc.Encode(resp); err != nil {
			answered = errs.Internal().WithCause(fmt.Errorf("encoding the response: %w", err))
			ep.h.writeError(w, r, ctx, id, answered, false)
			return
		}
		out = rb.out.Bytes()
	}
	hdr["Content-Type"] = jsonContentType
	w.WriteHeader(ep.status)
	_, _ = w.Write(out)
}

// around extracts the host's propagators from a command's request and
// starts its server hooks, outermost first; the function it returns ends
// the hooks, innermost first, with the error the client was answered with.
func (h *handler) around(ctx context.Context, spec *middleware.Spec, hd http.Header) (context.Context, func(error)) {
	md := transport.HeaderCarrier(hd)
	for _, p := range h.props {
		ctx = p.Extract(ctx, md)
	}
	req := transport.ServerRequest{Transport: "http", Spec: spec, Metadata: md}
	ends := make([]func(error), 0, len(h.hooks))
	for _, hook := range h.hooks {
		var end func(error)
		if ctx, end = hook(ctx, req); end != nil {
			ends = append(ends, end)
		}
	}
	return ctx, func(err error) {
		for i := len(ends) - 1; i >= 0; i-- {
			ends[i](err)
		}
	}
}

// decode fills req from r's body, path, query and headers.
func (ep *endpoint) decode(r *http.Request, rb *reqBuf, req any) error {
	body, err := readBody(r, rb.body, ep.h.maxBody)
	rb.body = body
	if err != nil {
		return err
	}
	if len(body) > 0 {
		if ep.bodyless {
			return reasonBodyNotAllowed.invalid("body", "method", r.Method)
		}
		if !isJSON(r.Header["Content-Type"]) {
			return unsupportedType(r)
		}
		if e := codec.DecodeStrict(body, req, ep.json, &rb.sc); e != nil {
			return e
		}
	} else if ct := r.Header["Content-Type"]; len(ct) > 0 && ct[0] != "" && !isJSON(ct) {
		return unsupportedType(r)
	}
	if len(ep.shape.params) == 0 {
		return nil
	}
	rv := reflect.ValueOf(req).Elem()
	var query url.Values
	if ep.hasQuery {
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			return reasonBadQuery.invalid("query").WithCause(err)
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
				bad = append(bad, reasonGivenOnce.at(p.name))
				continue
			}
			if err := p.conv.set(f, vals[0]); err != nil {
				bad = append(bad, p.conv.reason.at(p.name))
			}
			continue
		}
		s := reflect.MakeSlice(p.typ, len(vals), len(vals))
		for j, v := range vals {
			if err := p.conv.set(s.Index(j), v); err != nil {
				bad = append(bad, p.conv.list.at(p.name))
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

func unsupportedType(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if len(ct) > 128 {
		ct = ct[:128]
	}
	// The value as sent (the message quotes it), cut and made valid UTF-8
	// so that it can travel in a JSON body; "" when there is none.
	return ErrUnsupportedMediaType.New(errs.P("content_type", strings.ToValidUTF8(ct, "")))
}

// isJSON reports whether a Content-Type header is application/json, with
// at most a charset parameter that says UTF-8.
func isJSON(v []string) bool {
	if len(v) != 1 {
		return false
	}
	ct := v[0]
	if ct == "application/json" || strings.EqualFold(ct, "application/json; charset=utf-8") {
		return true
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return false
	}
	for k, val := range params {
		if k != "charset" || !strings.EqualFold(val, "utf-8") {
			return false
		}
	}
	return true
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
			return buf, reasonUnreadable.invalid("body").WithCause(err)
		}
	}
}
