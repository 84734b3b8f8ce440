package catalog_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/middleware"
)

type addReq struct{ A, B int }
type addResp struct{ Sum int }

func sum(_ context.Context, r addReq) (addResp, error) { return addResp{Sum: r.A + r.B}, nil }

func mustRegister[Req, Resp any](t *testing.T, c *catalog.Catalog, name string, fn func(context.Context, Req) (Resp, error), opts ...catalog.Option) *catalog.Command[Req, Resp] {
	t.Helper()
	h, err := catalog.RegisterIn(c, name, fn, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestTypedAndByName(t *testing.T) {
	t.Parallel()
	c := catalog.New()
	h := mustRegister(t, c, "math.Add", sum)
	ctx := context.Background()

	got, err := h.Call(ctx, addReq{A: 2, B: 3})
	if err != nil || got.Sum != 5 {
		t.Fatalf("typed call = %v, %v; want 5", got, err)
	}
	var resp addResp
	if err := c.Call(ctx, "math.Add", &addReq{A: 4, B: 5}, &resp); err != nil || resp.Sum != 9 {
		t.Fatalf("by name (pointer) = %v, %v; want 9", resp, err)
	}
	if err := c.Call(ctx, "math.Add", addReq{A: 1, B: 1}, &resp); err != nil || resp.Sum != 2 {
		t.Fatalf("by name (value) = %v, %v; want 2", resp, err)
	}
	if e, ok := c.Entry("math.Add"); !ok || !e.Local() || e.Routed() {
		t.Fatalf("Lookup = %v, %v", e, ok)
	}
}

func TestCallErrors(t *testing.T) {
	t.Parallel()
	c := catalog.New()
	mustRegister(t, c, "math.Add", sum)
	ctx := context.Background()
	var resp addResp
	tests := []struct {
		name      string
		cmd       string
		req, resp any
		want      *errs.Def
		kind      errs.Kind
	}{
		{"unknown command", "math.Sub", &addReq{}, &resp, catalog.ErrUnknownCommand, errs.KindNotFound},
		{"wrong request type", "math.Add", "nope", &resp, catalog.ErrWrongType, errs.KindInternal},
		{"nil request pointer", "math.Add", (*addReq)(nil), &resp, catalog.ErrWrongType, errs.KindInternal},
		{"response not a pointer", "math.Add", &addReq{}, resp, catalog.ErrWrongType, errs.KindInternal},
		{"nil response", "math.Add", &addReq{}, nil, catalog.ErrWrongType, errs.KindInternal},
		{"wrong response type", "math.Add", &addReq{}, new(int), catalog.ErrWrongType, errs.KindInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.Call(ctx, tt.cmd, tt.req, tt.resp)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want code %s", err, tt.want.Code())
			}
			if errs.KindOf(err) != tt.kind {
				t.Fatalf("kind = %v, want %v", errs.KindOf(err), tt.kind)
			}
		})
	}
}

func TestRegistrationErrors(t *testing.T) {
	t.Parallel()
	c := catalog.New()
	if _, err := catalog.RegisterIn(c, "math.Add", sum); err != nil {
		t.Fatal(err)
	}
	_, err := catalog.RegisterIn(c, "math.Add", sum)
	var re *catalog.RegistrationError
	if !errors.As(err, &re) || !errors.Is(err, catalog.ErrDuplicate) {
		t.Fatalf("duplicate: err = %v", err)
	}
	if !strings.Contains(re.Site, "catalog_test.go:") || !strings.Contains(re.Other, "catalog_test.go:") || re.Site == re.Other {
		t.Fatalf("duplicate must name both sites: %q", err)
	}
	if !strings.Contains(err.Error(), re.Site) || !strings.Contains(err.Error(), re.Other) {
		t.Fatalf("message %q must name both sites", err)
	}

	for _, name := range []string{"", "Add", ".Add", "math.", "math..Add", "math.Add x", "math/Add", "math.Ädd"} {
		if _, err := catalog.RegisterIn(c, name, sum); !errors.Is(err, catalog.ErrInvalidName) {
			t.Errorf("name %q: err = %v, want ErrInvalidName", name, err)
		}
	}
	if _, err := catalog.RegisterIn[addReq, addResp](c, "math.Nil", nil); !errors.Is(err, catalog.ErrNilFunc) {
		t.Errorf("nil func: err = %v", err)
	}
	other := func(context.Context, string) (int, error) { return 0, nil }
	if _, err := catalog.RegisterIn(c, "math.Add", other); !errors.Is(err, catalog.ErrTypeMismatch) {
		t.Errorf("other types: err = %v", err)
	}
	if _, err := catalog.HandleOf[string, int](c, "math.Add"); !errors.Is(err, catalog.ErrTypeMismatch) {
		t.Errorf("Lookup other types: err = %v", err)
	}
	if _, err := catalog.HandleOf[addReq, addResp](c, "math.Missing"); !errors.Is(err, catalog.ErrNotRegistered) {
		t.Errorf("Lookup missing: err = %v", err)
	}
}

var panicChecks atomic.Int64

func TestRegisterPanicsInDefault(t *testing.T) {
	// Not parallel: it registers in Default.
	name := fmt.Sprintf("paniccheck.Op%d", panicChecks.Add(1)) // a new name on every run (go test -count)
	catalog.Register(name, sum)
	defer func() {
		r := recover()
		err, ok := r.(error)
		if !ok || !errors.Is(err, catalog.ErrDuplicate) {
			t.Fatalf("recover() = %v, want a duplicate RegistrationError", r)
		}
	}()
	catalog.Register(name, sum)
}

func TestDeclareThenRegister(t *testing.T) {
	t.Parallel()
	c := catalog.New()
	key := middleware.NewKey[string]("test.doc")
	decl, err := catalog.DeclareIn[addReq, addResp](c, "math.Add", catalog.With(key.Value("declared")))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := decl.Call(ctx, addReq{}); !errors.Is(err, catalog.ErrNoRoute) || errs.KindOf(err) != errs.KindUnavailable {
		t.Fatalf("declared, no route: err = %v", err)
	}
	again, err := catalog.DeclareIn[addReq, addResp](c, "math.Add")
	if err != nil || again != decl {
		t.Fatalf("re-declare = %p, %v; want the same handle %p", again, err, decl)
	}
	if _, err := catalog.DeclareIn[string, addResp](c, "math.Add"); !errors.Is(err, catalog.ErrTypeMismatch) {
		t.Fatalf("declare with other types: %v", err)
	}
	reg, err := catalog.RegisterIn(c, "math.Add", sum, catalog.Doc("adds"))
	if err != nil || reg != decl {
		t.Fatalf("register after declare = %p, %v; want %p", reg, err, decl)
	}
	if got, err := decl.Call(ctx, addReq{A: 1, B: 2}); err != nil || got.Sum != 3 {
		t.Fatalf("after register: %v, %v", got, err)
	}
	if v, ok := key.Get(decl.Spec().Attributes); !ok || v != "declared" || decl.Spec().Doc != "adds" {
		t.Fatalf("spec lost the declaration's options: %+v", decl.Spec())
	}
}

// order records the order in which middleware see a call.
type order struct {
	mu  sync.Mutex
	log []string
}

func (o *order) mw(label string) middleware.Middleware {
	return middleware.WrapFunc(func(spec *middleware.Spec, next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, c *middleware.Call) error {
			o.mu.Lock()
			o.log = append(o.log, label+">"+spec.Side.String())
			o.mu.Unlock()
			err := next(ctx, c)
			o.mu.Lock()
			o.log = append(o.log, "<"+label)
			o.mu.Unlock()
			return err
		}
	})
}

func TestChainOrderAndSides(t *testing.T) {
	t.Parallel()
	c := catalog.New()
	var o order
	h := mustRegister(t, c, "math.Add", func(ctx context.Context, r addReq) (addResp, error) {
		o.mu.Lock()
		o.log = append(o.log, "fn")
		o.mu.Unlock()
		return addResp{Sum: r.A + r.B}, nil
	}, catalog.ServerSide(o.mw("cmdS")), catalog.ClientSide(o.mw("cmdC")))
	c.UseServerSide(o.mw("S1"), o.mw("S2"))
	c.UseClientSide(o.mw("C1"), o.mw("C2"))

	if got, err := h.Call(context.Background(), addReq{A: 1, B: 1}); err != nil || got.Sum != 2 {
		t.Fatalf("Call = %v, %v", got, err)
	}
	want := "C1>client C2>client cmdC>client S1>server S2>server cmdS>server fn <cmdS <S2 <S1 <cmdC <C2 <C1"
	if got := strings.Join(o.log, " "); got != want {
		t.Fatalf("order:\n got %s\nwant %s", got, want)
	}

	// Serve runs the server chain only.
	o.log = nil
	var resp addResp
	if err := h.Serve(context.Background(), &addReq{A: 2}, &resp); err != nil || resp.Sum != 2 {
		t.Fatalf("Serve = %v, %v", resp, err)
	}
	if got := strings.Join(o.log, " "); got != "S1>server S2>server cmdS>server fn <cmdS <S2 <S1" {
		t.Fatalf("Serve order: %s", got)
	}
}

// A local command whose client middleware all pass next on starts its
// calls on the server side; the server chain still sees the server side,
// through the typed handle and by name alike.
func TestEmptyClientChainStartsOnServerSide(t *testing.T) {
	t.Parallel()
	c := catalog.New()
	var o order
	h := mustRegister(t, c, "math.Add", func(ctx context.Context, r addReq) (addResp, error) {
		return addResp{Sum: r.A + r.B}, nil
	})
	passThrough := middleware.WrapFunc(func(_ *middleware.Spec, next middleware.Handler) middleware.Handler { return next })
	c.UseClientSide(passThrough)
	c.UseServerSide(o.mw("S1"))
	if got, err := h.Call(context.Background(), addReq{A: 1, B: 2}); err != nil || got.Sum != 3 {
		t.Fatalf("Call = %v, %v", got, err)
	}
	var resp addResp
	if err := c.Call(context.Background(), "math.Add", &addReq{A: 2, B: 2}, &resp); err != nil || resp.Sum != 4 {
		t.Fatalf("Call by name = %v, %v", resp, err)
	}
	if got, want := strings.Join(o.log, " "), "S1>server <S1 S1>server <S1"; got != want {
		t.Fatalf("order:\n got %s\nwant %s", got, want)
	}
}

func TestMiddlewareSeesSpecAtWrap(t *testing.T) {
	t.Parallel()
	c := catalog.New()
	cacheable := middleware.NewKey[bool]("test.cacheable")
	var wrapped []string
	skip := middleware.WrapFunc(func(spec *middleware.Spec, next middleware.Handler) middleware.Handler {
		wrapped = append(wrapped, spec.Name)
		if on, _ := cacheable.Get(spec.Attributes); !on {
			return next
		}
		return func(ctx context.Context, c *middleware.Call) error {
			*c.Response.(*addResp) = addResp{Sum: -1} // a "cache hit"
			return nil
		}
	})
	c.UseClientSide(skip)
	plain := mustRegister(t, c, "math.Plain", sum)
	cached := mustRegister(t, c, "math.Cached", sum, catalog.With(cacheable.Value(true)))
	if got, _ := plain.Call(context.Background(), addReq{A: 1}); got.Sum != 1 {
		t.Fatalf("plain = %v", got)
	}
	if got, _ := cached.Call(context.Background(), addReq{A: 1}); got.Sum != -1 {
		t.Fatalf("cached = %v, want the middleware's response", got)
	}
	if len(wrapped) == 0 {
		t.Fatal("middleware was never asked to wrap")
	}
}

func TestErrorPassesThroughAndResponseIsZero(t *testing.T) {
	t.Parallel()
	c := catalog.New()
	notFound := errs.NotFound(errs.P("id", "7"))
	h := mustRegister(t, c, "math.Fail", func(context.Context, addReq) (addResp, error) {
		return addResp{Sum: 42}, notFound
	}, catalog.ServerSide(middleware.Func(func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, c *middleware.Call) error { return next(ctx, c) }
	})))
	got, err := h.Call(context.Background(), addReq{})
	if err != notFound || got.Sum != 0 {
		t.Fatalf("Call = %v, %v; want zero response and the command's error", got, err)
	}
}

// fakeRoute is a Route that serves calls with a function, as a transport
// client would after a network round trip.
type fakeRoute struct {
	node  string
	calls int
	mu    sync.Mutex
}

func (r *fakeRoute) Bind(spec *middleware.Spec) (middleware.Handler, error) {
	if spec.Name == "math.Unbindable" {
		return nil, errors.New("no codec")
	}
	return func(ctx context.Context, c *middleware.Call) error {
		r.mu.Lock()
		r.calls++
		r.mu.Unlock()
		c.Node = r.node
		req := c.Request.(*addReq)
		*c.Response.(*addResp) = addResp{Sum: 100 + req.A + req.B}
		return nil
	}, nil
}

// Overlapping route patterns: the most specific wins whatever the order
// they were set in, the same rule as middleware.PerCommand's.
func TestRoutePrecedence(t *testing.T) {
	t.Parallel()
	for _, order := range [][]string{
		{"*", "billing.*", "billing.invoices.*", "billing.invoices.Create"},
		{"billing.invoices.Create", "billing.invoices.*", "billing.*", "*"},
		{"billing.invoices.*", "*", "billing.invoices.Create", "billing.*"},
	} {
		c := catalog.New()
		cmds := map[string]*catalog.Command[addReq, addResp]{}
		for _, name := range []string{"billing.invoices.Create", "billing.invoices.Void", "billing.Charge", "orders.Place"} {
			cmds[name] = mustRegister(t, c, name, sum)
		}
		routes := map[string]*fakeRoute{}
		for _, p := range order {
			routes[p] = &fakeRoute{node: p}
			if err := c.SetRoute(p, routes[p]); err != nil {
				t.Fatal(err)
			}
		}
		settings := middleware.PerCommand[string]{}
		for _, p := range order {
			settings[strings.ToLower(p)] = p // as a configuration file gives them
		}
		for name, want := range map[string]string{
			"billing.invoices.Create": "billing.invoices.Create",
			"billing.invoices.Void":   "billing.invoices.*",
			"billing.Charge":          "billing.*",
			"orders.Place":            "*",
		} {
			before := routes[want].calls
			cmds[name].Call(context.Background(), addReq{})
			if routes[want].calls != before+1 {
				t.Errorf("order %v: %s did not go to %s", order, name, want)
			}
			if got, _ := settings.Match(name); got != want {
				t.Errorf("order %v: Match(%s) = %s, want %s", order, name, got, want)
			}
		}
	}
	if err := catalog.New().SetRoute("billing", &fakeRoute{}); !errors.Is(err, catalog.ErrInvalidName) {
		t.Errorf("a bare service name: %v", err)
	}
}

func TestRoutes(t *testing.T) {
	t.Parallel()
	c := catalog.New()
	h := mustRegister(t, c, "math.Add", sum)
	ctx := context.Background()
	service, exact := &fakeRoute{node: "svc"}, &fakeRoute{node: "exact"}
	if err := c.SetRoute("math.*", service); err != nil {
		t.Fatal(err)
	}
	if got, _ := h.Call(ctx, addReq{A: 1}); got.Sum != 101 || !h.Routed() {
		t.Fatalf("routed call = %v", got)
	}
	if err := c.SetRoute("math.Add", exact); err != nil {
		t.Fatal(err)
	}
	h.Call(ctx, addReq{})
	if exact.calls != 1 || service.calls != 1 {
		t.Fatalf("the exact rule must win: exact %d, service %d", exact.calls, service.calls)
	}
	// A command registered after the rule follows it.
	later := mustRegister(t, c, "math.Later", sum)
	if got, _ := later.Call(ctx, addReq{A: 1}); got.Sum != 101 {
		t.Fatalf("later command not routed: %v", got)
	}
	// Serve never uses the route.
	var resp addResp
	if err := h.Serve(ctx, &addReq{A: 1}, &resp); err != nil || resp.Sum != 1 {
		t.Fatalf("Serve = %v, %v", resp, err)
	}
	// Removing the rules makes calls local again.
	c.SetRoute("math.Add", nil)
	c.SetRoute("math.*", nil)
	if got, _ := h.Call(ctx, addReq{A: 1}); got.Sum != 1 || h.Routed() {
		t.Fatalf("after removal = %v", got)
	}
	// A route that cannot bind a command is refused and nothing changes.
	mustRegister(t, c, "math.Unbindable", sum)
	if err := c.SetRoute("*", service); err == nil || !strings.Contains(err.Error(), "no codec") {
		t.Fatalf("SetRoute with a failing bind: %v", err)
	}
	if h.Routed() {
		t.Fatal("a failed SetRoute changed the routes")
	}
	if err := c.SetRoute("not a pattern", service); !errors.Is(err, catalog.ErrInvalidName) {
		t.Fatalf("bad pattern: %v", err)
	}
}

func TestReplace(t *testing.T) {
	t.Parallel()
	c := catalog.New()
	h := mustRegister(t, c, "math.Add", sum)
	ctx := context.Background()
	undo, err := catalog.Replace(h, func(context.Context, addReq) (addResp, error) { return addResp{Sum: -7}, nil })
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := h.Call(ctx, addReq{A: 1}); got.Sum != -7 {
		t.Fatalf("handle does not see the fake: %v", got)
	}
	var resp addResp
	if c.Call(ctx, "math.Add", &addReq{}, &resp); resp.Sum != -7 {
		t.Fatalf("by name does not see the fake: %v", resp)
	}
	// A fake runs locally even when the command is routed.
	c.SetRoute("math.*", &fakeRoute{})
	if got, _ := h.Call(ctx, addReq{A: 1}); got.Sum != -7 {
		t.Fatalf("routed command does not see the fake: %v", got)
	}
	undo()
	undo() // idempotent
	if got, _ := h.Call(ctx, addReq{A: 1}); got.Sum != 101 {
		t.Fatalf("after undo, want the route back: %v", got)
	}
	if _, err := catalog.Replace[addReq, addResp](h, nil); !errors.Is(err, catalog.ErrNilFunc) {
		t.Fatalf("nil fake: %v", err)
	}
}

type store interface{ Get(string) int }
type mapStore map[string]int

func (m mapStore) Get(k string) int { return m[k] }

func TestDependencies(t *testing.T) {
	t.Parallel()
	c := catalog.New()
	d, err := catalog.ProvideIn[store](c, "test.store", mapStore{"a": 1})
	if err != nil {
		t.Fatal(err)
	}
	if s, err := d.From(c); err != nil || s.Get("a") != 1 {
		t.Fatalf("From = %v, %v", s, err)
	}
	ctx := catalog.NewContext(context.Background(), c)
	if s, err := d.Get(ctx); err != nil || s.Get("a") != 1 {
		t.Fatalf("Get(ctx) = %v, %v", s, err)
	}
	undo, err := catalog.ReplaceDep[store](c, d, mapStore{"a": 2})
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := d.From(c); s.Get("a") != 2 {
		t.Fatal("replacement not seen")
	}
	undo()
	if s, _ := d.From(c); s.Get("a") != 1 {
		t.Fatal("undo did not restore")
	}

	if _, err := catalog.Dep[store]("test.missing").From(c); !errors.Is(err, catalog.ErrUnknownDependency) {
		t.Fatalf("missing: %v", err)
	}
	if _, err := catalog.Dep[int]("test.store").From(c); !errors.Is(err, catalog.ErrWrongType) {
		t.Fatalf("wrong type: %v", err)
	}
	_, err = catalog.ProvideIn[store](c, "test.store", mapStore{})
	var re *catalog.RegistrationError
	if !errors.As(err, &re) || !errors.Is(err, catalog.ErrDuplicate) || re.Other == "" {
		t.Fatalf("duplicate: %v", err)
	}
	if _, err := catalog.ProvideIn[store](c, "test.nil", nil); !errors.Is(err, catalog.ErrNilFunc) {
		t.Fatalf("nil interface: %v", err)
	}
	if _, err := catalog.ProvideIn[*mapStore](c, "test.nilptr", nil); !errors.Is(err, catalog.ErrNilFunc) {
		t.Fatalf("nil pointer: %v", err)
	}
	if _, err := catalog.ProvideIn(c, " ", 1); !errors.Is(err, catalog.ErrInvalidName) {
		t.Fatalf("empty name: %v", err)
	}
	if _, err := catalog.ReplaceDep(c, catalog.Dep[store]("test.missing"), store(mapStore{})); !errors.Is(err, catalog.ErrNotRegistered) {
		t.Fatalf("replace missing: %v", err)
	}
	infos := c.Dependencies()
	if len(infos) != 1 || infos[0].Name != "test.store" || infos[0].Type.String() != "catalog_test.store" {
		t.Fatalf("Dependencies = %+v", infos)
	}
}

func TestCommandsListing(t *testing.T) {
	t.Parallel()
	c := catalog.New()
	for _, n := range []string{"b.Two", "a.One", "c.Three", "a.Zero"} {
		mustRegister(t, c, n, sum)
	}
	var names []string
	for _, e := range c.Commands() {
		names = append(names, e.Spec().Name)
		if e.Spec().Request.String() != "catalog_test.addReq" || e.Spec().Response.String() != "catalog_test.addResp" {
			t.Fatalf("types of %s: %v %v", e.Spec().Name, e.Spec().Request, e.Spec().Response)
		}
		if !strings.Contains(e.Site(), "catalog_test.go:") {
			t.Fatalf("site %q", e.Site())
		}
	}
	if got := strings.Join(names, ","); got != "a.One,a.Zero,b.Two,c.Three" {
		t.Fatalf("Commands = %s", got)
	}
	if s := c.Commands()[0].Spec(); s.Service() != "a" || s.Operation() != "One" {
		t.Fatalf("Service/Operation = %q %q", s.Service(), s.Operation())
	}
}

func TestCloneIsIndependent(t *testing.T) {
	t.Parallel()
	c := catalog.New()
	h := mustRegister(t, c, "math.Add", sum)
	d, _ := catalog.ProvideIn(c, "test.n", 1)
	clone := c.Clone()
	ch, err := h.In(clone)
	if err != nil || ch == h {
		t.Fatalf("In(clone) = %p, %v", ch, err)
	}
	undo, _ := catalog.Replace(ch, func(context.Context, addReq) (addResp, error) { return addResp{Sum: -1}, nil })
	defer undo()
	catalog.ReplaceDep(clone, d, 2)
	if got, _ := h.Call(context.Background(), addReq{A: 1}); got.Sum != 1 {
		t.Fatal("replacing in the clone changed the original")
	}
	if v, _ := d.From(c); v != 1 {
		t.Fatal("replacing a dependency in the clone changed the original")
	}
	mustRegister(t, clone, "math.New", sum)
	if _, ok := c.Entry("math.New"); ok {
		t.Fatal("registering in the clone changed the original")
	}
	// The context routes typed calls of the original's handle to the clone.
	ctx := catalog.NewContext(context.Background(), clone)
	if got, _ := h.Call(ctx, addReq{A: 1}); got.Sum != -1 {
		t.Fatalf("scoped call = %v, want the clone's fake", got)
	}
	// A stand-in that lacks the command gives a typed error.
	ctx = catalog.NewContext(context.Background(), c.CloneEmpty())
	if _, err := h.Call(ctx, addReq{}); !errors.Is(err, catalog.ErrUnknownCommand) {
		t.Fatalf("scope without the command: %v", err)
	}
	// A catalog that does not stand in for c does not capture c's handles.
	other := catalog.New()
	mustRegister(t, other, "math.Add", func(context.Context, addReq) (addResp, error) { return addResp{Sum: -2}, nil })
	ctx = catalog.NewContext(context.Background(), other)
	if got, err := h.Call(ctx, addReq{A: 1}); err != nil || got.Sum != 1 {
		t.Fatalf("unrelated catalog in the context: %v, %v; want c's own command", got, err)
	}
}

func TestConcurrentRegistrationAndCalls(t *testing.T) {
	t.Parallel()
	c := catalog.New()
	h := mustRegister(t, c, "math.Add", sum)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := range 200 {
				if _, err := catalog.RegisterIn(c, fmt.Sprintf("svc%d.Op%d", g, i), sum); err != nil {
					t.Error(err)
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			for i := range 2000 {
				if got, err := h.Call(context.Background(), addReq{A: i}); err != nil || got.Sum != i {
					t.Errorf("call during registration = %v, %v", got, err)
					return
				}
				var resp addResp
				if err := c.Call(context.Background(), "math.Add", &addReq{A: i}, &resp); err != nil || resp.Sum != i {
					t.Errorf("by name during registration = %v, %v", resp, err)
					return
				}
				if i%500 == 0 {
					c.UseServerSide(nil) // reconfiguring recomposes concurrently with calls
				}
			}
		}()
	}
	wg.Wait()
	if n := len(c.Commands()); n != 1+8*200 {
		t.Fatalf("commands = %d", n)
	}
	for g := range 8 {
		for i := range 200 {
			if _, ok := c.Entry(fmt.Sprintf("svc%d.Op%d", g, i)); !ok {
				t.Fatalf("svc%d.Op%d lost", g, i)
			}
		}
	}
}

// Middleware that return next for a command leave it on the direct path.
func TestPassThroughMiddlewareKeepDirectPath(t *testing.T) {
	c := catalog.New()
	wrapped := 0
	pass := middleware.WrapFunc(func(_ *middleware.Spec, next middleware.Handler) middleware.Handler {
		wrapped++
		return next
	})
	c.UseServerSide(pass)
	c.UseClientSide(pass)
	h := mustRegister(t, c, "math.Add", sum)
	ctx := context.Background()
	if n := testing.AllocsPerRun(100, func() { h.Call(ctx, addReq{A: 1}) }); n != 0 {
		t.Fatalf("%v allocs", n)
	}
	if wrapped == 0 || wrapped%2 != 0 {
		t.Fatalf("Wrap called %d times, want once per side per composition", wrapped)
	}
	if got, _ := h.Call(ctx, addReq{A: 2, B: 3}); got.Sum != 5 {
		t.Fatalf("Call = %v", got)
	}
}

// balancer routes to whichever node Pick chose, as an HTTP route with
// several base URLs does.
type balancer struct {
	nodes []string
	next  int
	mu    sync.Mutex
	seen  []string // the nodes client middleware saw
}

func (b *balancer) Pick() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := b.nodes[b.next%len(b.nodes)]
	b.next++
	return n
}

func (b *balancer) Bind(*middleware.Spec) (middleware.Handler, error) {
	return func(_ context.Context, c *middleware.Call) error {
		*c.Response.(*addResp) = addResp{Sum: len(c.Node)}
		return nil
	}, nil
}

func TestBalancerNodeIsSetBeforeTheClientChain(t *testing.T) {
	t.Parallel()
	c := catalog.New()
	b := &balancer{nodes: []string{"a:1", "bb:2"}}
	c.UseClientSide(middleware.Func(func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, call *middleware.Call) error {
			b.mu.Lock()
			b.seen = append(b.seen, call.Node)
			b.mu.Unlock()
			return next(ctx, call)
		}
	}))
	h := mustRegister(t, c, "math.Add", sum)
	c.SetRoute("math.*", b)
	h.Call(context.Background(), addReq{})
	var resp addResp
	c.Call(context.Background(), "math.Add", &addReq{}, &resp)
	if strings.Join(b.seen, ",") != "a:1,bb:2" || resp.Sum != 4 {
		t.Fatalf("client chain saw nodes %v; route answered %d", b.seen, resp.Sum)
	}
}

func TestNoAllocations(t *testing.T) {
	c := catalog.New()
	h := mustRegister(t, c, "math.Add", sum)
	ctx := context.Background()
	req, resp := &addReq{A: 1}, &addResp{}
	check := func(name string, f func()) {
		t.Helper()
		if n := testing.AllocsPerRun(1000, f); n != 0 {
			t.Errorf("%s: %v allocs per call, want 0", name, n)
		}
	}
	check("typed, empty chains", func() { h.Call(ctx, addReq{A: 1}) })
	check("by name, empty chains", func() { c.Call(ctx, "math.Add", req, resp) })
	for range 5 {
		c.UseServerSide(middleware.Func(func(next middleware.Handler) middleware.Handler {
			return func(ctx context.Context, c *middleware.Call) error { return next(ctx, c) }
		}))
		c.UseClientSide(middleware.Func(func(next middleware.Handler) middleware.Handler {
			return func(ctx context.Context, c *middleware.Call) error { return next(ctx, c) }
		}))
	}
	check("typed, 5+5 middleware", func() { h.Call(ctx, addReq{A: 1}) })
	check("by name, 5+5 middleware", func() { c.Call(ctx, "math.Add", req, resp) })
	check("serve, 5 middleware", func() { h.Serve(ctx, req, resp) })
}

func TestReplaceAny(t *testing.T) {
	t.Parallel()
	c := catalog.New()
	h := mustRegister(t, c, "math.Add", sum)
	var seen any
	undo, err := catalog.ReplaceAny(c, "math.Add", func(_ context.Context, req, resp any) error {
		seen = req
		resp.(*addResp).Sum = req.(*addReq).A * 100
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := h.Call(context.Background(), addReq{A: 3}); got.Sum != 300 {
		t.Fatalf("untyped fake not in effect: %v", got)
	}
	if _, ok := seen.(*addReq); !ok {
		t.Fatalf("fake saw %T, want *addReq", seen)
	}
	undo()
	if got, _ := h.Call(context.Background(), addReq{A: 3}); got.Sum != 3 {
		t.Fatalf("after undo: %v", got)
	}
	if _, err := catalog.ReplaceAny(c, "math.Nope", func(context.Context, any, any) error { return nil }); !errors.Is(err, catalog.ErrNotRegistered) {
		t.Fatalf("missing: %v", err)
	}
	if _, err := catalog.ReplaceAny(c, "math.Add", nil); !errors.Is(err, catalog.ErrNilFunc) {
		t.Fatalf("nil: %v", err)
	}
}

func TestRoutePatternsIgnoreCase(t *testing.T) {
	t.Parallel()
	c := catalog.New()
	h := mustRegister(t, c, "Math.Add", sum)
	if err := c.SetRoute("math.*", &fakeRoute{}); err != nil {
		t.Fatal(err)
	}
	if !h.Routed() {
		t.Fatal(`"math.*" must route "Math.Add" (configuration keys are lower-cased)`)
	}
	c.SetRoute("math.*", nil)
	c.SetRoute("math.add", &fakeRoute{})
	if !h.Routed() {
		t.Fatal(`"math.add" must route "Math.Add"`)
	}
	c.SetRoute("math.add", nil)
	mustRegister(t, c, "mathx.Sub", sum)
	c.SetRoute("math.*", &fakeRoute{})
	if e, _ := c.Entry("mathx.Sub"); e.Routed() {
		t.Fatal(`"math.*" must not route "mathx.Sub"`)
	}
}

// Similar names hash apart: a catalog of many services with the same
// operations keeps calls by name fast. A slow lookup would show as a
// timeout here only in the worst case, so the test checks correctness
// over a large catalog of look-alike names.
func TestManySimilarNames(t *testing.T) {
	t.Parallel()
	c := catalog.New()
	for s := range 100 {
		for o := range 100 {
			mustRegister(t, c, fmt.Sprintf("inventory%03d.Operation%02d", s, o), sum)
		}
	}
	var resp addResp
	for s := range 100 {
		for o := range 100 {
			name := fmt.Sprintf("inventory%03d.Operation%02d", s, o)
			if err := c.Call(context.Background(), name, &addReq{A: s, B: o}, &resp); err != nil || resp.Sum != s+o {
				t.Fatalf("%s = %v, %v", name, resp, err)
			}
		}
	}
	if err := c.Call(context.Background(), "inventory100.Operation00", &addReq{}, &resp); !errors.Is(err, catalog.ErrUnknownCommand) {
		t.Fatalf("missing name: %v", err)
	}
}

// An event entry has the Event kind in its specs, on both sides; its
// name cannot be taken again as a command, nor a command's as an event.
func TestAsEvent(t *testing.T) {
	t.Parallel()
	c := catalog.New()
	var sides []middleware.Kind
	c.UseServerSide(middleware.WrapFunc(func(spec *middleware.Spec, next middleware.Handler) middleware.Handler {
		sides = append(sides, spec.Kind)
		return nil
	}))
	h := mustRegister(t, c, "shop.OnOrder", func(context.Context, addReq) (struct{}, error) { return struct{}{}, nil }, catalog.AsEvent())
	if h.Spec().Kind != middleware.Event || len(sides) == 0 || sides[len(sides)-1] != middleware.Event {
		t.Fatalf("kind %v, server chain saw %v", h.Spec().Kind, sides)
	}
	_, err := catalog.DeclareIn[addReq, struct{}](c, "shop.OnOrder")
	if !errors.Is(err, catalog.ErrTypeMismatch) || !strings.Contains(err.Error(), "an event (package events) there") {
		t.Fatalf("a command over an event: %v", err)
	}
	mustRegister(t, c, "math.Add", sum)
	_, err = catalog.DeclareIn[addReq, addResp](c, "math.Add", catalog.AsEvent())
	if !errors.Is(err, catalog.ErrTypeMismatch) || !strings.Contains(err.Error(), "an event (package events) here, a unary command there") {
		t.Fatalf("an event over a command: %v", err)
	}
}

// RegisteredAt names the site its caller gives, in errors and listings.
func TestRegisteredAt(t *testing.T) {
	t.Parallel()
	c := catalog.New()
	h := mustRegister(t, c, "math.Add", sum, catalog.RegisteredAt("/src/api/topics.go:7"))
	if h.Site() != "/src/api/topics.go:7" {
		t.Fatalf("site %q", h.Site())
	}
	_, err := catalog.RegisterIn(c, "math.Add", sum, catalog.RegisteredAt("/src/svc/subs.go:9"))
	var re *catalog.RegistrationError
	if !errors.As(err, &re) || re.Site != "/src/svc/subs.go:9" || re.Other != "/src/api/topics.go:7" {
		t.Fatalf("duplicate: %v", err)
	}
	_, err = catalog.DeclareIn[addReq, addResp](c, "bad name", catalog.RegisteredAt("/src/x.go:1"))
	if !errors.As(err, &re) || re.Site != "/src/x.go:1" || !errors.Is(err, catalog.ErrInvalidName) {
		t.Fatalf("invalid name: %v", err)
	}
}
