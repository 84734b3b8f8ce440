package catalog

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/middleware"
)

// Catalog holds commands and provided dependencies, the global server and
// client chains, and the remote routes. Registration and configuration are
// safe from many goroutines; calls take no lock and write no map.
//
// Most programs use [Default], which [Register], [Declare] and [Provide]
// fill from init functions. Tests use an isolated copy (see [Catalog.Clone]
// and package catalogtest).
type Catalog struct {
	mu      sync.Mutex // serializes registration, replacement and configuration
	idx     atomic.Pointer[index]
	nrecent int      // entries in idx.recent; guarded by mu
	deps    sync.Map // string -> *depSlot
	server  []middleware.Middleware
	client  []middleware.Middleware
	routes  []routeRule

	// parent is the catalog c stands in for (see [Catalog.Clone]), or nil.
	// It never changes.
	parent *Catalog
	// shadowed becomes true, and stays so, when a catalog that stands in
	// for c is made. From then on c's typed handles look at their context
	// on every call; until then a handle with empty chains calls its
	// function directly. Written with mu held, before the stand-in is
	// returned to anyone.
	shadowed bool
}

// Default is the catalog that [Register], [Declare], [Provide] and calls by
// name without an explicit catalog use.
var Default = New()

// New returns an empty catalog.
func New() *Catalog {
	c := &Catalog{}
	c.idx.Store(&index{base: newTable(0)})
	return c
}

// index maps names to entries for lookups without locks. base is an
// immutable map; entries registered since it was built are in recent. A
// registration adds to recent and, once recent holds more than an eighth
// of base, builds a new index with everything in base, so registering n
// commands copies O(n) entries in all while lookups stay a plain map read.
// Configuring the chains (which an application does when it starts) also
// folds recent into base.
type index struct {
	base   *table   // never nil
	recent sync.Map // string -> entry
}

// load finds the entry of name. It probes base itself rather than through
// a method of table: calls by name go through here, and a call less is a
// tenth of their cost.
func (ix *index) load(name string) (entry, bool) {
	if t := ix.base; t != nil {
		for i := hashName(name) & t.mask; t.slots[i].e != nil; i = (i + 1) & t.mask {
			if s := &t.slots[i]; s.name == name {
				return s.e, true
			}
		}
	}
	if v, ok := ix.recent.Load(name); ok {
		return v.(entry), true
	}
	return nil, false
}

func (ix *index) each(f func(e entry)) {
	ix.base.each(f)
	ix.recent.Range(func(_, v any) bool {
		f(v.(entry))
		return true
	})
}

func (c *Catalog) lookup(name string) (entry, bool) { return c.idx.Load().load(name) }

// each calls f for every entry, in no order.
func (c *Catalog) each(f func(e entry)) { c.idx.Load().each(f) }

// add stores a new entry. Called with c.mu held.
func (c *Catalog) add(name string, e entry) {
	ix := c.idx.Load()
	if (c.nrecent+1)*8 > ix.base.len() {
		// Small catalogs, and recent sets grown past an eighth of base:
		// fold everything into a new base map.
		c.compact(name, e)
		return
	}
	ix.recent.Store(name, e)
	c.nrecent++
}

// compact builds a new index holding every entry, plus e under name when
// e is not nil. Called with c.mu held.
func (c *Catalog) compact(name string, e entry) {
	ix := c.idx.Load()
	base := newTable(ix.base.len() + c.nrecent + 1)
	ix.each(func(x entry) { base.put(x.Spec().Name, x) })
	if e != nil {
		base.put(name, e)
	}
	c.idx.Store(&index{base: base})
	c.nrecent = 0
}

// entry is the untyped view of a *Command that the catalog keeps by name.
type entry interface {
	Entry
	// cloneInto makes a copy of the command that belongs to c.
	cloneInto(c *Catalog) entry
	// recompose rebuilds the command's handlers from the catalog's current
	// chains and routes. Called with c.mu held.
	recompose()
	// setRoute sets the remote route (nil: local). Called with c.mu held.
	setRoute(r Route)
	// siteLocked is Site with c.mu held.
	siteLocked() string
	// bindErr is the error of the last Route.Bind, if it failed.
	bindErr() error
	// replaceAny installs an untyped fake. Called with c.mu held.
	replaceAny(fake AnyFunc) (undo func())
}

// Entry is the untyped view of a command, for transports, tools and
// introspection. Every Entry is a *[Command]. Its methods are safe for
// concurrent use.
type Entry interface {
	// Spec describes the command: name, request and response types,
	// attributes.
	Spec() *middleware.Spec
	// Site is the file:line where the command's function was registered, or
	// where it was declared when it has no local function.
	Site() string
	// Local reports whether the command has a function in this process.
	Local() bool
	// Routed reports whether a remote route is configured for the command:
	// callers in this process then reach it over a transport.
	Routed() bool
	// NewRequest returns a pointer to a new zero request (a *Req).
	NewRequest() any
	// NewResponse returns a pointer to a new zero response (a *Resp).
	NewResponse() any
	// Invoke calls the command as a caller would: client chain, then the
	// route (local server chain and function, or remote). req is a *Req (or
	// a Req, which costs an allocation); resp must be a *Resp and receives
	// the response.
	Invoke(ctx context.Context, req, resp any) error
	// Serve runs the command as its server would: the server chain, then the
	// local function, never a remote route. Transports call it.
	Serve(ctx context.Context, req, resp any) error
}

// Route sends calls of a command to where it runs: a transport client
// supplies one for remote commands. Bind is called once per command when
// the route is configured or the command registered; the handler it
// returns sends c.Request and fills c.Response.
type Route interface {
	Bind(spec *middleware.Spec) (middleware.Handler, error)
}

// Balancer is implemented by routes that spread calls over several nodes.
// The catalog asks Pick for a node before the client chain runs and puts
// it in [middleware.Call.Node], so that client middleware — a breaker per
// node, a monitoring segment — know where the call goes; the route's
// handler then sends the call to that node. Pick must be safe for
// concurrent use and should not allocate.
type Balancer interface {
	Route
	Pick() string
}

type routeRule struct {
	pattern middleware.Pattern
	route   Route
}

// UseServerSide appends middleware to the catalog's global server chain, after
// the ones already there, and recomposes every command. The global chain
// is outside each command's own server middleware.
func (c *Catalog) UseServerSide(mws ...middleware.Middleware) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.server = append(slices.Clip(c.server), mws...)
	c.recomposeAll()
}

// UseClientSide appends middleware to the catalog's global client chain, after
// the ones already there, and recomposes every command. The global chain
// is outside each command's own client middleware.
func (c *Catalog) UseClientSide(mws ...middleware.Middleware) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.client = append(slices.Clip(c.client), mws...)
	c.recomposeAll()
}

// SetChains replaces both global chains at once (an application does this
// from its configuration) and recomposes every command.
func (c *Catalog) SetChains(server, client []middleware.Middleware) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.server = slices.Clone(server)
	c.client = slices.Clone(client)
	c.recomposeAll()
}

// Chains returns copies of the global server and client chains.
func (c *Catalog) Chains() (server, client []middleware.Middleware) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.server), slices.Clone(c.client)
}

// SetRoute routes the commands that pattern matches to r: a command name
// ("inventory.Reserve"), a service and the services below it
// ("inventory.*"), or every command ("*"); see [middleware.Pattern] for
// the grammar, matched without regard to case. The most specific rule
// wins ([middleware.Pattern.Specificity]), whatever the order the rules
// were set in: with "billing.*" and "billing.invoices.*" both routed,
// billing.invoices.Create follows the second. A rule replaces an earlier
// one with the same pattern; a nil r removes it. Commands registered later
// follow the rules too. It fails, leaving the catalog as it was, when
// pattern is invalid or r cannot bind one of the matching commands.
func (c *Catalog) SetRoute(pattern string, r Route) error {
	p, err := middleware.ParsePattern(pattern)
	if err != nil {
		return &RegistrationError{Name: pattern, Site: callerSite(2), Err: ErrInvalidName,
			Detail: `want "service.Operation", "service.*" or "*"`}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.routes
	rules := slices.DeleteFunc(slices.Clone(old), func(r routeRule) bool { return r.pattern.Equal(p) })
	if r != nil {
		rules = append(rules, routeRule{pattern: p, route: r})
	}
	c.routes = rules
	c.applyRoutes()
	var failed error
	c.each(func(e entry) {
		if err := e.bindErr(); err != nil && failed == nil {
			failed = err
		}
	})
	if failed != nil {
		c.routes = old
		c.applyRoutes()
		return failed
	}
	return nil
}

// applyRoutes gives every command its route and recomposes it. Called
// with c.mu held.
func (c *Catalog) applyRoutes() {
	c.each(func(e entry) {
		e.setRoute(c.routeFor(e.Spec().Name))
		e.recompose()
	})
}

// routeFor returns the most specific route for name. Called with c.mu held.
func (c *Catalog) routeFor(name string) Route {
	var best Route
	rank := 0
	for _, r := range c.routes {
		if s := r.pattern.Specificity(); s > rank && r.pattern.Match(name) {
			best, rank = r.route, s
		}
	}
	return best
}

// recomposeAll recomposes every command, and folds recent registrations
// into the index's base map. Called with c.mu held.
func (c *Catalog) recomposeAll() {
	if c.nrecent > 0 {
		c.compact("", nil)
	}
	c.each(func(e entry) { e.recompose() })
}

// Entry returns the entry of the command named name, untyped; [HandleOf]
// returns its typed handle.
func (c *Catalog) Entry(name string) (Entry, bool) {
	e, ok := c.lookup(name)
	if !ok {
		return nil, false
	}
	return e, true
}

// Commands returns every command, sorted by name.
func (c *Catalog) Commands() []Entry {
	var out []Entry
	c.each(func(e entry) { out = append(out, e) })
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.Spec().Name, b.Spec().Name) })
	return out
}

// Call calls the command named name with a request and a pointer to the
// response, through the client chain and the command's route. For no
// allocations pass req as a pointer (*Req); resp must be a *Resp. A name
// that is not registered gives an errs error with code
// "wego.unknown_command"; requests or responses of the wrong type give
// "wego.wrong_type". Call never panics on bad input.
func (c *Catalog) Call(ctx context.Context, name string, req, resp any) error {
	ix := c.idx.Load()
	e := ix.base.byAddr(name)
	if e == nil {
		var ok bool
		if e, ok = ix.load(name); !ok {
			return unknownCommand(name)
		}
	}
	return e.Invoke(ctx, req, resp)
}

// unknownCommand is the error of a call of a name that no command has.
func unknownCommand(name string) error {
	return ErrUnknownCommand.New(errs.InternalParam("command", name))
}

// Call calls the command named name in the catalog that ctx carries (see
// [NewContext]) or in [Default]. See [Catalog.Call].
func Call(ctx context.Context, name string, req, resp any) error {
	return FromContext(ctx).Call(ctx, name, req, resp)
}

// Clone returns an independent copy of c: the same commands (functions,
// attributes, middleware), dependencies, chains and routes, in a catalog
// where registrations and replacements do not affect c, nor c's affect it.
//
// The copy stands in for c: a typed handle of c called with a context
// that carries the copy (see [NewContext]) runs the copy's command of the
// same name. That is how tests run in parallel, each with its own copy of
// [Default] and its own fakes (package catalogtest). The first copy of a
// catalog makes its typed handles look at their context from then on,
// which costs each call a context lookup; Clone returns only after every
// handle of c does so.
func (c *Catalog) Clone() *Catalog {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.shadowLocked()
	n := &Catalog{
		server: slices.Clone(c.server),
		client: slices.Clone(c.client),
		routes: slices.Clone(c.routes),
		parent: c,
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	base := newTable(c.idx.Load().base.len() + c.nrecent)
	c.each(func(e entry) { base.put(e.Spec().Name, e.cloneInto(n)) })
	n.idx.Store(&index{base: base})
	c.deps.Range(func(k, v any) bool {
		n.deps.Store(k, v.(*depSlot).clone())
		return true
	})
	n.recomposeAll()
	return n
}

// CloneEmpty returns a catalog that stands in for c, as a [Catalog.Clone]
// does, but starts empty: no commands, dependencies, chains or routes. A
// typed handle of c called with a context that carries it finds no
// command and fails with [ErrUnknownCommand] unless the command was
// registered in the new catalog, so nothing reaches c's commands by
// accident.
func (c *Catalog) CloneEmpty() *Catalog {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.shadowLocked()
	n := New()
	n.parent = c
	return n
}

// shadowLocked makes c's typed handles look at their context from now
// on, before any catalog that stands in for c exists. Called with c.mu
// held; recompose reads shadowed under the same lock, so no handle can be
// composed with a stale direct path afterwards.
func (c *Catalog) shadowLocked() {
	if !c.shadowed {
		c.shadowed = true
		c.recomposeAll()
	}
}

// standsIn reports whether c stands in for p: p is c's parent, or its
// parent's, and so on.
func (c *Catalog) standsIn(p *Catalog) bool {
	for x := c.parent; x != nil; x = x.parent {
		if x == p {
			return true
		}
	}
	return false
}

type ctxKey struct{}

// NewContext returns a context that carries c. Calls by name ([Call]) and
// dependency lookups made with it use c. Typed handles of a catalog that c
// stands in for (c was made by its [Catalog.Clone] or
// [Catalog.CloneEmpty], directly or through further clones) run c's
// command of the same name: that is how a test's isolated catalog, with
// its fakes, takes effect for code that holds handles from [Default].
// Handles of any other catalog ignore c. NewContext changes no state
// outside the context it returns.
func NewContext(ctx context.Context, c *Catalog) context.Context {
	return context.WithValue(ctx, ctxKey{}, c)
}

// FromContext returns the catalog ctx carries, or [Default].
func FromContext(ctx context.Context) *Catalog {
	if c := scopeOf(ctx); c != nil {
		return c
	}
	return Default
}

func scopeOf(ctx context.Context) *Catalog {
	if ctx == nil {
		return nil
	}
	c, _ := ctx.Value(ctxKey{}).(*Catalog)
	return c
}

func callerSite(skip int) string {
	_, file, line, ok := runtime.Caller(skip)
	if !ok {
		return "unknown site"
	}
	return fmt.Sprintf("%s:%d", file, line)
}

// validName reports whether name has the form "service.Operation" (see
// [middleware.ValidName]).
func validName(name string) bool { return middleware.ValidName(name) }
