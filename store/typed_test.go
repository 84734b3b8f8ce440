package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/store"
)

type order struct {
	SKU  string `json:"sku"`
	Qty  int    `json:"qty"`
	Note string `json:"note,omitempty"`
}

type basket struct {
	Orders []order            `json:"orders"`
	Tags   map[string]float64 `json:"tags"`
}

func TestTypedRoundTrip(t *testing.T) {
	s := store.NewMemory()
	defer s.Close()
	ctx := t.Context()
	orders := store.NewTyped[order](s)
	rev, err := orders.Put(ctx, "orders/1", order{SKU: "apple<&>", Qty: 2}, store.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := s.Get(ctx, "orders/1")
	if string(raw.Value) != `{"sku":"apple<&>","qty":2}` {
		t.Fatalf("stored %s", raw.Value)
	}
	o, rec, err := orders.Get(ctx, "orders/1")
	if err != nil || o != (order{SKU: "apple<&>", Qty: 2}) || rec.Revision != rev || rec.Key != "orders/1" {
		t.Fatalf("Get = %+v, %+v, %v", o, rec, err)
	}

	baskets := store.NewTyped[basket](s)
	b := basket{Orders: []order{{SKU: "pear", Qty: 1, Note: "<ripe>"}}, Tags: map[string]float64{"w": 1.5}}
	if _, err := baskets.Put(ctx, "baskets/1", b, store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	raw, _ = s.Get(ctx, "baskets/1")
	if string(raw.Value) != `{"orders":[{"sku":"pear","qty":1,"note":"<ripe>"}],"tags":{"w":1.5}}` {
		t.Fatalf("stored %s", raw.Value)
	}
	got, _, err := baskets.Get(ctx, "baskets/1")
	if err != nil || fmt.Sprint(got) != fmt.Sprint(b) {
		t.Fatalf("Get = %+v, %v", got, err)
	}

	// A newer version of the type wrote a field this one does not know.
	if _, err := s.Put(ctx, "orders/2", []byte(`{"sku":"fig","qty":3,"colour":"green"}`), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if o, _, err := orders.Get(ctx, "orders/2"); err != nil || o.SKU != "fig" || o.Qty != 3 {
		t.Fatalf("Get of a record with an unknown field = %+v, %v", o, err)
	}

	_, _, err = orders.Get(ctx, "orders/none")
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get of a missing key: %v", err)
	}
	if err := orders.Delete(ctx, "orders/2", store.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	items, err := orders.List(ctx, "orders/", store.ListOptions{})
	if err != nil || len(items) != 1 || items[0].Key != "orders/1" || items[0].Value.Qty != 2 || items[0].Revision != rev {
		t.Fatalf("List = %+v, %v", items, err)
	}
}

func TestTypedUndecodable(t *testing.T) {
	s := store.NewMemory()
	defer s.Close()
	ctx := t.Context()
	orders := store.NewTyped[order](s)
	for _, v := range []string{`{"sku":1}`, `not json`, ``} {
		if _, err := s.Put(ctx, "orders/bad", []byte(v), store.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		_, _, err := orders.Get(ctx, "orders/bad")
		if !errors.Is(err, store.ErrUndecodable) || errs.KindOf(err) != errs.KindInternal {
			t.Fatalf("Get of %q: %v, want store.ErrUndecodable", v, err)
		}
		if e, _ := errs.As(err); e.Message() != "Record orders/bad does not hold a valid value of its type." {
			t.Fatalf("message %q", e.Message())
		}
		if _, err := orders.List(ctx, "orders/", store.ListOptions{}); !errors.Is(err, store.ErrUndecodable) {
			t.Fatalf("List: %v, want store.ErrUndecodable", err)
		}
		if _, _, err := orders.Update(ctx, "orders/bad", func(*order) error { return nil }); !errors.Is(err, store.ErrUndecodable) {
			t.Fatalf("Update: %v, want store.ErrUndecodable", err)
		}
	}
}

func TestTypedUnencodable(t *testing.T) {
	s := store.NewMemory()
	defer s.Close()
	funcs := store.NewTyped[map[string]any](s)
	_, err := funcs.Put(t.Context(), "f", map[string]any{"f": func() {}}, store.PutOptions{})
	if !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("Put of a func: %v, want store.ErrInvalid", err)
	}
	if e, _ := errs.As(err); e.ParamMap()["field"] != "value" {
		t.Fatalf("Put of a func: %v does not name the field value", err)
	}
}

func TestTypedUpdate(t *testing.T) {
	s := store.NewMemory()
	defer s.Close()
	ctx := t.Context()
	orders := store.NewTyped[order](s)
	if _, err := s.Put(ctx, "orders/1", []byte(`{"sku":"kiwi","qty":0}`), store.PutOptions{Metadata: map[string]string{"by": "test"}}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				if _, _, err := orders.Update(ctx, "orders/1", func(o *order) error { o.Qty++; return nil }); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	o, rec, err := orders.Get(ctx, "orders/1")
	if err != nil || o.Qty != 1600 || o.SKU != "kiwi" || rec.Metadata["by"] != "test" {
		t.Fatalf("after 8 x 200 updates: %+v, %+v, %v", o, rec, err)
	}

	// A missing key starts from the zero value.
	v, rev, err := orders.Update(ctx, "orders/new", func(o *order) error { o.SKU = "new"; return nil })
	if err != nil || v.SKU != "new" || rev == 0 {
		t.Fatalf("Update of a missing key = %+v, %d, %v", v, rev, err)
	}

	// An error from fn writes nothing.
	stop := errors.New("stop")
	if _, _, err := orders.Update(ctx, "orders/new", func(o *order) error { o.Qty = 99; return stop }); err != stop {
		t.Fatalf("Update with a failing fn: %v", err)
	}
	if o, _, _ := orders.Get(ctx, "orders/new"); o.Qty != 0 {
		t.Fatalf("a failed update wrote %+v", o)
	}
}

// UpdateExisting changes a record as Update does, and fails a missing
// key with ErrNotFound without calling its function or creating it.
func TestTypedUpdateExisting(t *testing.T) {
	s := store.NewMemory()
	defer s.Close()
	ctx := t.Context()
	orders := store.NewTyped[order](s)
	if _, err := orders.Put(ctx, "orders/1", order{SKU: "kiwi"}, store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	v, rev, err := orders.UpdateExisting(ctx, "orders/1", func(o *order) error { o.Qty++; return nil })
	if err != nil || v.Qty != 1 || v.SKU != "kiwi" || rev == 0 {
		t.Fatalf("UpdateExisting of a record = %+v, %d, %v", v, rev, err)
	}
	called := false
	_, _, err = orders.UpdateExisting(ctx, "orders/none", func(*order) error { called = true; return nil })
	if !errors.Is(err, store.ErrNotFound) || called {
		t.Fatalf("UpdateExisting of a missing key = %v (fn called: %v), want store.ErrNotFound without a call", err, called)
	}
	if _, err := s.Get(ctx, "orders/none"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UpdateExisting created the missing key: %v", err)
	}

	// A key deleted between the read and the write is missing too.
	_, _, err = orders.UpdateExisting(ctx, "orders/1", func(o *order) error {
		if err := s.Delete(ctx, "orders/1", store.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		return nil
	})
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UpdateExisting of a key deleted meanwhile = %v, want store.ErrNotFound", err)
	}
}

// conflicting is a store whose compare-and-sets always fail.
type conflicting struct{ store.Store }

func (c conflicting) Put(ctx context.Context, key string, value []byte, opts store.PutOptions) (uint64, error) {
	return 0, store.ErrConflict.New(errs.P("key", key))
}

func TestTypedUpdateGivesUp(t *testing.T) {
	m := store.NewMemory()
	defer m.Close()
	calls := 0
	orders := store.NewTyped[order](conflicting{m}).WithUpdateAttempts(7)
	_, _, err := orders.Update(t.Context(), "orders/1", func(*order) error { calls++; return nil })
	if !errors.Is(err, store.ErrConflict) || calls != 7 {
		t.Fatalf("Update = %v after %d calls, want store.ErrConflict after 7", err, calls)
	}

	ctx, cancel := context.WithCancel(t.Context())
	calls = 0
	_, _, err = store.NewTyped[order](conflicting{m}).Update(ctx, "orders/1", func(*order) error {
		if calls++; calls == 10 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || calls != 10 {
		t.Fatalf("Update = %v after %d calls, want context.Canceled after 10", err, calls)
	}
}
