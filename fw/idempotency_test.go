package fw_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/middleware/audit"
	"github.com/wegomesh/wego/middleware/idempotency"
)

type idemReq struct {
	Item string `json:"item"`
}

// The default server chain has the idempotency middleware, innermost: a
// command that accepts keys replays its first outcome, keys are scoped by
// the audit principal, and an invalid request (rejected by validate, outside
// it) leaves the key free. middleware.idempotency configures it.
func TestIdempotencyInTheDefaultChain(t *testing.T) {
	t.Parallel()
	cat := catalog.New()
	runs := 0
	place, _ := catalog.RegisterIn(cat, "shop.Place", func(_ context.Context, r idemReq) (string, error) {
		runs++
		return fmt.Sprintf("%s-%d", r.Item, runs), nil
	}, catalog.With(idempotency.Enabled.Value(true)))
	other, _ := catalog.RegisterIn(cat, "shop.Other", func(_ context.Context, r idemReq) (string, error) {
		runs++
		return fmt.Sprintf("%s-%d", r.Item, runs), nil
	})
	check, _ := catalog.RegisterIn(cat, "shop.Check", func(_ context.Context, r checkReq) (string, error) {
		runs++
		return "ok", nil
	})
	a, err := appWithConfig(t, cat, "app: {name: x}\nmiddleware:\n  idempotency:\n    ttl: 1h\n    commands:\n      shop.check: {enabled: true}\n")
	if err != nil {
		t.Fatal(err)
	}
	server, _ := a.ChainNames()
	if server[len(server)-1] != "idempotency" {
		t.Fatalf("server chain %v: idempotency is not innermost", server)
	}

	ctx := idempotency.WithKey(context.Background(), "k-1")
	first, _ := place.Call(ctx, idemReq{Item: "a"})
	again, _ := place.Call(ctx, idemReq{Item: "a"})
	if first != "a-1" || again != first || runs != 1 {
		t.Fatalf("first %q, retry %q, runs %d", first, again, runs)
	}
	if _, err := place.Call(ctx, idemReq{Item: "b"}); !errors.Is(err, idempotency.ErrKeyReused) {
		t.Fatalf("another request under the key: %v", err)
	}
	// Another principal has keys of its own.
	if got, _ := place.Call(audit.ContextWithPrincipal(ctx, "bob"), idemReq{Item: "a"}); got != "a-2" {
		t.Fatalf("bob's call with alice's key got %q", got)
	}
	// A command without the attribute ignores the key.
	o1, _ := other.Call(ctx, idemReq{Item: "o"})
	o2, _ := other.Call(ctx, idemReq{Item: "o"})
	if o1 == o2 {
		t.Fatalf("a command that does not accept keys replayed %q", o1)
	}
	// Enabled by configuration; a request that validation rejects never
	// reaches the middleware, so the corrected one may use the same key.
	if _, err := check.Call(ctx, checkReq{}); err == nil || !strings.Contains(err.Error(), "invalid_argument") {
		t.Fatalf("an invalid request: %v", err)
	}
	before := runs
	if got, err := check.Call(ctx, checkReq{N: 1}); err != nil || got != "ok" || runs != before+1 {
		t.Fatalf("the corrected request under the same key: %q, %v", got, err)
	}
	if _, err := check.Call(ctx, checkReq{N: 1}); err != nil || runs != before+1 {
		t.Fatalf("its retry ran again: %v", err)
	}
}

func TestIdempotencyConfigErrors(t *testing.T) {
	t.Parallel()
	for yaml, want := range map[string]string{
		"middleware:\n  idempotency:\n    ttl: -1s\n":                               "middleware.idempotency.ttl",
		"middleware:\n  idempotency:\n    leese: 1s\n":                              "leese",
		"middleware:\n  idempotency:\n    commands:\n      shop: {enabled: true}\n": "not a command pattern",
	} {
		if _, err := appWithConfig(t, catalog.New(), yaml); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", yaml, err, want)
		}
	}
}
