// Package catalogtest is test support for code built on the catalog: an
// isolated catalog per test, replacements of commands and dependencies
// that are undone when the test ends, and recording fakes.
//
// Tests that use it can run with t.Parallel(): each gets its own copy of
// the catalog, and the context it returns routes calls made through typed
// handles from [catalog.Default] to that copy.
//
//	func TestPlaceOrder(t *testing.T) {
//		t.Parallel()
//		cat, ctx := catalogtest.New(t)
//		rec := catalogtest.Fake(t, cat, inventory.Reserve, inventory.ReserveResponse{ReservationID: "r1"}, nil)
//		_, err := orders.Place.Call(ctx, orders.PlaceRequest{SKU: "apple", Qty: 2})
//		...
//		if got := rec.Calls(); len(got) != 1 || got[0].Qty != 2 { ... }
//	}
package catalogtest

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/wegomesh/wego/catalog"
)

// New returns a copy of [catalog.Default] for the test, and a context that
// carries it (derived from t.Context, so it is canceled when the test
// ends). Calls made with the context — typed handles, calls by name,
// dependency lookups — use the copy.
func New(t testing.TB) (*catalog.Catalog, context.Context) {
	t.Helper()
	return From(t, catalog.Default)
}

// From is like [New] for a copy of base.
func From(t testing.TB, base *catalog.Catalog) (*catalog.Catalog, context.Context) {
	t.Helper()
	c := base.Clone()
	return c, catalog.NewContext(t.Context(), c)
}

// Empty returns a new empty catalog for the test and a context that
// carries it. The catalog stands in for [catalog.Default] (see
// [catalog.Catalog.CloneEmpty]): a typed handle from Default called with
// the context fails with [catalog.ErrUnknownCommand] unless the test
// registered that command in the empty catalog, so no real command runs
// by accident.
func Empty(t testing.TB) (*catalog.Catalog, context.Context) {
	t.Helper()
	c := catalog.Default.CloneEmpty()
	return c, catalog.NewContext(t.Context(), c)
}

// Replace makes the command of h's name in c run fake until the test ends.
// h may be a handle from any catalog (usually [catalog.Default]); the
// command must exist in c with the same types.
func Replace[Req, Resp any](t testing.TB, c *catalog.Catalog, h *catalog.Command[Req, Resp], fake func(context.Context, Req) (Resp, error)) {
	t.Helper()
	target, err := h.In(c)
	if err != nil {
		fatal(t, err)
	}
	undo, err := catalog.Replace(target, fake)
	if err != nil {
		fatal(t, err)
	}
	t.Cleanup(undo)
}

// ReplaceDep makes dependency d resolve to fake in c until the test ends.
func ReplaceDep[T any](t testing.TB, c *catalog.Catalog, d catalog.Dependency[T], fake T) {
	t.Helper()
	undo, err := catalog.ReplaceDep(c, d, fake)
	if err != nil {
		fatal(t, err)
	}
	t.Cleanup(undo)
}

// Recorder is a fake command that records its calls. Make one with [Fake]
// or [Record].
type Recorder[Req, Resp any] struct {
	mu    sync.Mutex
	calls []Req
	fn    func(context.Context, Req) (Resp, error)
}

// Calls returns a copy of the requests received so far, in order.
func (r *Recorder[Req, Resp]) Calls() []Req {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Req(nil), r.calls...)
}

// Len returns the number of calls received so far.
func (r *Recorder[Req, Resp]) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls)
}

func (r *Recorder[Req, Resp]) call(ctx context.Context, req Req) (Resp, error) {
	r.mu.Lock()
	r.calls = append(r.calls, req)
	r.mu.Unlock()
	return r.fn(ctx, req)
}

// Fake replaces the command of h's name in c, until the test ends, with a
// fake that records its calls and answers every one with resp and err.
func Fake[Req, Resp any](t testing.TB, c *catalog.Catalog, h *catalog.Command[Req, Resp], resp Resp, err error) *Recorder[Req, Resp] {
	t.Helper()
	return Record(t, c, h, func(context.Context, Req) (Resp, error) { return resp, err })
}

// Record replaces the command of h's name in c, until the test ends, with
// fn, recording every call.
func Record[Req, Resp any](t testing.TB, c *catalog.Catalog, h *catalog.Command[Req, Resp], fn func(context.Context, Req) (Resp, error)) *Recorder[Req, Resp] {
	t.Helper()
	r := &Recorder[Req, Resp]{fn: fn}
	Replace(t, c, h, r.call)
	return r
}

// fatal fails the test with err. The failing call's site inside the
// catalog or this package says nothing to the test's author: t.Helper
// already puts the test's own line in front of the message, so a
// registration error's Site is left out (a colliding registration's site,
// Other, stays).
func fatal(t testing.TB, err error) {
	t.Helper()
	var re *catalog.RegistrationError
	if errors.As(err, &re) {
		e := *re
		e.Site = ""
		err = &e
	}
	t.Fatalf("catalogtest: %v", err)
}
