package auth_test

import (
	"context"
	"fmt"

	"github.com/wegomesh/wego/auth"
	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/middleware"
	authmw "github.com/wegomesh/wego/middleware/auth"
)

// Commands are marked public in code; the configuration's rules decide
// the others. fw builds the middleware from the section auth, and its
// transports put each request's Authorization header in the context;
// here the example does both by hand.
func Example() {
	cat := catalog.New()
	stock, _ := catalog.RegisterIn(cat, "inventory.Stock", func(context.Context, string) (int, error) { return 98, nil },
		catalog.With(authmw.Public()))
	reserve, _ := catalog.RegisterIn(cat, "inventory.Reserve", func(ctx context.Context, sku string) (string, error) {
		who, _ := auth.FromContext(ctx)
		return "reserved " + sku + " for " + who.ID, nil
	})

	cfg := auth.DefaultConfig()
	cfg.Enabled = true
	cfg.DevKey.Secret = "a development secret of at least 32 bytes"
	cfg.Rules = []auth.Rule{{Resource: "inventory.Reserve", Who: []string{"account:orders"}, Access: auth.Allow}}
	var resources []auth.Resource
	for _, e := range cat.Commands() {
		resources = append(resources, authmw.ResourceOf(e.Spec()))
	}
	m, err := authmw.New(cfg, resources)
	if err != nil {
		panic(err)
	}
	cat.SetChains([]middleware.Middleware{m}, nil)

	signer, _ := cfg.DevSigner()
	tok, _ := signer.Sign(auth.Claims{Subject: "orders", Type: auth.Service})
	alice, _ := signer.Sign(auth.Claims{Subject: "alice", Type: auth.User})
	request := func(header string) context.Context {
		return authmw.WithAuthorization(context.Background(), []string{header})
	}

	n, err := stock.Call(context.Background(), "apple")
	fmt.Println("anonymous, Stock:", n, err)
	_, err = reserve.Call(context.Background(), "apple")
	fmt.Println("anonymous, Reserve:", errs.CodeOf(err))
	_, err = reserve.Call(request("Bearer "+alice), "apple")
	fmt.Println("alice, Reserve:", errs.CodeOf(err))
	r, err := reserve.Call(request("Bearer "+tok), "apple")
	fmt.Println("orders, Reserve:", r, err)
	// Output:
	// anonymous, Stock: 98 <nil>
	// anonymous, Reserve: auth.missing_credential
	// alice, Reserve: auth.denied
	// orders, Reserve: reserved apple for orders <nil>
}
