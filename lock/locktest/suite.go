// Package locktest is the conformance suite of package lock on a store
// backend: every backend with time-to-lives and compare-and-set runs it,
// so that its locks keep the same promises as any other's.
//
//	func TestLocks(t *testing.T) {
//		locktest.Run(t, func(t *testing.T) store.Store { return openBackend(t) })
//	}
//
// The suite checks that a lock has one holder at a time — two contenders
// taking a lock many times never overlap, as their fencing tokens prove;
// that tokens grow with every acquisition; that TryAcquire fails at once
// with lock.ErrHeld and Acquire waits until the lock is released or
// expires; that refreshes and KeepAlive keep a lease beyond its
// time-to-live, and that a holder that stops refreshing (paused, or cut
// off from the store as a dead process is) loses its lock within its
// time-to-live, after which its late fenced write is rejected with
// store.ErrFenced; and that an election fails over within the
// time-to-live and a second, and its observers see it.
package locktest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/lock"
	"github.com/wegomesh/wego/store"
)

// TTL is the time-to-live of the suite's leases: NATS key-value counts
// time-to-lives in whole seconds, so one second is the shortest every
// backend honours.
const TTL = time.Second

// Slack is how much later than its time-to-live the suite accepts that a
// lock is free again: the time for the change to travel through the
// backend, and the granularity with which a backend expires records.
const Slack = time.Second

// Option tunes the suite for a backend.
type Option interface{ apply(*options) }

type options struct{ acquisitions int }

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// WithAcquisitions sets how many times each of two contenders takes one
// lock in the overlap test. Default: 1,000, or 100 with -short.
func WithAcquisitions(n int) Option {
	return optionFunc(func(o *options) {
		if n > 0 {
			o.acquisitions = n
		}
	})
}

// Run runs the suite. open is called once per subtest, which runs in
// parallel with the others, and returns an empty store that the subtest
// alone uses; the caller closes it (with t.Cleanup).
func Run(t *testing.T, open func(t *testing.T) store.Store, opts ...Option) {
	o := options{acquisitions: 1000}
	if testing.Short() {
		o.acquisitions = 100
	}
	for _, opt := range opts {
		opt.apply(&o)
	}
	tests := []struct {
		name string
		run  func(t *testing.T, s store.Store, o options)
	}{
		{"TryAcquireRelease", testTryAcquireRelease},
		{"InvalidArguments", testInvalid},
		{"NamesAreIndependent", testNames},
		{"AcquireWaitsForRelease", testAcquireWaits},
		{"AcquireEndsWithItsContext", testAcquireContext},
		{"RefreshExtends", testRefresh},
		{"ExpiresWithoutRefresh", testExpiry},
		{"KeepAlive", testKeepAlive},
		{"PausedHolderIsFenced", testPausedHolder},
		{"DeadHolderIsFenced", testDeadHolder},
		{"NoOverlappingHolds", testNoOverlap},
		{"Election", testElection},
		{"ElectionFailover", testFailover},
		{"StoreWithoutTTL", testNoTTL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, open(t), o)
		})
	}
}

// ctxT returns a context that ends with the test, or after d.
func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

// must returns a function that returns v, or fails t if err is not nil:
// must(f())(t).
func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// wantErr fails t unless err matches target and has kind.
func wantErr(t *testing.T, what string, err, target error, kind errs.Kind) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: %v, want an error matching %v", what, err, target)
	}
	var e *errs.Error
	if !errors.As(err, &e) || e.Kind() != kind {
		t.Fatalf("%s: %v, want kind %v", what, err, kind)
	}
}

// closed reports whether ch is closed within d.
func closed(ch <-chan struct{}, d time.Duration) bool {
	select {
	case <-ch:
		return true
	default:
	}
	select {
	case <-ch:
		return true
	case <-time.After(d):
		return false
	}
}

func testTryAcquireRelease(t *testing.T, s store.Store, _ options) {
	ctx := ctxT(t, 30*time.Second)
	l := lock.New(s)
	a := must(l.TryAcquire(ctx, "orders", TTL))(t)
	if a.Token() == 0 || a.Name() != "orders" {
		t.Fatalf("lease %q with token %d", a.Name(), a.Token())
	}
	_, err := l.TryAcquire(ctx, "orders", TTL)
	wantErr(t, "TryAcquire of a held lock", err, lock.ErrHeld, errs.KindConflict)
	_, err = lock.New(s).TryAcquire(ctx, "orders", TTL)
	wantErr(t, "TryAcquire of a held lock by another locker", err, lock.ErrHeld, errs.KindConflict)
	if closed(a.Lost(), 0) {
		t.Fatal("Lost closed while the lease is held")
	}
	if err := a.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if !closed(a.Lost(), 0) {
		t.Fatal("Lost not closed after Release")
	}
	if err := a.Release(ctx); err != nil {
		t.Fatalf("second Release: %v", err)
	}
	wantErr(t, "Refresh after Release", a.Refresh(ctx), lock.ErrLost, errs.KindConflict)
	b := must(l.TryAcquire(ctx, "orders", TTL))(t)
	if b.Token() <= a.Token() {
		t.Fatalf("token %d after token %d: tokens must grow", b.Token(), a.Token())
	}
	if err := b.Release(ctx); err != nil {
		t.Fatal(err)
	}
}

func testInvalid(t *testing.T, s store.Store, _ options) {
	ctx := ctxT(t, 30*time.Second)
	l := lock.New(s)
	for _, name := range []string{"", "_x", "a b", ".a", "a..b"} {
		_, err := l.TryAcquire(ctx, name, TTL)
		wantField(t, "TryAcquire "+strconv.Quote(name), err, "name")
		_, err = l.Acquire(ctx, name, TTL)
		wantField(t, "Acquire "+strconv.Quote(name), err, "name")
		_, err = l.Campaign(ctx, name, "n1", TTL)
		wantField(t, "Campaign "+strconv.Quote(name), err, "name")
		_, err = l.Leader(ctx, name)
		wantField(t, "Leader "+strconv.Quote(name), err, "name")
		_, err = l.Observe(ctx, name)
		wantField(t, "Observe "+strconv.Quote(name), err, "name")
	}
	for _, ttl := range []time.Duration{0, -time.Second} {
		_, err := l.TryAcquire(ctx, "a", ttl)
		wantField(t, "TryAcquire with ttl "+ttl.String(), err, "ttl")
		_, err = l.Acquire(ctx, "a", ttl)
		wantField(t, "Acquire with ttl "+ttl.String(), err, "ttl")
	}
	_, err := l.Campaign(ctx, "a", "", TTL)
	wantField(t, "Campaign with an empty id", err, "id")
}

func wantField(t *testing.T, what string, err error, field string) {
	t.Helper()
	wantErr(t, what, err, store.ErrInvalid, errs.KindInvalidArgument)
	var e *errs.Error
	errors.As(err, &e)
	if got, _ := e.Param("field"); got != field {
		t.Fatalf("%s: %v names field %q, want %q", what, err, got, field)
	}
}

func testNames(t *testing.T, s store.Store, _ options) {
	ctx := ctxT(t, 30*time.Second)
	l := lock.New(s)
	a := must(l.TryAcquire(ctx, "a", TTL))(t)
	b := must(l.TryAcquire(ctx, "b", TTL))(t)
	ab := must(l.TryAcquire(ctx, "a.b", TTL))(t)
	term := must(l.Campaign(ctx, "a", "n1", TTL))(t)
	// The records are the lock's own: an application's key "a" is free.
	if _, err := s.Put(ctx, "a", []byte("v"), store.PutOptions{Create: true}); err != nil {
		t.Fatalf("Put of the application's key a while lock a is held: %v", err)
	}
	for _, ls := range []*lock.Lease{a, b, ab} {
		if err := ls.Release(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := term.Resign(ctx); err != nil {
		t.Fatal(err)
	}
}

func testAcquireWaits(t *testing.T, s store.Store, _ options) {
	ctx := ctxT(t, 30*time.Second)
	a := must(lock.New(s).Acquire(ctx, "orders", 30*time.Second))(t)
	got := make(chan *lock.Lease, 1)
	go func() {
		ls, err := lock.New(s).Acquire(ctx, "orders", 30*time.Second)
		if err != nil {
			t.Error(err)
		}
		got <- ls
	}()
	select {
	case <-got:
		t.Fatal("Acquire took a held lock")
	case <-time.After(200 * time.Millisecond):
	}
	released := time.Now()
	if err := a.Release(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case b := <-got:
		if b == nil {
			return
		}
		if b.Token() <= a.Token() {
			t.Errorf("token %d after token %d: tokens must grow", b.Token(), a.Token())
		}
		t.Logf("the waiter took the lock %v after its release", time.Since(released).Round(time.Millisecond))
		if err := b.Release(ctx); err != nil {
			t.Fatal(err)
		}
	case <-time.After(Slack):
		t.Fatal("Acquire still waits a second after the lock was released")
	}
}

func testAcquireContext(t *testing.T, s store.Store, _ options) {
	ctx := ctxT(t, 30*time.Second)
	a := must(lock.New(s).Acquire(ctx, "orders", 30*time.Second))(t)
	wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := lock.New(s).Acquire(wctx, "orders", 30*time.Second)
	wantErr(t, "Acquire of a held lock until its context ends", err, lock.ErrHeld, errs.KindConflict)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Acquire: %v, want an error matching context.DeadlineExceeded too", err)
	}
	if d := time.Since(start); d > 300*time.Millisecond+Slack/2 {
		t.Errorf("Acquire returned %v after its context's deadline of 300ms", d)
	}
	if err := a.Release(ctx); err != nil {
		t.Fatal(err)
	}
}

func testRefresh(t *testing.T, s store.Store, _ options) {
	ctx := ctxT(t, 30*time.Second)
	a := must(lock.New(s).TryAcquire(ctx, "orders", TTL))(t)
	other := lock.New(s)
	end := time.Now().Add(3 * TTL)
	for time.Now().Before(end) {
		time.Sleep(TTL / 4) // a refresh may take up to 3/4 of the TTL on a loaded machine
		if err := a.Refresh(ctx); err != nil {
			t.Fatalf("Refresh: %v", err)
		}
		if _, err := other.TryAcquire(ctx, "orders", TTL); !errors.Is(err, lock.ErrHeld) {
			t.Fatalf("TryAcquire of a lock refreshed within its TTL: %v, want lock.ErrHeld", err)
		}
	}
	if closed(a.Lost(), 0) {
		t.Fatal("Lost closed while the lease was refreshed")
	}
	if err := a.Release(ctx); err != nil {
		t.Fatal(err)
	}
}

// free waits until the lock name can be taken, and returns the lease and
// how long that took; it fails t after d.
func free(t *testing.T, l *lock.Locker, name string, d time.Duration) (*lock.Lease, time.Duration) {
	t.Helper()
	start := time.Now()
	for {
		ls, err := l.TryAcquire(t.Context(), name, 30*time.Second)
		if err == nil {
			return ls, time.Since(start)
		}
		if !errors.Is(err, lock.ErrHeld) {
			t.Fatal(err)
		}
		if time.Since(start) > d {
			t.Fatalf("lock %s still held %v later", name, time.Since(start).Round(time.Millisecond))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func testExpiry(t *testing.T, s store.Store, _ options) {
	ctx := ctxT(t, 30*time.Second)
	start := time.Now()
	a := must(lock.New(s).TryAcquire(ctx, "orders", TTL))(t)
	if !closed(a.Lost(), TTL+Slack/2) {
		t.Fatal("Lost not closed after the lease's TTL without a refresh")
	}
	if d := time.Since(start); d < TTL {
		t.Fatalf("Lost closed %v after the acquisition, before the TTL of %v", d, TTL)
	}
	b, _ := free(t, lock.New(s), "orders", TTL+Slack-time.Since(start))
	t.Logf("the lock was free again %v after its acquisition with a TTL of %v", time.Since(start).Round(time.Millisecond), TTL)
	if b.Token() <= a.Token() {
		t.Errorf("token %d after token %d: tokens must grow", b.Token(), a.Token())
	}
	wantErr(t, "Refresh of an expired lease", a.Refresh(ctx), lock.ErrLost, errs.KindConflict)
	wantErr(t, "Release of an expired lease", a.Release(ctx), lock.ErrLost, errs.KindConflict)
	// The expired lease's Release did not free its successor's lock.
	if _, err := lock.New(s).TryAcquire(ctx, "orders", TTL); !errors.Is(err, lock.ErrHeld) {
		t.Fatalf("TryAcquire after an expired lease's Release: %v, want lock.ErrHeld", err)
	}
	if err := b.Release(ctx); err != nil {
		t.Fatal(err)
	}
}

func testKeepAlive(t *testing.T, s store.Store, _ options) {
	ctx := ctxT(t, 30*time.Second)
	a := must(lock.New(s).TryAcquire(ctx, "orders", TTL))(t)
	kctx, stop := context.WithCancel(ctx)
	a.KeepAlive(kctx)
	a.KeepAlive(kctx) // a second call does nothing
	if closed(a.Lost(), 3*TTL) {
		t.Fatal("Lost closed while KeepAlive refreshed the lease")
	}
	if _, err := lock.New(s).TryAcquire(ctx, "orders", TTL); !errors.Is(err, lock.ErrHeld) {
		t.Fatalf("TryAcquire of a kept-alive lock: %v, want lock.ErrHeld", err)
	}
	stop() // refreshes stop: the lease ends within its TTL
	if !closed(a.Lost(), TTL+Slack/2) {
		t.Fatal("Lost not closed after KeepAlive's context ended and the TTL passed")
	}
	free(t, lock.New(s), "orders", Slack)

	b := must(lock.New(s).Acquire(ctx, "invoices", TTL))(t)
	b.KeepAlive(ctx)
	if err := b.Release(ctx); err != nil { // stops the KeepAlive and waits for it
		t.Fatal(err)
	}
	free(t, lock.New(s), "invoices", Slack)
}

// fencedPut writes the protected record res under token.
func fencedPut(ctx context.Context, s store.Store, value string, token uint64) error {
	_, err := s.Put(ctx, "res", []byte(value), store.PutOptions{Fence: token})
	return err
}

func testPausedHolder(t *testing.T, s store.Store, _ options) {
	ctx := ctxT(t, 30*time.Second)
	a := must(lock.New(s).Acquire(ctx, "orders", TTL))(t)
	if err := fencedPut(ctx, s, "a", a.Token()); err != nil {
		t.Fatal(err)
	}
	// a pauses: it neither refreshes nor writes. b waits for the lock,
	// gets it when a's lease expires, and writes.
	start := time.Now()
	b := must(lock.New(s).Acquire(ctx, "orders", 30*time.Second))(t)
	if d := time.Since(start); d > TTL+Slack {
		t.Errorf("the waiter took the expired lock after %v, want at most TTL + %v", d, Slack)
	}
	if err := fencedPut(ctx, s, "b", b.Token()); err != nil {
		t.Fatal(err)
	}
	// a wakes up and writes, as if it still held the lock.
	wantErr(t, "the paused holder's late fenced write", fencedPut(ctx, s, "a-late", a.Token()), store.ErrFenced, errs.KindConflict)
	err := s.Delete(ctx, "res", store.DeleteOptions{Fence: a.Token()})
	wantErr(t, "the paused holder's late fenced delete", err, store.ErrFenced, errs.KindConflict)
	if rec := must(s.Get(ctx, "res"))(t); string(rec.Value) != "b" || rec.Fence != b.Token() {
		t.Fatalf("res = %q with fence %d, want %q with fence %d", rec.Value, rec.Fence, "b", b.Token())
	}
	// a's lease ended on its host before its record expired in the store:
	// its timer has fired, or is about to.
	if !closed(a.Lost(), 100*time.Millisecond) {
		t.Error("the paused holder's Lost is not closed")
	}
	wantErr(t, "the paused holder's Refresh", a.Refresh(ctx), lock.ErrLost, errs.KindConflict)
	wantErr(t, "the paused holder's Release", a.Release(ctx), lock.ErrLost, errs.KindConflict)
	if err := b.Release(ctx); err != nil {
		t.Fatalf("the new holder's Release: %v", err)
	}
}

// Cut is a store whose calls fail with store.ErrUnavailable once cut, as
// a process cut off from its store, or dead, would see it.
type cut struct {
	store.Store
	off atomic.Bool
}

func (c *cut) err() error {
	if c.off.Load() {
		return store.ErrUnavailable.New()
	}
	return nil
}

func (c *cut) Get(ctx context.Context, key string) (store.Record, error) {
	if err := c.err(); err != nil {
		return store.Record{}, err
	}
	return c.Store.Get(ctx, key)
}

func (c *cut) Put(ctx context.Context, key string, value []byte, opts store.PutOptions) (uint64, error) {
	if err := c.err(); err != nil {
		return 0, err
	}
	return c.Store.Put(ctx, key, value, opts)
}

func (c *cut) Delete(ctx context.Context, key string, opts store.DeleteOptions) error {
	if err := c.err(); err != nil {
		return err
	}
	return c.Store.Delete(ctx, key, opts)
}

func testDeadHolder(t *testing.T, s store.Store, _ options) {
	ctx := ctxT(t, 30*time.Second)
	c := &cut{Store: s}
	a := must(lock.New(c).Acquire(ctx, "orders", TTL))(t)
	a.KeepAlive(ctx)
	if err := fencedPut(ctx, s, "a", a.Token()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(TTL / 2) // a refresh or two
	c.off.Store(true)   // the holder dies
	died := time.Now()
	if !closed(a.Lost(), TTL+Slack/2) {
		t.Fatal("Lost not closed within the TTL of the holder's last refresh")
	}
	b := must(lock.New(s).Acquire(ctx, "orders", 30*time.Second))(t)
	if d := time.Since(died); d > TTL+Slack {
		t.Errorf("the lock was taken %v after its holder died, want at most TTL + %v", d, Slack)
	} else {
		t.Logf("the lock was taken %v after its holder died", d.Round(time.Millisecond))
	}
	if err := fencedPut(ctx, s, "b", b.Token()); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "the dead holder's late fenced write", fencedPut(ctx, s, "a-late", a.Token()), store.ErrFenced, errs.KindConflict)
	c.off.Store(false)
	wantErr(t, "the dead holder's Release", a.Release(ctx), lock.ErrLost, errs.KindConflict)
	if err := b.Release(ctx); err != nil {
		t.Fatal(err)
	}
}

// testNoOverlap has two contenders take one lock o.acquisitions times
// each. In its critical section a holder writes the protected record with
// its token, checks that no other holder is in, and reads the record back:
// it must still hold what the holder wrote. Tokens must grow in the order
// of the critical sections.
func testNoOverlap(t *testing.T, s store.Store, o options) {
	ctx := ctxT(t, 5*time.Minute)
	var (
		inside  atomic.Int32
		mu      sync.Mutex
		tokens  []uint64
		holders []int // the contender of each token
		overlap atomic.Int32
		wg      sync.WaitGroup
	)
	start := time.Now()
	for c := range 2 {
		wg.Go(func() {
			l := lock.New(s, lock.WithOwner("contender-"+strconv.Itoa(c)))
			for range o.acquisitions {
				if err := hold(ctx, s, l, c, &inside, &overlap, &mu, &tokens, &holders); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := overlap.Load(); n != 0 {
		t.Errorf("%d overlapping holds", n)
	}
	if len(tokens) != 2*o.acquisitions && !t.Failed() {
		t.Errorf("%d acquisitions, want %d", len(tokens), 2*o.acquisitions)
	}
	handovers := 0
	for i := 1; i < len(tokens); i++ {
		if tokens[i] <= tokens[i-1] {
			t.Fatalf("acquisition %d has token %d after %d: tokens must grow", i, tokens[i], tokens[i-1])
		}
		if holders[i] != holders[i-1] {
			handovers++
		}
	}
	t.Logf("2 contenders x %d acquisitions in %v, 0 overlaps, %d handovers between them", o.acquisitions, time.Since(start).Round(time.Millisecond), handovers)
}

func hold(ctx context.Context, s store.Store, l *lock.Locker, c int, inside, overlap *atomic.Int32, mu *sync.Mutex, tokens *[]uint64, holders *[]int) error {
	ls, err := l.Acquire(ctx, "counter", 30*time.Second)
	if err != nil {
		return err
	}
	if inside.Add(1) != 1 {
		overlap.Add(1)
	}
	mu.Lock()
	*tokens = append(*tokens, ls.Token())
	*holders = append(*holders, c)
	mu.Unlock()
	v := strconv.FormatUint(ls.Token(), 10)
	if err := fencedPut(ctx, s, v, ls.Token()); err != nil {
		overlap.Add(1)
		return fmt.Errorf("fenced write with token %d: %w", ls.Token(), err)
	}
	rec, err := s.Get(ctx, "res")
	if err != nil {
		return err
	}
	if string(rec.Value) != v {
		overlap.Add(1)
		return fmt.Errorf("holder with token %d reads res = %q, written by another holder", ls.Token(), rec.Value)
	}
	inside.Add(-1)
	if err := ls.Release(ctx); err != nil {
		return err
	}
	// Work outside the lock for a moment, so that the other contender's
	// turn comes often instead of this one taking the lock again at once.
	time.Sleep(time.Duration(rand.N(500)) * time.Microsecond)
	return nil
}

// leader waits for the next leader on ch that satisfies ok, failing after
// d.
func leader(t *testing.T, ch <-chan lock.Leader, d time.Duration, ok func(lock.Leader) bool) lock.Leader {
	t.Helper()
	deadline := time.After(d)
	var last lock.Leader
	for {
		select {
		case ld, open := <-ch:
			if !open {
				t.Fatal("Observe's channel closed")
			}
			if ok(ld) {
				return ld
			}
			last = ld
		case <-deadline:
			t.Fatalf("after %v, the observed leader is %+v", d, last)
		}
	}
}

func testElection(t *testing.T, s store.Store, _ options) {
	ctx := ctxT(t, 30*time.Second)
	l := lock.New(s)
	none := must(l.Leader(ctx, "scheduler"))(t)
	if none != (lock.Leader{}) {
		t.Fatalf("Leader of an election without candidates: %+v", none)
	}
	obs := must(l.Observe(ctx, "scheduler"))(t)
	leader(t, obs, Slack, func(ld lock.Leader) bool { return ld == lock.Leader{} })

	n1 := must(lock.New(s).Campaign(ctx, "scheduler", "n1", TTL))(t)
	if n1.ID() != "n1" {
		t.Fatalf("term ID %q", n1.ID())
	}
	want := lock.Leader{ID: "n1", Token: n1.Token()}
	leader(t, obs, Slack, func(ld lock.Leader) bool { return ld == want })
	time.Sleep(TTL) // n1's term is refreshed: the token stays
	if got := must(l.Leader(ctx, "scheduler"))(t); got != want {
		t.Fatalf("Leader = %+v, want %+v", got, want)
	}

	won := make(chan *lock.Term, 1)
	go func() {
		term, err := lock.New(s).Campaign(ctx, "scheduler", "n2", TTL)
		if err != nil {
			t.Error(err)
		}
		won <- term
	}()
	select {
	case <-won:
		t.Fatal("a second candidate leads while the first does")
	case <-time.After(TTL):
	}
	if closed(n1.Lost(), 0) {
		t.Fatal("the leader's Lost closed while it leads")
	}
	if err := n1.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	if !closed(n1.Lost(), 0) {
		t.Fatal("Lost not closed after Resign")
	}
	var n2 *lock.Term
	select {
	case n2 = <-won:
		if n2 == nil {
			return
		}
	case <-time.After(Slack):
		t.Fatal("the second candidate does not lead a second after the first resigned")
	}
	if n2.Token() <= n1.Token() {
		t.Errorf("token %d after token %d: tokens must grow", n2.Token(), n1.Token())
	}
	leader(t, obs, Slack, func(ld lock.Leader) bool { return ld == lock.Leader{ID: "n2", Token: n2.Token()} })
	if err := n2.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	leader(t, obs, Slack, func(ld lock.Leader) bool { return ld == lock.Leader{} })
}

func testFailover(t *testing.T, s store.Store, _ options) {
	ctx := ctxT(t, 30*time.Second)
	obs := must(lock.New(s).Observe(ctx, "scheduler"))(t)
	c := &cut{Store: s}
	n1 := must(lock.New(c).Campaign(ctx, "scheduler", "n1", TTL))(t)
	leader(t, obs, Slack, func(ld lock.Leader) bool { return ld.ID == "n1" })
	won := make(chan *lock.Term, 1)
	go func() {
		term, err := lock.New(s).Campaign(ctx, "scheduler", "n2", TTL)
		if err != nil {
			t.Error(err)
		}
		won <- term
	}()
	time.Sleep(TTL) // n1 leads through refreshes
	select {
	case <-won:
		t.Fatal("a second candidate leads while the first does")
	default:
	}
	c.off.Store(true) // n1 dies
	died := time.Now()
	var n2 *lock.Term
	select {
	case n2 = <-won:
		if n2 == nil {
			return
		}
		t.Logf("the leader failed over %v after its death", time.Since(died).Round(time.Millisecond))
	case <-time.After(TTL + Slack):
		t.Fatalf("no new leader %v after the leader died", TTL+Slack)
	}
	if !closed(n1.Lost(), 100*time.Millisecond) {
		t.Error("the dead leader's Lost is not closed")
	}
	leader(t, obs, Slack, func(ld lock.Leader) bool { return ld == lock.Leader{ID: "n2", Token: n2.Token()} })
	c.off.Store(false)
	wantErr(t, "the dead leader's Resign", n1.Resign(ctx), lock.ErrLost, errs.KindConflict)
	if err := n2.Resign(ctx); err != nil {
		t.Fatal(err)
	}
}

// noTTL is a store that claims no time-to-lives.
type noTTL struct{ store.Store }

func (s noTTL) Features() store.Features {
	f := s.Store.Features()
	f.TTL = false
	return f
}

func testNoTTL(t *testing.T, s store.Store, _ options) {
	ctx := ctxT(t, 30*time.Second)
	_, err := lock.New(noTTL{s}).TryAcquire(ctx, "orders", TTL)
	if !errors.Is(err, store.ErrUnsupported) {
		t.Fatalf("TryAcquire on a store without TTLs: %v, want store.ErrUnsupported", err)
	}
}
