package catalog

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"

	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/middleware"
)

// CommandFunc is the function of a command: a typed request in, a typed
// response or an error out. (A [middleware.Func] is something else: a
// middleware written as a function that wraps a handler.)
type CommandFunc[Req, Resp any] func(ctx context.Context, req Req) (Resp, error)

// Command is a typed handle on a registered command, and the command's
// entry in its catalog. Its Call is the fast path; keep the handle in a
// package-level variable:
//
//	var Reserve = catalog.Register("inventory.Reserve", reserve)
//
// A Command is safe for concurrent use. Replacing its function (see
// [Replace]) or reconfiguring the catalog takes effect for every holder of
// the handle.
type Command[Req, Resp any] struct {
	cat    *Catalog
	name   string
	frames sync.Pool // *frame[Req, Resp]

	// Guarded by cat.mu.
	fn          CommandFunc[Req, Resp] // the registered function; nil when only declared
	fake        CommandFunc[Req, Resp] // a replacement, or nil
	fnSite      string
	declSite    string
	spec        *middleware.Spec        // the command, no side (introspection)
	server      []middleware.Middleware // the command's own
	client      []middleware.Middleware
	route       Route
	bindFailure error

	cur atomic.Pointer[state[Req, Resp]] // read without locks on every call
}

// state is everything a call needs, composed once and swapped atomically.
type state[Req, Resp any] struct {
	spec        *middleware.Spec       // the command, no side (introspection)
	cspec       *middleware.Spec       // spec as the client chain sees it (Remote set when routed)
	sspec       *middleware.Spec       // spec as the server chain sees it
	fn          CommandFunc[Req, Resp] // what runs locally (fake or fn); nil if none
	direct      CommandFunc[Req, Resp] // fn when local with no middleware at all, else nil
	fast        CommandFunc[Req, Resp] // direct, while no catalog stands in for h's; else nil, and Call calls h.call
	serveDirect bool                   // fn set, no server middleware
	invoke      middleware.Handler     // client chain, then the route (the server chain itself when the client chain adds nothing)
	serve       middleware.Handler     // server chain, then fn
	pick        func() string          // the route's node picker, if it balances
	shadowed    bool                   // a catalog stands in for h's: calls look at their context
}

// frame holds the request and response of one call made through a typed
// handle, so that the *middleware.Call can point to them without
// allocating. Frames are pooled per command.
type frame[Req, Resp any] struct {
	call middleware.Call
	req  Req
	resp Resp
}

// callPool recycles the Calls of calls by name and of transports.
var callPool = sync.Pool{New: func() any { return new(middleware.Call) }}

// getCall takes a Call from callPool and fills it in. It sets the fields
// one by one (the pool's Calls are zero): assigning a Call literal goes
// through a temporary copy, which costs as much as a middleware hop.
func getCall(spec *middleware.Spec, req, resp any) *middleware.Call {
	c := callPool.Get().(*middleware.Call)
	c.Spec, c.Request, c.Response = spec, req, resp
	return c
}

// putCall clears c, so that the pool keeps no request alive, and puts it
// back.
func putCall(c *middleware.Call) {
	*c = middleware.Call{}
	callPool.Put(c)
}

// Option configures a command at registration or declaration.
type Option interface{ apply(*options) }

type options struct {
	attrs  []middleware.Attr
	server []middleware.Middleware
	client []middleware.Middleware
	doc    string
	kind   middleware.Kind
	site   string // overrides the caller's site when set
}

func newOptions(opts []Option) *options {
	o := &options{}
	for _, opt := range opts {
		if opt != nil {
			opt.apply(o)
		}
	}
	return o
}

// siteOr returns the site that RegisteredAt set, or site.
func (o *options) siteOr(site string) string {
	if o.site != "" {
		return o.site
	}
	return site
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// With sets attributes on the command. Packages that read attributes —
// transports, middleware, docs — define the keys (see [middleware.Key]).
func With(attrs ...middleware.Attr) Option {
	return optionFunc(func(o *options) { o.attrs = append(o.attrs, attrs...) })
}

// ServerSide adds middleware to the command's own server chain, which runs
// inside the catalog's global server chain, just before the function.
func ServerSide(mws ...middleware.Middleware) Option {
	return optionFunc(func(o *options) { o.server = append(o.server, mws...) })
}

// ClientSide adds middleware to the command's own client chain, which runs
// inside the catalog's global client chain, just before the route.
func ClientSide(mws ...middleware.Middleware) Option {
	return optionFunc(func(o *options) { o.client = append(o.client, mws...) })
}

// Doc sets the command's description, shown in listings and API docs.
func Doc(text string) Option {
	return optionFunc(func(o *options) { o.doc = text })
}

// AsEvent makes the command an event entry ([middleware.Event] in its
// Spec's Kind) rather than a command: a topic or a subscriber of package
// events, which registers them with it. Its chains are composed as a
// command's, transports do not serve it, and a name registered with one
// kind cannot be declared or registered again with the other.
func AsEvent() Option {
	return optionFunc(func(o *options) { o.kind = middleware.Event })
}

// RegisteredAt makes errors and listings name site ("file:line") as
// where the command was registered or declared, instead of the caller of
// Register or Declare: for packages that register commands on behalf of
// their own callers, as package events does for topics and subscribers.
func RegisteredAt(site string) Option {
	return optionFunc(func(o *options) { o.site = site })
}

// Register registers fn as the command name ("service.Operation") in
// [Default] and returns its typed handle. It is meant for package-level
// variables and init functions, and panics when the name is malformed, fn
// is nil, or the name is registered already (the message names both
// sites). Use [RegisterIn] to get an error instead.
//
// When name was declared before (see [Declare]) with the same types, the
// declared command gets fn, and the handle is the declared one.
func Register[Req, Resp any](name string, fn func(context.Context, Req) (Resp, error), opts ...Option) *Command[Req, Resp] {
	h, err := register(Default, name, fn, callerSite(2), opts)
	if err != nil {
		panic(err)
	}
	return h
}

// RegisterIn is like [Register] for the catalog c, and returns a
// *[RegistrationError] instead of panicking.
func RegisterIn[Req, Resp any](c *Catalog, name string, fn func(context.Context, Req) (Resp, error), opts ...Option) (*Command[Req, Resp], error) {
	return register(c, name, fn, callerSite(2), opts)
}

// Declare declares the command name in [Default] with its request and
// response types but no function, and returns its typed handle. Packages
// that describe a service's API declare its commands, so that callers in
// other deployables can call them through a remote route; the deployable
// that runs the service registers the functions with [Register] under the
// same names. Declaring a name again with the same types returns the same
// handle. Declare panics like Register; [DeclareIn] returns an error.
func Declare[Req, Resp any](name string, opts ...Option) *Command[Req, Resp] {
	h, err := declare[Req, Resp](Default, name, callerSite(2), opts)
	if err != nil {
		panic(err)
	}
	return h
}

// DeclareIn is like [Declare] for the catalog c, and returns a
// *[RegistrationError] instead of panicking.
func DeclareIn[Req, Resp any](c *Catalog, name string, opts ...Option) (*Command[Req, Resp], error) {
	return declare[Req, Resp](c, name, callerSite(2), opts)
}

// HandleOf returns the typed handle of the command name in c. It fails when
// there is no such command or its types are not Req and Resp; [Catalog.Entry]
// returns the command untyped.
func HandleOf[Req, Resp any](c *Catalog, name string) (*Command[Req, Resp], error) {
	return lookupFrom[Req, Resp](c, name, 3)
}

// lookupFrom is [HandleOf], with errors that name the site skip frames up.
func lookupFrom[Req, Resp any](c *Catalog, name string, skip int) (*Command[Req, Resp], error) {
	v, ok := c.lookup(name)
	if !ok {
		return nil, &RegistrationError{Name: name, Site: callerSite(skip), Err: ErrNotRegistered}
	}
	h, ok := v.(*Command[Req, Resp])
	if !ok {
		return nil, &RegistrationError{Name: name, Site: callerSite(skip), Other: v.(Entry).Site(), Err: ErrTypeMismatch,
			Detail: fmt.Sprintf("registered as %s, asked as %s", signature(v.(Entry).Spec()), signatureOf[Req, Resp]())}
	}
	return h, nil
}

func register[Req, Resp any](c *Catalog, name string, fn CommandFunc[Req, Resp], site string, opts []Option) (*Command[Req, Resp], error) {
	o := newOptions(opts)
	site = o.siteOr(site)
	if !validName(name) {
		return nil, &RegistrationError{Name: name, Site: site, Err: ErrInvalidName,
			Detail: `want "service.Operation" made of letters, digits, '_' and '-'`}
	}
	if fn == nil {
		return nil, &RegistrationError{Name: name, Site: site, Err: ErrNilFunc}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	h, err := c.declareLocked(name, site, o, reflectTypes[Req, Resp]())
	if err != nil {
		return nil, err
	}
	cmd := h.(*Command[Req, Resp])
	if cmd.fn != nil {
		return nil, &RegistrationError{Name: name, Site: site, Other: cmd.fnSite, Err: ErrDuplicate}
	}
	cmd.fn, cmd.fnSite = fn, site
	cmd.recompose()
	return cmd, nil
}

func declare[Req, Resp any](c *Catalog, name, site string, opts []Option) (*Command[Req, Resp], error) {
	o := newOptions(opts)
	site = o.siteOr(site)
	if !validName(name) {
		return nil, &RegistrationError{Name: name, Site: site, Err: ErrInvalidName,
			Detail: `want "service.Operation" made of letters, digits, '_' and '-'`}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	h, err := c.declareLocked(name, site, o, reflectTypes[Req, Resp]())
	if err != nil {
		return nil, err
	}
	return h.(*Command[Req, Resp]), nil
}

// typesMaker builds a new *Command for declareLocked without it being
// generic itself.
type typesMaker interface {
	newCommand(c *Catalog, name, site string, kind middleware.Kind) entry
	req() reflect.Type
	resp() reflect.Type
}

type types[Req, Resp any] struct{}

func reflectTypes[Req, Resp any]() typesMaker { return types[Req, Resp]{} }

func (types[Req, Resp]) newCommand(c *Catalog, name, site string, kind middleware.Kind) entry {
	return &Command[Req, Resp]{cat: c, name: name, declSite: site,
		spec: &middleware.Spec{Name: name, Request: reflect.TypeFor[Req](), Response: reflect.TypeFor[Resp](), Kind: kind}}
}

// kindNoun names what a command of kind k is, for errors.
func kindNoun(k middleware.Kind) string {
	if k == middleware.Event {
		return "an event (package events)"
	}
	return "a " + k.String() + " command"
}
func (types[Req, Resp]) req() reflect.Type  { return reflect.TypeFor[Req]() }
func (types[Req, Resp]) resp() reflect.Type { return reflect.TypeFor[Resp]() }

// declareLocked finds or creates the command name with the given types and
// merges o into it. Called with c.mu held.
func (c *Catalog) declareLocked(name, site string, o *options, t typesMaker) (entry, error) {
	if e, ok := c.lookup(name); ok {
		spec := e.Spec()
		if spec.Request != t.req() || spec.Response != t.resp() {
			return nil, &RegistrationError{Name: name, Site: site, Other: e.siteLocked(), Err: ErrTypeMismatch,
				Detail: fmt.Sprintf("%s here, %s there", signatureTypes(t.req(), t.resp()), signature(spec))}
		}
		if spec.Kind != o.kind {
			return nil, &RegistrationError{Name: name, Site: site, Other: e.siteLocked(), Err: ErrTypeMismatch,
				Detail: fmt.Sprintf("%s here, %s there", kindNoun(o.kind), kindNoun(spec.Kind))}
		}
		e.(merger).merge(*o)
		e.recompose()
		return e, nil
	}
	e := t.newCommand(c, name, site, o.kind)
	e.(merger).merge(*o)
	e.setRoute(c.routeFor(name))
	e.recompose()
	c.add(name, e)
	return e, nil
}

type merger interface{ merge(o options) }

func (h *Command[Req, Resp]) merge(o options) {
	spec := *h.spec
	if len(o.attrs) > 0 {
		spec.Attributes = spec.Attributes.With(o.attrs...)
	}
	if o.doc != "" {
		spec.Doc = o.doc
	}
	h.spec = &spec
	h.server = append(h.server, o.server...)
	h.client = append(h.client, o.client...)
}

func signature(s *middleware.Spec) string { return signatureTypes(s.Request, s.Response) }

func signatureOf[Req, Resp any]() string {
	return signatureTypes(reflect.TypeFor[Req](), reflect.TypeFor[Resp]())
}

func signatureTypes(req, resp reflect.Type) string {
	return fmt.Sprintf("func(context.Context, %v) (%v, error)", req, resp)
}

// Name returns the command's name.
func (h *Command[Req, Resp]) Name() string { return h.name }

// Catalog returns the catalog the command belongs to.
func (h *Command[Req, Resp]) Catalog() *Catalog { return h.cat }

// Spec describes the command.
func (h *Command[Req, Resp]) Spec() *middleware.Spec { return h.cur.Load().spec }

// Site returns where the command's function was registered, or where it
// was declared when it has none.
func (h *Command[Req, Resp]) Site() string {
	h.cat.mu.Lock()
	defer h.cat.mu.Unlock()
	return h.siteLocked()
}

func (h *Command[Req, Resp]) siteLocked() string {
	if h.fnSite != "" {
		return h.fnSite
	}
	return h.declSite
}

// Local reports whether the command has a function (or a fake) in this
// process.
func (h *Command[Req, Resp]) Local() bool { return h.cur.Load().fn != nil }

// Routed reports whether calls go to a remote route. A fake installed with
// [Replace] runs locally even when a route is configured.
func (h *Command[Req, Resp]) Routed() bool {
	h.cat.mu.Lock()
	defer h.cat.mu.Unlock()
	return h.route != nil && h.fake == nil
}

// NewRequest returns a new *Req.
func (h *Command[Req, Resp]) NewRequest() any { return new(Req) }

// NewResponse returns a new *Resp.
func (h *Command[Req, Resp]) NewResponse() any { return new(Resp) }

// In returns the command with the same name in c, typed; tests use it to
// find their isolated catalog's copy of a handle from [Default].
func (h *Command[Req, Resp]) In(c *Catalog) (*Command[Req, Resp], error) {
	if c == h.cat {
		return h, nil
	}
	return lookupFrom[Req, Resp](c, h.name, 3) // errors name In's caller
}

// Call calls the command: the client chain, then the route — the server
// chain and the function for a local command, a transport for a remote
// one. With both chains empty and a local function it is a direct call of
// the function. If ctx carries a catalog (see [NewContext]), the command
// of the same name in that catalog is called instead. As usual in Go, the
// response is meaningful only when the error is nil.
func (h *Command[Req, Resp]) Call(ctx context.Context, req Req) (Resp, error) {
	if fast := h.cur.Load().fast; fast != nil {
		return fast(ctx, req)
	}
	return h.call(ctx, req)
}

// call is the path of calls that are not a direct call of the function.
func (h *Command[Req, Resp]) call(ctx context.Context, req Req) (Resp, error) {
	t, s := h, h.cur.Load()
	if s.shadowed { // checked first: scopeOf is too big to inline
		if sc := scopeOf(ctx); sc != nil && sc != h.cat && sc.standsIn(h.cat) {
			other, err := scoped2[Req, Resp](sc, h.name)
			if err != nil {
				var zero Resp
				return zero, err
			}
			t, s = other, other.cur.Load()
		}
	}
	if s.direct != nil {
		return s.direct(ctx, req)
	}
	f, _ := t.frames.Get().(*frame[Req, Resp])
	if f == nil {
		f = new(frame[Req, Resp])
	}
	// Set one by one, not from a Call literal (see getCall).
	f.req = req
	f.call.Spec = s.cspec
	f.call.Request = &f.req
	f.call.Response = &f.resp
	if s.pick != nil {
		f.call.Node = s.pick()
	}
	err := s.invoke(ctx, &f.call)
	resp := f.resp
	*f = frame[Req, Resp]{}
	t.frames.Put(f)
	if err != nil {
		var zero Resp
		return zero, err
	}
	return resp, nil
}

// scoped2 finds the typed command name in the scope catalog sc.
func scoped2[Req, Resp any](sc *Catalog, name string) (*Command[Req, Resp], error) {
	v, ok := sc.lookup(name)
	if !ok {
		return nil, ErrUnknownCommand.New(errs.InternalParam("command", name))
	}
	h, ok := v.(*Command[Req, Resp])
	if !ok {
		return nil, ErrWrongType.Wrap(fmt.Errorf("catalog: %s is %s in the context's catalog, called as %s",
			name, signature(v.(Entry).Spec()), signatureOf[Req, Resp]()), errs.InternalParam("command", name))
	}
	return h, nil
}

func (h *Command[Req, Resp]) args(req, resp any) (*Req, *Resp, error) {
	rp, ok := resp.(*Resp)
	if !ok || rp == nil {
		var want *Resp
		return nil, nil, wrongType(h.name, "response", resp, fmt.Sprintf("%T", want))
	}
	switch r := req.(type) {
	case *Req:
		if r != nil {
			return r, rp, nil
		}
	case Req:
		return &r, rp, nil
	}
	var want *Req
	return nil, nil, wrongType(h.name, "request", req, fmt.Sprintf("%T", want))
}

// Invoke calls the command with untyped arguments, as [Command.Call] does:
// req is a *Req (or a Req, which costs an allocation), resp a *Resp that
// receives the response. Arguments of the wrong type give an error with
// code "wego.wrong_type", never a panic.
func (h *Command[Req, Resp]) Invoke(ctx context.Context, req, resp any) error {
	rq, okq := req.(*Req)
	rp, okp := resp.(*Resp)
	if !okq || !okp || rq == nil || rp == nil {
		// Anything but two non-nil pointers: a Req by value, or an error.
		var err error
		if rq, rp, err = h.args(req, resp); err != nil {
			return err
		}
	}
	s := h.cur.Load()
	if s.direct != nil {
		r, err := s.direct(ctx, *rq)
		if err == nil {
			*rp = r
		}
		return err
	}
	c := getCall(s.cspec, rq, rp)
	if s.pick != nil {
		c.Node = s.pick()
	}
	err := s.invoke(ctx, c)
	putCall(c)
	return err
}

// Serve runs the command as its server does: the server chain, then the
// local function (or fake), never a route. Transports call it. A command
// without a local function gives an error with code "wego.no_route".
func (h *Command[Req, Resp]) Serve(ctx context.Context, req, resp any) error {
	rq, rp, err := h.args(req, resp)
	if err != nil {
		return err
	}
	s := h.cur.Load()
	if s.serveDirect {
		r, err := s.fn(ctx, *rq)
		if err == nil {
			*rp = r
		}
		return err
	}
	c := getCall(s.sspec, rq, rp)
	err = s.serve(ctx, c)
	putCall(c)
	return err
}

// recompose rebuilds the command's state from its function, fake, route,
// options and the catalog's chains. Called with h.cat.mu held.
func (h *Command[Req, Resp]) recompose() {
	spec := h.spec
	fn := h.fake
	if fn == nil {
		fn = h.fn
	}
	local := h.fake != nil || h.route == nil
	name := h.name

	terminal := func(ctx context.Context, c *middleware.Call) error {
		if fn == nil {
			return ErrNoRoute.New(errs.InternalParam("command", name))
		}
		rq, ok := c.Request.(*Req)
		if !ok || rq == nil {
			var want *Req
			return wrongType(name, "request", c.Request, fmt.Sprintf("%T", want))
		}
		r, err := fn(ctx, *rq)
		if err != nil {
			return err
		}
		rp, ok := c.Response.(*Resp)
		if !ok || rp == nil {
			var want *Resp
			return wrongType(name, "response", c.Response, fmt.Sprintf("%T", want))
		}
		*rp = r
		return nil
	}
	serverMW := append(append([]middleware.Middleware(nil), h.cat.server...), h.server...)
	clientMW := append(append([]middleware.Middleware(nil), h.cat.client...), h.client...)
	// Each chain sees the spec with its side; middleware that have nothing
	// to do for the command return nil, and a chain to which none added
	// anything is empty in effect.
	sspec := *spec
	sspec.Side = middleware.ServerSide
	serve, serverAdded := middleware.Compose(&sspec, terminal, serverMW...)
	serverEmpty := !serverAdded

	cspec := *spec
	cspec.Side = middleware.ClientSide
	cspec.Remote = !local
	clientSpec := &cspec

	h.bindFailure = nil
	var route middleware.Handler
	var pick func() string
	switch {
	case local && serverEmpty:
		route = terminal
	case local:
		route = serve
	default:
		if b, ok := h.route.(Balancer); ok {
			pick = b.Pick
		}
		remote, err := h.route.Bind(clientSpec)
		if err != nil || remote == nil {
			if err == nil {
				err = fmt.Errorf("route bound no handler")
			}
			h.bindFailure = &RegistrationError{Name: name, Site: h.declSite, Err: err}
			cause := err
			remote = func(context.Context, *middleware.Call) error {
				return ErrNoRoute.Wrap(cause, errs.InternalParam("command", name))
			}
		}
		route = remote
	}
	invoke, clientAdded := middleware.Compose(clientSpec, route, clientMW...)
	var direct CommandFunc[Req, Resp]
	if local && serverEmpty && !clientAdded {
		direct = fn
	}
	fast := direct
	if h.cat.shadowed {
		fast = nil
	}
	h.cur.Store(&state[Req, Resp]{
		spec:        spec,
		sspec:       &sspec,
		cspec:       clientSpec,
		fn:          fn,
		direct:      direct,
		fast:        fast,
		serveDirect: fn != nil && serverEmpty,
		invoke:      invoke,
		serve:       serve,
		pick:        pick,
		shadowed:    h.cat.shadowed,
	})
}

func (h *Command[Req, Resp]) bindErr() error { return h.bindFailure }

func (h *Command[Req, Resp]) setRoute(r Route) { h.route = r }

func (h *Command[Req, Resp]) cloneInto(c *Catalog) entry {
	n := &Command[Req, Resp]{
		cat: c, name: h.name,
		fn: h.fn, fake: h.fake, fnSite: h.fnSite, declSite: h.declSite,
		spec: h.spec, route: h.route,
		server: append([]middleware.Middleware(nil), h.server...),
		client: append([]middleware.Middleware(nil), h.client...),
	}
	return n
}

// Replace makes h run fake instead of its function, for every holder of
// the handle, until the returned undo is called; tests use it (package
// catalogtest undoes replacements automatically). The chains still run
// around the fake, and a fake runs locally even when the command has a
// remote route. Replacements nest: undo restores what was in place when
// Replace was called. A nil fake is an error.
func Replace[Req, Resp any](h *Command[Req, Resp], fake func(context.Context, Req) (Resp, error)) (undo func(), err error) {
	if fake == nil {
		return nil, &RegistrationError{Name: h.name, Site: callerSite(2), Err: ErrNilFunc}
	}
	c := h.cat
	c.mu.Lock()
	defer c.mu.Unlock()
	prev := h.fake
	h.fake = fake
	h.recompose()
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			h.fake = prev
			h.recompose()
		})
	}, nil
}

// AnyFunc is an untyped command function: req is a *Req and resp a *Resp
// to fill in. Tools that know commands only by name — the BDD steps, a
// recorder of calls — install fakes of this form with [ReplaceAny].
type AnyFunc func(ctx context.Context, req, resp any) error

// ReplaceAny makes the command name in c run fake until the returned undo
// is called, like [Replace] for callers that do not know the command's
// types.
func ReplaceAny(c *Catalog, name string, fake AnyFunc) (undo func(), err error) {
	site := callerSite(2)
	if fake == nil {
		return nil, &RegistrationError{Name: name, Site: site, Err: ErrNilFunc}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.lookup(name)
	if !ok {
		return nil, &RegistrationError{Name: name, Site: site, Err: ErrNotRegistered}
	}
	inner := e.replaceAny(fake)
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			inner()
		})
	}, nil
}

func (h *Command[Req, Resp]) replaceAny(fake AnyFunc) (undo func()) {
	prev := h.fake
	h.fake = func(ctx context.Context, req Req) (Resp, error) {
		var resp Resp
		err := fake(ctx, &req, &resp)
		return resp, err
	}
	h.recompose()
	return func() {
		h.fake = prev
		h.recompose()
	}
}

var _ Entry = (*Command[int, int])(nil)
