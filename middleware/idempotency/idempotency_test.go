package idempotency_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/middleware"
	"github.com/wegomesh/wego/middleware/idempotency"
)

type placeReq struct {
	SKU    string            `json:"sku"`
	Qty    int               `json:"qty"`
	Tags   map[string]string `json:"tags,omitempty"`
	Tenant string            `header:"X-Tenant" json:"-"`
}

type order struct {
	ID    string   `json:"id"`
	Qty   int      `json:"qty"`
	Lines []string `json:"lines"`
}

// place is a command that counts its runs; each run makes a new order id,
// so a replay is told from a second run by its id.
type place struct {
	runs atomic.Int64
	fn   func(ctx context.Context, r placeReq) (order, error) // nil: succeed
}

func (p *place) call(ctx context.Context, r placeReq) (order, error) {
	n := p.runs.Add(1)
	if p.fn != nil {
		return p.fn(ctx, r)
	}
	return order{ID: fmt.Sprintf("o-%d", n), Qty: r.Qty, Lines: []string{r.SKU}}, nil
}

// setup registers p as orders.Place, accepting keys, behind m.
func setup(t testing.TB, m middleware.Middleware, p *place, opts ...catalog.Option) *catalog.Command[placeReq, order] {
	t.Helper()
	cat := catalog.New()
	cat.UseServerSide(m)
	opts = append([]catalog.Option{catalog.With(idempotency.Enabled.Value(true))}, opts...)
	h, err := catalog.RegisterIn(cat, "orders.Place", p.call, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func newMW(t testing.TB, cfg idempotency.Config, opts ...idempotency.Option) *idempotency.Middleware {
	t.Helper()
	m, err := idempotency.New(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func keyed(key string) context.Context { return idempotency.WithKey(context.Background(), key) }

func TestReplayRunsOnce(t *testing.T) {
	t.Parallel()
	p := &place{}
	h := setup(t, newMW(t, idempotency.DefaultConfig()), p)
	ctx := keyed("k-1")
	first, err := h.Call(ctx, placeReq{SKU: "apple", Qty: 2})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		again, err := h.Call(ctx, placeReq{SKU: "apple", Qty: 2})
		if err != nil || !reflect.DeepEqual(again, first) {
			t.Fatalf("retry = %+v, %v; want %+v", again, err, first)
		}
	}
	if n := p.runs.Load(); n != 1 {
		t.Fatalf("the command ran %d times, want 1", n)
	}
	// Another key is another request; no key is no protection.
	other, _ := h.Call(keyed("k-2"), placeReq{SKU: "apple", Qty: 2})
	plain1, _ := h.Call(context.Background(), placeReq{SKU: "apple", Qty: 2})
	plain2, _ := h.Call(context.Background(), placeReq{SKU: "apple", Qty: 2})
	if other.ID == first.ID || plain1.ID == plain2.ID || p.runs.Load() != 4 {
		t.Fatalf("other key %s, no key %s and %s after %s; runs %d", other.ID, plain1.ID, plain2.ID, first.ID, p.runs.Load())
	}
}

// The replayed response is a copy: a caller that changes its response
// does not change what the next retry gets.
func TestReplayIsACopy(t *testing.T) {
	t.Parallel()
	p := &place{}
	h := setup(t, newMW(t, idempotency.DefaultConfig()), p)
	first, _ := h.Call(keyed("k"), placeReq{SKU: "apple", Qty: 1})
	first.ID = "changed by the caller"
	again, _ := h.Call(keyed("k"), placeReq{SKU: "apple", Qty: 1})
	if again.ID != "o-1" {
		t.Fatalf("replay = %+v", again)
	}
}

func TestConcurrentDuplicatesRunOnce(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	p := &place{}
	p.fn = func(ctx context.Context, r placeReq) (order, error) {
		<-release
		return order{ID: "o-only", Qty: r.Qty}, nil
	}
	h := setup(t, newMW(t, idempotency.DefaultConfig()), p)
	const n = 50
	var wg sync.WaitGroup
	results := make([]order, n)
	errors := make([]error, n)
	for i := range n {
		wg.Go(func() { results[i], errors[i] = h.Call(keyed("dup"), placeReq{SKU: "pear", Qty: 5}) })
	}
	// Let the duplicates pile up behind the first attempt, then let it end.
	deadline := time.Now().Add(5 * time.Second)
	for p.runs.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	close(release)
	wg.Wait()
	for i := range n {
		if errors[i] != nil || results[i].ID != "o-only" {
			t.Fatalf("call %d = %+v, %v", i, results[i], errors[i])
		}
	}
	if got := p.runs.Load(); got != 1 {
		t.Fatalf("the command ran %d times for %d duplicates, want 1", got, n)
	}
}

func TestSameKeyDifferentRequestIs422(t *testing.T) {
	t.Parallel()
	p := &place{}
	h := setup(t, newMW(t, idempotency.DefaultConfig()), p)
	if _, err := h.Call(keyed("k"), placeReq{SKU: "apple", Qty: 1}); err != nil {
		t.Fatal(err)
	}
	for _, r := range []placeReq{
		{SKU: "apple", Qty: 2},
		{SKU: "pear", Qty: 1},
		{SKU: "apple", Qty: 1, Tags: map[string]string{"a": "b"}},
		{SKU: "apple", Qty: 1, Tenant: "acme"}, // a header-bound field (json:"-") is part of the request
	} {
		_, err := h.Call(keyed("k"), r)
		e, ok := errs.As(err)
		if !ok || !errors.Is(err, idempotency.ErrKeyReused) || e.Status() != http.StatusUnprocessableEntity || e.Kind() != errs.KindInvalidArgument {
			t.Errorf("%+v with a used key: %v, want %s (422)", r, err, idempotency.ErrKeyReused.Code())
		}
	}
	if n := p.runs.Load(); n != 1 {
		t.Fatalf("the command ran %d times, want 1", n)
	}
}

// Map keys in another order are the same request: the fingerprint is of
// the canonical JSON encoding.
func TestFingerprintIsCanonical(t *testing.T) {
	t.Parallel()
	p := &place{}
	h := setup(t, newMW(t, idempotency.DefaultConfig()), p)
	a := map[string]string{}
	b := map[string]string{}
	for i := range 20 {
		a[fmt.Sprint("k", i)] = "v"
		b[fmt.Sprint("k", 19-i)] = "v"
	}
	_, err1 := h.Call(keyed("k"), placeReq{SKU: "x", Tags: a})
	_, err2 := h.Call(keyed("k"), placeReq{SKU: "x", Tags: b})
	if err1 != nil || err2 != nil || p.runs.Load() != 1 {
		t.Fatalf("errors %v, %v; runs %d", err1, err2, p.runs.Load())
	}
}

// A different request under a key whose first attempt still runs is
// rejected at once, without waiting.
func TestDifferentRequestWhileInProgress(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	started := make(chan struct{})
	p := &place{fn: func(context.Context, placeReq) (order, error) {
		close(started)
		<-release
		return order{ID: "o"}, nil
	}}
	h := setup(t, newMW(t, idempotency.DefaultConfig()), p)
	done := make(chan error)
	go func() { _, err := h.Call(keyed("k"), placeReq{SKU: "a", Qty: 1}); done <- err }()
	<-started
	ctx, cancel := context.WithTimeout(keyed("k"), 5*time.Second)
	defer cancel()
	if _, err := h.Call(ctx, placeReq{SKU: "a", Qty: 9}); !errors.Is(err, idempotency.ErrKeyReused) {
		t.Errorf("different request while in progress: %v", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestOutcomesExpire(t *testing.T) {
	t.Parallel()
	store := idempotency.NewMemoryStore(0)
	var mu sync.Mutex
	now := time.Now()
	idempotency.SetClock(store, func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	cfg := idempotency.DefaultConfig()
	cfg.TTL = time.Hour
	p := &place{}
	h := setup(t, newMW(t, cfg, idempotency.WithStore(store)), p)
	first, _ := h.Call(keyed("k"), placeReq{SKU: "a", Qty: 1})
	mu.Lock()
	now = now.Add(59 * time.Minute)
	mu.Unlock()
	if again, _ := h.Call(keyed("k"), placeReq{SKU: "a", Qty: 1}); again.ID != first.ID {
		t.Fatalf("within the TTL: %s, want the replay of %s", again.ID, first.ID)
	}
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	if again, _ := h.Call(keyed("k"), placeReq{SKU: "a", Qty: 1}); again.ID == first.ID || p.runs.Load() != 2 {
		t.Fatalf("after the TTL: %s (first %s), runs %d", again.ID, first.ID, p.runs.Load())
	}
	// An expired key is free for another request too.
	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	if _, err := h.Call(keyed("k"), placeReq{SKU: "b", Qty: 3}); err != nil {
		t.Fatalf("a new request under an expired key: %v", err)
	}
}

// A first attempt whose caller went away leaves no outcome: the retry runs
// the command and gets its own.
func TestCanceledFirstAttemptLetsRetryRun(t *testing.T) {
	t.Parallel()
	started := make(chan struct{}, 1)
	p := &place{}
	p.fn = func(ctx context.Context, r placeReq) (order, error) {
		if p.runs.Load() == 1 {
			started <- struct{}{}
			<-ctx.Done()
			return order{}, errs.From(ctx.Err())
		}
		return order{ID: "o-retry", Qty: r.Qty}, nil
	}
	h := setup(t, newMW(t, idempotency.DefaultConfig()), p)
	ctx, cancel := context.WithCancel(keyed("k"))
	done := make(chan error)
	go func() { _, err := h.Call(ctx, placeReq{SKU: "a", Qty: 1}); done <- err }()
	<-started
	cancel()
	if err := <-done; errs.KindOf(err) != errs.KindCanceled {
		t.Fatalf("canceled attempt: %v", err)
	}
	got, err := h.Call(keyed("k"), placeReq{SKU: "a", Qty: 1})
	if err != nil || got.ID != "o-retry" || p.runs.Load() != 2 {
		t.Fatalf("retry = %+v, %v; runs %d", got, err, p.runs.Load())
	}
}

// Which errors are replayed and which let the next call run.
func TestWhichErrorsAreStored(t *testing.T) {
	t.Parallel()
	for _, k := range errs.Kinds() {
		t.Run(k.Code(), func(t *testing.T) {
			t.Parallel()
			p := &place{}
			p.fn = func(_ context.Context, r placeReq) (order, error) {
				if p.runs.Load() == 1 {
					return order{}, errs.New(k)
				}
				return order{ID: "o-2"}, nil
			}
			h := setup(t, newMW(t, idempotency.DefaultConfig()), p)
			_, err1 := h.Call(keyed("k"), placeReq{SKU: "a"})
			got, err2 := h.Call(keyed("k"), placeReq{SKU: "a"})
			stored := idempotency.Stored(k)
			switch {
			case errs.KindOf(err1) != k:
				t.Fatalf("first call: %v", err1)
			case stored && (errs.KindOf(err2) != k || p.runs.Load() != 1):
				t.Fatalf("a stored %s: retry got %+v, %v after %d runs", k, got, err2, p.runs.Load())
			case !stored && (err2 != nil || got.ID != "o-2" || p.runs.Load() != 2):
				t.Fatalf("a %s is not stored: retry got %+v, %v after %d runs", k, got, err2, p.runs.Load())
			}
		})
	}
	want := map[errs.Kind]bool{errs.KindInvalidArgument: true, errs.KindNotFound: true, errs.KindAlreadyExists: true,
		errs.KindConflict: true, errs.KindInternal: true}
	for _, k := range errs.Kinds() {
		if idempotency.Stored(k) != want[k] {
			t.Errorf("Stored(%s) = %v", k, !want[k])
		}
	}
}

// An untyped error is an internal one: stored, and replayed as it was.
func TestUntypedErrorIsStored(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	p := &place{fn: func(context.Context, placeReq) (order, error) { return order{}, boom }}
	h := setup(t, newMW(t, idempotency.DefaultConfig()), p)
	_, err1 := h.Call(keyed("k"), placeReq{})
	_, err2 := h.Call(keyed("k"), placeReq{})
	if !errors.Is(err1, boom) || !errors.Is(err2, boom) || p.runs.Load() != 1 {
		t.Fatalf("%v, %v after %d runs", err1, err2, p.runs.Load())
	}
}

// A panic leaves no outcome: the key is released at once, and the retry
// runs.
func TestPanicReleasesTheKey(t *testing.T) {
	t.Parallel()
	p := &place{}
	p.fn = func(context.Context, placeReq) (order, error) {
		if p.runs.Load() == 1 {
			panic("boom")
		}
		return order{ID: "o-2"}, nil
	}
	h := setup(t, newMW(t, idempotency.DefaultConfig()), p)
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the panic did not go through")
			}
		}()
		_, _ = h.Call(keyed("k"), placeReq{})
	}()
	ctx, cancel := context.WithTimeout(keyed("k"), 2*time.Second) // not the 1m lease
	defer cancel()
	got, err := h.Call(ctx, placeReq{})
	if err != nil || got.ID != "o-2" {
		t.Fatalf("retry after a panic: %+v, %v", got, err)
	}
}

// An attempt that hangs holds its key for its lease only: a retry waits
// until the lease ends, then runs. The hung attempt's late outcome is not
// stored, and that is logged.
func TestLeaseEnds(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	p := &place{}
	p.fn = func(context.Context, placeReq) (order, error) {
		if p.runs.Load() == 1 {
			started <- struct{}{}
			<-release
			return order{ID: "o-late"}, nil
		}
		return order{ID: "o-retry"}, nil
	}
	core, logs := observer.New(zap.WarnLevel)
	cfg := idempotency.DefaultConfig()
	cfg.Lease = 100 * time.Millisecond
	h := setup(t, newMW(t, cfg, idempotency.WithLogger(zap.New(core))), p)
	done := make(chan order)
	go func() { o, _ := h.Call(keyed("k"), placeReq{}); done <- o }()
	<-started
	begin := time.Now()
	got, err := h.Call(keyed("k"), placeReq{})
	if err != nil || got.ID != "o-retry" {
		t.Fatalf("retry: %+v, %v", got, err)
	}
	if waited := time.Since(begin); waited < 50*time.Millisecond {
		t.Errorf("the retry waited %s, less than the lease", waited)
	}
	close(release)
	if late := <-done; late.ID != "o-late" {
		t.Errorf("the late attempt got %+v", late)
	}
	if again, _ := h.Call(keyed("k"), placeReq{}); again.ID != "o-retry" {
		t.Errorf("the stored outcome is %+v, want the retry's", again)
	}
	if logs.FilterMessageSnippet("outlived its lease").Len() != 1 {
		t.Errorf("logs: %v", logs.All())
	}
}

// A duplicate's wait is bounded by its own context.
func TestWaitIsBoundedByTheCallersContext(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	started := make(chan struct{})
	p := &place{fn: func(context.Context, placeReq) (order, error) {
		close(started)
		<-release
		return order{ID: "o"}, nil
	}}
	h := setup(t, newMW(t, idempotency.DefaultConfig()), p)
	done := make(chan error)
	go func() { _, err := h.Call(keyed("k"), placeReq{}); done <- err }()
	<-started
	ctx, cancel := context.WithTimeout(keyed("k"), 30*time.Millisecond)
	defer cancel()
	if _, err := h.Call(ctx, placeReq{}); errs.KindOf(err) != errs.KindDeadlineExceeded {
		t.Errorf("a duplicate past its deadline: %v", err)
	}
	close(release)
	if err := <-done; err != nil || p.runs.Load() != 1 {
		t.Fatalf("%v, runs %d", err, p.runs.Load())
	}
}

// Commands opt in; the others ignore keys and get next itself.
func TestOptIn(t *testing.T) {
	t.Parallel()
	next := func(context.Context, *middleware.Call) error { return nil }
	spec := func(name string, attrs ...middleware.Attr) *middleware.Spec {
		return &middleware.Spec{Name: name, Request: reflect.TypeFor[placeReq](), Response: reflect.TypeFor[order](),
			Attributes: middleware.NewAttributes(attrs...)}
	}
	on := idempotency.Enabled.Value(true)
	cfg := idempotency.DefaultConfig()
	cfg.Commands = map[string]idempotency.CommandConfig{
		"billing.*":      {Enabled: true, TTL: time.Minute},
		"billing.Report": {Disable: true},
		"orders.cancel":  {Enabled: true}, // keys are lower-cased by the loader
	}
	m := newMW(t, cfg)
	for _, tc := range []struct {
		spec *middleware.Spec
		want bool
	}{
		{spec("orders.Place", on), true},
		{spec("orders.Get"), false},
		{spec("orders.Cancel"), true},
		{spec("billing.Charge"), true},
		{spec("billing.Report", on), false},
	} {
		h := m.Wrap(tc.spec, next)
		if wrapped := h != nil; wrapped != tc.want {
			t.Errorf("%s: wrapped %v, want %v", tc.spec.Name, wrapped, tc.want)
		}
	}
	if p, ok := cfg.For(spec("billing.Charge")); !ok || p.TTL != time.Minute || p.Lease != idempotency.DefaultLease {
		t.Errorf("For(billing.Charge) = %+v, %v", p, ok)
	}

	// Through a catalog: a command without the attribute runs every time.
	p := &place{}
	cat := catalog.New()
	cat.UseServerSide(m)
	h, _ := catalog.RegisterIn(cat, "orders.Get", p.call)
	a, _ := h.Call(keyed("k"), placeReq{})
	b, _ := h.Call(keyed("k"), placeReq{})
	if a.ID == b.ID || p.runs.Load() != 2 {
		t.Fatalf("a command that does not accept keys replayed: %s, %s", a.ID, b.ID)
	}
}

// Keys are scoped by principal: two callers who choose one key do not
// share an outcome.
func TestPrincipalScopesKeys(t *testing.T) {
	t.Parallel()
	type principalKey struct{}
	principal := func(ctx context.Context) (string, bool) {
		p, ok := ctx.Value(principalKey{}).(string)
		return p, ok
	}
	p := &place{}
	h := setup(t, newMW(t, idempotency.DefaultConfig(), idempotency.WithPrincipal(principal)), p)
	alice := context.WithValue(keyed("k"), principalKey{}, "alice")
	bob := context.WithValue(keyed("k"), principalKey{}, "bob")
	a1, _ := h.Call(alice, placeReq{SKU: "a"})
	b1, _ := h.Call(bob, placeReq{SKU: "a"})
	a2, _ := h.Call(alice, placeReq{SKU: "a"})
	if a1.ID == b1.ID || a2.ID != a1.ID || p.runs.Load() != 2 {
		t.Fatalf("alice %s then %s, bob %s; runs %d", a1.ID, a2.ID, b1.ID, p.runs.Load())
	}
	// Bob's key is his: a different request under it is no conflict for Alice.
	if _, err := h.Call(alice, placeReq{SKU: "b"}); !errors.Is(err, idempotency.ErrKeyReused) {
		t.Fatalf("alice reusing her key: %v", err)
	}
}

func TestInvalidKeyInContext(t *testing.T) {
	t.Parallel()
	p := &place{}
	h := setup(t, newMW(t, idempotency.DefaultConfig()), p)
	for _, k := range []string{strings.Repeat("k", 256), "tab\there", "ñ", "nul\x00"} {
		if _, err := h.Call(keyed(k), placeReq{}); !errors.Is(err, idempotency.ErrInvalidKey) || errs.KindOf(err) != errs.KindInvalidArgument {
			t.Errorf("key %q: %v", k, err)
		}
	}
	if p.runs.Load() != 0 {
		t.Fatalf("runs %d", p.runs.Load())
	}
}

func TestKeys(t *testing.T) {
	t.Parallel()
	for k, want := range map[string]bool{
		"": false, "a": true, " ": true, "~": true, strings.Repeat("x", 255): true, strings.Repeat("x", 256): false,
		"8e03978e-40d5-43e8-bc93-6894a57f9324": true, `"quoted"`: true, "a\nb": false, "\x7f": false, "é": false,
	} {
		if got := idempotency.ValidKey(k); got != want {
			t.Errorf("ValidKey(%q) = %v", k, got)
		}
		if err := idempotency.CheckKey(k); (err == nil) != want || (err != nil && !errors.Is(err, idempotency.ErrInvalidKey)) {
			t.Errorf("CheckKey(%q) = %v", k, err)
		}
	}
	ctx := context.Background()
	if _, ok := idempotency.KeyFrom(ctx); ok {
		t.Error("a key in a bare context")
	}
	ctx = idempotency.WithKey(ctx, "k1")
	if k, ok := idempotency.KeyFrom(ctx); !ok || k != "k1" {
		t.Errorf("KeyFrom = %q, %v", k, ok)
	}
	inner := idempotency.WithKey(ctx, "k2")
	if k, _ := idempotency.KeyFrom(inner); k != "k2" {
		t.Errorf("KeyFrom(inner) = %q", k)
	}
	if _, ok := idempotency.KeyFrom(idempotency.WithKey(inner, "")); ok {
		t.Error("WithKey(ctx, \"\") keeps a key")
	}
	if bare := context.Background(); idempotency.WithKey(bare, "") != bare {
		t.Error("WithKey(ctx without a key, \"\") made a new context")
	}
}

// Not parallel: AllocsPerRun. A call without a key allocates no more with
// the middleware than through a pass-through one, and reading a key
// allocates nothing.
func TestNoKeyAllocatesNothing(t *testing.T) {
	inner := idempotency.WithKey(context.Background(), "k")
	if a := testing.AllocsPerRun(100, func() { _, _ = idempotency.KeyFrom(inner) }); a != 0 {
		t.Errorf("KeyFrom allocates %v times", a)
	}
	pass := middleware.Func(func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, c *middleware.Call) error { return next(ctx, c) }
	})
	base := setup(t, pass, &place{fn: func(context.Context, placeReq) (order, error) { return order{}, nil }})
	with := setup(t, newMW(t, idempotency.DefaultConfig()), &place{fn: func(context.Context, placeReq) (order, error) { return order{}, nil }})
	ctx := context.Background()
	r := placeReq{SKU: "a"}
	a0 := testing.AllocsPerRun(200, func() { _, _ = base.Call(ctx, r) })
	a1 := testing.AllocsPerRun(200, func() { _, _ = with.Call(ctx, r) })
	if a1 > a0 {
		t.Errorf("a call without a key allocates %v times with the middleware, %v without", a1, a0)
	}
}

// failingStore fails every operation.
type failingStore struct{ idempotency.Store }

func (failingStore) Reserve(context.Context, string, idempotency.Attempt) (idempotency.Record, bool, error) {
	return idempotency.Record{}, false, errors.New("store down at 10.0.0.7:6379")
}

func TestStoreFailureIsUnavailable(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zap.WarnLevel)
	p := &place{}
	h := setup(t, newMW(t, idempotency.DefaultConfig(), idempotency.WithStore(failingStore{}), idempotency.WithLogger(zap.New(core))), p)
	_, err := h.Call(keyed("k"), placeReq{})
	e, ok := errs.As(err)
	if !ok || !errors.Is(err, idempotency.ErrUnavailable) || e.Status() != http.StatusServiceUnavailable ||
		strings.Contains(e.Message(), "10.0.0.7") || p.runs.Load() != 0 {
		t.Fatalf("a failed store: %v (runs %d)", err, p.runs.Load())
	}
	if logs.FilterMessage("idempotency: store failed").Len() != 1 {
		t.Errorf("logs: %v", logs.All())
	}
	// A call without a key does not touch the store.
	if _, err := h.Call(context.Background(), placeReq{}); err != nil {
		t.Fatal(err)
	}
}

// serializingStore keeps records as a shared store would: responses as
// JSON, errors rebuilt with errs.Remote; it cannot notify, so waiting
// calls poll it.
type serializingStore struct {
	mu      sync.Mutex
	records map[string]idempotency.Record
	tokens  map[string]uint64
	gets    atomic.Int64
}

func (s *serializingStore) Reserve(_ context.Context, key string, a idempotency.Attempt) (idempotency.Record, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.records[key]; ok && time.Now().Before(r.Expires) {
		return r, false, nil
	}
	s.records[key] = idempotency.Record{Fingerprint: a.Fingerprint, Expires: time.Now().Add(a.Lease)}
	s.tokens[key] = a.Token
	return idempotency.Record{}, true, nil
}

func (s *serializingStore) Complete(_ context.Context, key string, token uint64, rec idempotency.Record, ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tokens[key] != token {
		return idempotency.ErrLeaseLost
	}
	if rec.Err != nil {
		e := errs.From(rec.Err)
		rec.Err = errs.Remote(e.Status(), e.Code(), e.Message(), e.Params(), e.Fields())
	} else {
		b, err := json.Marshal(rec.Response)
		if err != nil {
			return err
		}
		rec.Response = json.RawMessage(b)
	}
	rec.Expires = time.Now().Add(ttl)
	s.records[key] = rec
	return nil
}

func (s *serializingStore) Release(_ context.Context, key string, token uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tokens[key] != token {
		return idempotency.ErrLeaseLost
	}
	delete(s.records, key)
	return nil
}

func (s *serializingStore) Get(_ context.Context, key string) (idempotency.Record, bool, error) {
	s.gets.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.records[key]
	return r, ok, nil
}

func TestSerializingStore(t *testing.T) {
	t.Parallel()
	store := &serializingStore{records: map[string]idempotency.Record{}, tokens: map[string]uint64{}}
	release := make(chan struct{})
	p := &place{}
	p.fn = func(_ context.Context, r placeReq) (order, error) {
		if r.SKU == "unknown" {
			return order{}, errs.NotFound(errs.P("sku", r.SKU))
		}
		<-release
		return order{ID: "o-json", Qty: r.Qty, Lines: []string{"l1"}}, nil
	}
	h := setup(t, newMW(t, idempotency.DefaultConfig(), idempotency.WithStore(store)), p)
	var wg sync.WaitGroup
	got := make([]order, 5)
	for i := range got {
		wg.Go(func() { got[i], _ = h.Call(keyed("k"), placeReq{SKU: "a", Qty: 3}) })
	}
	time.Sleep(30 * time.Millisecond)
	close(release)
	wg.Wait()
	want := order{ID: "o-json", Qty: 3, Lines: []string{"l1"}}
	for i := range got {
		if !reflect.DeepEqual(got[i], want) {
			t.Fatalf("call %d = %+v", i, got[i])
		}
	}
	if p.runs.Load() != 1 || store.gets.Load() == 0 {
		t.Fatalf("runs %d, polls %d", p.runs.Load(), store.gets.Load())
	}
	_, err1 := h.Call(keyed("e"), placeReq{SKU: "unknown"})
	_, err2 := h.Call(keyed("e"), placeReq{SKU: "unknown"})
	if errs.CodeOf(err2) != errs.CodeOf(err1) || errs.KindOf(err2) != errs.KindNotFound || p.runs.Load() != 2 {
		t.Fatalf("replayed error %v (first %v), runs %d", err2, err1, p.runs.Load())
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	if err := idempotency.DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		cfg  idempotency.Config
		want string
	}{
		{idempotency.Config{TTL: -1}, "middleware.idempotency.ttl: must not be negative"},
		{idempotency.Config{Lease: -1}, "middleware.idempotency.lease"},
		{idempotency.Config{MaxEntries: -1}, "middleware.idempotency.max_entries"},
		{idempotency.Config{Commands: map[string]idempotency.CommandConfig{"orders": {}}}, `commands["orders"]: not a command pattern`},
		{idempotency.Config{Commands: map[string]idempotency.CommandConfig{"a.B": {Enabled: true, Disable: true}}}, "both set"},
		{idempotency.Config{Commands: map[string]idempotency.CommandConfig{"a.B": {TTL: -time.Second}}}, `commands["a.B"].ttl`},
		{idempotency.Config{Commands: map[string]idempotency.CommandConfig{"a.*": {Lease: -time.Second}}}, `commands["a.*"].lease`},
	} {
		// Validate names the key relative to the section; New, under it.
		err := tc.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), strings.TrimPrefix(tc.want, idempotency.Section+".")) {
			t.Errorf("%+v: %v, want %q", tc.cfg, err, tc.want)
		}
		if _, err := idempotency.New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want %q", tc.cfg, err, tc.want)
		}
	}
}
