package httptransport_test

import (
	"context"
	"errors"
	"testing"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/registry"
	"github.com/wegomesh/wego/transport"
)

// A discover:// route calls the nodes of a service that the registry
// knows, and follows them as they come and go.
func TestDiscoverRoute(t *testing.T) {
	reg, err := registry.NewMemory(registry.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = reg.Close(context.Background()) })
	a, b := newFixture(t), newFixture(t)
	sa, sb := a.serve(t), b.serve(t)
	node := func(id, url string) registry.Node {
		return registry.Node{Service: "inventory", ID: id, Endpoints: map[string]string{"http": url}}
	}
	ctx := context.Background()
	if err := reg.Register(ctx, node("a", sa.URL)); err != nil {
		t.Fatal(err)
	}

	r, err := transport.NewRoute(transport.Host{Registry: reg}, []string{"discover://inventory"})
	if err != nil {
		t.Fatal(err)
	}
	cat := catalog.New()
	reserve, err := catalog.DeclareIn[ReserveRequest, ReserveResponse](cat, "inventory.Reserve")
	if err != nil {
		t.Fatal(err)
	}
	if err := cat.SetRoute("inventory.*", r); err != nil {
		t.Fatal(err)
	}
	call := func(n int) {
		t.Helper()
		for range n {
			if _, err := reserve.Call(ctx, ReserveRequest{SKU: "apple", Qty: 1}); err != nil {
				t.Fatal(err)
			}
		}
	}
	call(10)
	if a.calls.Load() != 10 || b.calls.Load() != 0 {
		t.Fatalf("calls a=%d b=%d, want all on a", a.calls.Load(), b.calls.Load())
	}
	if err := reg.Register(ctx, node("b", sb.URL)); err != nil {
		t.Fatal(err)
	}
	call(40)
	if b.calls.Load() == 0 {
		t.Fatal("a node that registered got no call")
	}
	if err := reg.Deregister(ctx, "inventory", "a"); err != nil {
		t.Fatal(err)
	}
	before := a.calls.Load()
	call(20)
	if a.calls.Load() != before {
		t.Fatalf("a node that left got %d calls", a.calls.Load()-before)
	}
	if err := reg.Deregister(ctx, "inventory", "b"); err != nil {
		t.Fatal(err)
	}
	if _, err := reserve.Call(ctx, ReserveRequest{SKU: "apple", Qty: 1}); !errors.Is(err, transport.ErrUnavailable) {
		t.Fatalf("a call with no node: %v, want unavailable", err)
	}
	if _, err := transport.NewRoute(transport.Host{}, []string{"discover://inventory"}); err == nil {
		t.Fatal("a discover:// route without a registry was built")
	}
}
