package bdd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cucumber/godog"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/codec"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/events"
	"github.com/wegomesh/wego/i18n"
	"github.com/wegomesh/wego/log"
	"github.com/wegomesh/wego/middleware"
	"github.com/wegomesh/wego/middleware/audit"
	"github.com/wegomesh/wego/transport"
	httptransport "github.com/wegomesh/wego/transport/http"
)

// World is the state of one scenario. Every scenario gets a fresh World:
// a clone of the base catalog, its own logs, audit records, recorded calls,
// HTTP handler and last response, so that scenarios do not see one
// another's fakes or results and may run in any order.
//
// The exported fields are set before any step or [Setup] function runs
// and never change during the scenario; read them inside step functions.
type World struct {
	// Catalog is this scenario's copy of the base catalog (see [Catalog]).
	// Replacements made in it are gone when the scenario ends. Its
	// dependencies start with the base catalog's values, which are shared:
	// replace stateful ones (an in-memory store) in a [Setup] function or
	// with a named fake (see [Fakes]) to keep scenarios apart.
	Catalog *catalog.Catalog
	// I18n localizes error messages for the error steps and the default
	// HTTP handler (see [I18n]).
	I18n *i18n.Bundle
	// Logger writes, at every level from debug up, to Logs. Calls made by
	// the steps carry it in their context (log.FromContext), and the
	// default HTTP handler logs to it; pass it to middleware that take a
	// logger, such as logging.WithLogger.
	Logger *zap.Logger
	// Logs holds what Logger wrote during the scenario.
	Logs *observer.ObservedLogs
	// Audit records the audit records written during the scenario: make
	// it the sink of the audit middleware (audit.WithSink(w.Audit)).
	Audit *AuditRecorder

	suite    *Suite
	scenario string
	ctx      context.Context
	cleanups []func()
	step     *godog.Step // the step running, for its doc string or table

	mu     sync.Mutex
	calls  []Call  // every call of a command in this scenario, in order
	events []Event // every event published in this scenario, in order
	bus    *events.Bus

	handler http.Handler // built on the first HTTP step
	baseURL string       // set by "the service at"
	headers http.Header  // sent with every request of the scenario
	last    *Response    // the last response, of a call or a request
}

// Response is the outcome of the last call or HTTP request of a scenario,
// which the response and error steps check.
type Response struct {
	// Status is the HTTP status of a response to a request, or, for a
	// call of a command, 200 when it succeeded and the error's status when
	// it failed.
	Status int
	// Header holds the response headers of a request; nil for a call.
	Header http.Header
	// Body is the JSON response: the response value of a call that
	// succeeded, or the body of an HTTP response (an error body for an
	// error status). Empty for a failed call and for a response without a
	// body.
	Body []byte
	// Err is the error of a failed call, or the error rebuilt from the
	// error body of an HTTP response with an error status.
	Err *errs.Error
}

// Call is a call of a command recorded during a scenario: the steps
// "... was called ..." check them.
type Call struct {
	// Command is the command's name.
	Command string
	// Request is the request, encoded as JSON when the call was made.
	Request json.RawMessage
}

// Event is an event published during a scenario: the steps "an event ...
// was published ..." check them. What subscribers received are recorded
// as calls of the subscribers (see [World.Calls]).
type Event struct {
	// Topic is the topic's name.
	Topic string
	// Payload is the event's value, encoded as JSON when it was published.
	Payload json.RawMessage
}

// Context returns the scenario's context: it carries the scenario's catalog
// (catalog.NewContext) and logger (log.WithLogger), so that typed handles
// from catalog.Default reach the scenario's copy. It is canceled when the
// scenario ends.
func (w *World) Context() context.Context {
	if w.ctx == nil {
		return catalog.NewContext(log.WithLogger(context.Background(), w.Logger), w.Catalog)
	}
	return w.ctx
}

// Scenario returns the name of the scenario.
func (w *World) Scenario() string { return w.scenario }

// Cleanup registers f to run when the scenario ends, after its last step,
// in the reverse order of registration, like testing.T.Cleanup.
func (w *World) Cleanup(f func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.cleanups = append(w.cleanups, f)
}

// Calls returns the recorded calls of the command named name, or of every
// command when name is empty, in the order they were made. A call is
// recorded where the command's function (or fake) runs, innermost in the
// server chain, so calls that a middleware stopped are not in it, and
// commands with a remote route are recorded only when a fake replaces them.
func (w *World) Calls(name string) []Call {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []Call
	for _, c := range w.calls {
		if name == "" || c.Command == name {
			out = append(out, c)
		}
	}
	return out
}

// Events returns the events published on the topic named topic, or on
// every topic when topic is empty, in the order they were published. An
// event is recorded once its publish succeeded, innermost in the topic's
// client chain, so a publish that a middleware stopped or that failed is
// not in it; an event published to a topic that a fake replaces is.
func (w *World) Events(topic string) []Event {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []Event
	for _, e := range w.events {
		if topic == "" || e.Topic == topic {
			out = append(out, e)
		}
	}
	return out
}

// Response returns the outcome of the last call or HTTP request, or nil
// when the scenario has made none.
func (w *World) Response() *Response {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last
}

// Invoke calls the command name with a request decoded from the JSON
// document req by codec's strict rules, as the HTTP transport decodes a
// body (a key that is not exactly a field's JSON name or that is given
// twice is an error), and records the outcome as the last response, as
// the step "I call ... with:" does. It
// returns an error only when the call cannot be made: an unknown command
// or a request that does not decode. The call's own failure is in
// [World.Response].
func (w *World) Invoke(name string, req []byte) error {
	e, ok := w.Catalog.Entry(name)
	if !ok {
		return fmt.Errorf("no command %q in the catalog (it has %s)", name, commandNames(w.Catalog))
	}
	r := e.NewRequest()
	if len(bytes.TrimSpace(req)) > 0 {
		if err := codec.Unmarshal(req, r); err != nil {
			return fmt.Errorf("the request of %s does not decode into %v: %w", name, e.Spec().Request, jsonError{err})
		}
	}
	resp := e.NewResponse()
	err := e.Invoke(w.Context(), r, resp)
	out := &Response{Status: http.StatusOK}
	if err != nil {
		out.Err = errs.From(err)
		out.Status = out.Err.Status()
	} else {
		b, jerr := json.Marshal(resp)
		if jerr != nil {
			return fmt.Errorf("encoding the response of %s: %w", name, jerr)
		}
		out.Body = b
	}
	w.setLast(out)
	return nil
}

// Send sends r to the application — its HTTP handler, or the service set
// with the step `the service at "..."` — with the scenario's request
// headers added, and records the response as the last response, so that
// the response steps check it. Custom steps use it for requests the
// built-in steps cannot express. r's context is replaced by the scenario's.
func (w *World) Send(r *http.Request) error {
	for k, vs := range w.headers {
		if _, set := r.Header[k]; !set {
			r.Header[k] = slices.Clone(vs)
		}
	}
	r = r.WithContext(w.Context())
	var (
		status int
		header http.Header
		body   []byte
	)
	if w.baseURL != "" {
		u, err := url.Parse(strings.TrimSuffix(w.baseURL, "/") + r.URL.RequestURI())
		if err != nil {
			return fmt.Errorf("the service URL %q: %w", w.baseURL, err)
		}
		r.URL, r.Host = u, ""
		r.RequestURI = ""
		resp, err := w.suite.cfg.client.Do(r)
		if err != nil {
			return fmt.Errorf("%s %s: %w", r.Method, r.URL, err)
		}
		defer resp.Body.Close()
		body, err = io.ReadAll(resp.Body)
		if err != nil {
			return fmt.Errorf("%s %s: reading the body: %w", r.Method, r.URL, err)
		}
		status, header = resp.StatusCode, resp.Header
	} else {
		h, err := w.httpHandler()
		if err != nil {
			return err
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		status, header, body = rec.Code, rec.Header(), rec.Body.Bytes()
	}
	out := &Response{Status: status, Header: header, Body: body}
	if status >= 400 {
		out.Err = errorFromBody(status, body)
	}
	w.setLast(out)
	return nil
}

func (w *World) setLast(r *Response) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.last = r
}

// httpHandler returns the scenario's handler, building it on first use so
// that the fakes of the steps before are in place (a command that only a
// fake makes local gets a route).
func (w *World) httpHandler() (http.Handler, error) {
	if w.handler != nil {
		return w.handler, nil
	}
	build := w.suite.cfg.handler
	if build == nil {
		build = defaultHandler
	}
	h, err := build(w)
	if err != nil {
		return nil, fmt.Errorf("building the HTTP handler: %w", err)
	}
	if h == nil {
		return nil, errors.New("building the HTTP handler: the Handler function returned nil")
	}
	w.handler = h
	return h, nil
}

// defaultHandler serves w's catalog with the HTTP transport.
func defaultHandler(w *World) (http.Handler, error) {
	return httptransport.NewHandler(transport.Host{
		Name: "bdd", Catalog: w.Catalog, Logger: w.Logger, I18n: w.I18n,
	})
}

// errorFromBody rebuilds the error of a WeGO error body, so that its
// message can be localized in any language: from the code's definition
// with the parameters received when this process defines the code, from
// what was received otherwise.
func errorFromBody(status int, body []byte) *errs.Error {
	var b struct {
		Code    string                `json:"code"`
		Message string                `json:"message"`
		Params  map[string]string     `json:"params"`
		Fields  []errs.FieldViolation `json:"fields"`
	}
	if err := json.Unmarshal(body, &b); err != nil || b.Code == "" {
		return errs.Remote(status, "", strings.TrimSpace(string(body)), nil, nil)
	}
	keys := make([]string, 0, len(b.Params))
	for k := range b.Params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	params := make([]errs.Param, 0, len(keys))
	for _, k := range keys {
		params = append(params, errs.P(k, b.Params[k]))
	}
	if def, ok := errs.Lookup(b.Code); ok {
		var e *errs.Error
		if len(b.Fields) > 0 && def.Kind() == errs.KindInvalidArgument && b.Code == errs.InvalidArgument().Code() {
			e = errs.InvalidArgument(b.Fields...).WithParams(params...)
		} else {
			e = def.New(params...).WithFields(b.Fields...)
		}
		if e.Status() != status {
			e = e.WithStatus(status)
		}
		return e
	}
	return errs.Remote(status, b.Code, b.Message, params, b.Fields)
}

// AuditRecorder is an audit sink (audit.Sink) that keeps the records in
// memory, for the audit steps. Every World has one; make it the sink of
// the audit middleware in a [Setup] function:
//
//	a, err := audit.New(audit.DefaultConfig(), audit.WithSink(w.Audit))
//
// It is safe for concurrent use.
type AuditRecorder struct {
	mu      sync.Mutex
	records []audit.Record
	closed  bool
}

// Write keeps a copy of r. It fails after Close, as the Sink contract asks.
func (a *AuditRecorder) Write(_ context.Context, r *audit.Record) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return audit.ErrClosed
	}
	a.records = append(a.records, *r.Clone())
	return nil
}

// Close makes later writes fail. Records written before stay readable.
func (a *AuditRecorder) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closed = true
	return nil
}

// Records returns copies of the records written so far, in order.
func (a *AuditRecorder) Records() []audit.Record {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.records)
}

// spy records every call of a command in the world: it is the innermost
// server middleware of the scenario's catalog.
type spy struct{ w *World }

func (s spy) Wrap(spec *middleware.Spec, next middleware.Handler) middleware.Handler {
	name := spec.Name
	return func(ctx context.Context, c *middleware.Call) error {
		b, err := json.Marshal(c.Request)
		if err != nil {
			b, _ = json.Marshal(fmt.Sprintf("unencodable request: %v", err))
		}
		s.w.mu.Lock()
		s.w.calls = append(s.w.calls, Call{Command: name, Request: b})
		s.w.mu.Unlock()
		return next(ctx, c)
	}
}

// publications records every event published in the world: it is the
// innermost client middleware of the scenario's catalog, and records only
// topics (middleware.Event kind, client side).
type publications struct{ w *World }

func (p publications) Wrap(spec *middleware.Spec, next middleware.Handler) middleware.Handler {
	if spec.Kind != middleware.Event {
		return next
	}
	name := spec.Name
	return func(ctx context.Context, c *middleware.Call) error {
		if err := next(ctx, c); err != nil {
			return err
		}
		b, err := json.Marshal(c.Request)
		if err != nil {
			b, _ = json.Marshal(fmt.Sprintf("unencodable event: %v", err))
		}
		p.w.mu.Lock()
		p.w.events = append(p.w.events, Event{Topic: name, Payload: b})
		p.w.mu.Unlock()
		return nil
	}
}

// newWorld makes the world of one scenario.
func newWorld(s *Suite) *World {
	core, logs := observer.New(zapcore.DebugLevel)
	w := &World{
		Catalog: s.cfg.base.Clone(),
		I18n:    s.cfg.bundle,
		Logger:  zap.New(core),
		Logs:    logs,
		Audit:   &AuditRecorder{},
		suite:   s,
		headers: http.Header{},
	}
	return w
}

// start runs when the scenario starts: it makes the world's context, runs
// the Setup functions, installs the call and event recorders innermost
// and, when the catalog has topics or subscribers, starts the scenario's
// event bus: in process and synchronous, so that an event is delivered to
// the subscribers of the scenario's catalog before Publish returns.
func (w *World) start(ctx context.Context, sc *godog.Scenario) error {
	w.scenario = sc.Name
	w.ctx = catalog.NewContext(log.WithLogger(ctx, w.Logger), w.Catalog)
	for _, f := range w.suite.cfg.setups {
		if err := f(w); err != nil {
			return fmt.Errorf("bdd: setup: %w", err)
		}
	}
	w.Catalog.UseServerSide(spy{w})
	w.Catalog.UseClientSide(publications{w})
	if !hasEvents(w.Catalog) {
		return nil // no topic or subscriber: no bus
	}
	// The bus logs its dead letters (error) to the scenario's logger, not
	// its starting and stopping.
	quiet := w.Logger.WithOptions(zap.IncreaseLevel(zapcore.WarnLevel))
	w.bus = events.NewBus(w.Catalog, events.NewMemory(events.MemoryConfig{Synchronous: true}), events.WithLogger(quiet))
	if err := w.bus.Start(w.ctx); err != nil {
		return fmt.Errorf("bdd: start the scenario's event bus: %w", err)
	}
	return nil
}

// hasEvents reports whether c has a topic or a subscriber.
func hasEvents(c *catalog.Catalog) bool {
	for _, e := range c.Commands() {
		if e.Spec().Kind == middleware.Event {
			return true
		}
	}
	return false
}

// finish stops the event bus and runs the cleanups.
func (w *World) finish() {
	if w.bus != nil {
		_ = w.bus.Stop(context.Background()) // synchronous: nothing is queued
	}
	w.mu.Lock()
	cs := w.cleanups
	w.cleanups = nil
	w.mu.Unlock()
	for i := len(cs) - 1; i >= 0; i-- {
		cs[i]()
	}
}

func commandNames(c *catalog.Catalog) string {
	var names []string
	for _, e := range c.Commands() {
		names = append(names, e.Spec().Name)
	}
	if len(names) == 0 {
		return "no commands"
	}
	return strings.Join(names, ", ")
}

// defaultClient sends the requests to a service set with "the service at".
var defaultClient = &http.Client{Timeout: 30 * time.Second}

var (
	_ audit.Sink            = (*AuditRecorder)(nil)
	_ middleware.Middleware = spy{}
	_ middleware.Middleware = publications{}
)
