package catalog_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/middleware"
)

type ReserveRequest struct {
	SKU string
	Qty int
}

type ReserveResponse struct{ Remaining int }

var ErrUnknownSKU = errs.Define("example.unknown_sku", errs.KindNotFound, "SKU {{.sku}} is unknown")

func Example() {
	c := catalog.New() // programs use catalog.Default through catalog.Register
	reserve, _ := catalog.RegisterIn(c, "inventory.Reserve",
		func(ctx context.Context, req ReserveRequest) (ReserveResponse, error) {
			if req.SKU != "apple" {
				return ReserveResponse{}, ErrUnknownSKU.New(errs.P("sku", req.SKU))
			}
			return ReserveResponse{Remaining: 100 - req.Qty}, nil
		})

	// The typed handle: the fast path.
	resp, err := reserve.Call(context.Background(), ReserveRequest{SKU: "apple", Qty: 2})
	fmt.Println(resp.Remaining, err)

	// By name, as transports and tools call.
	var out ReserveResponse
	err = c.Call(context.Background(), "inventory.Reserve", &ReserveRequest{SKU: "pear"}, &out)
	fmt.Println(errors.Is(err, ErrUnknownSKU), errs.CodeOf(err))

	// Replaced for a test: every holder of the handle sees the fake.
	undo, _ := catalog.Replace(reserve, func(context.Context, ReserveRequest) (ReserveResponse, error) {
		return ReserveResponse{Remaining: -1}, nil
	})
	resp, _ = reserve.Call(context.Background(), ReserveRequest{SKU: "apple"})
	fmt.Println(resp.Remaining)
	undo()
	// Output:
	// 98 <nil>
	// true example.unknown_sku
	// -1
}

// trace is a middleware that prints when a call enters and leaves it.
func trace(label string) middleware.Middleware {
	return middleware.WrapFunc(func(spec *middleware.Spec, next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, c *middleware.Call) error {
			fmt.Printf("-> %s (%s)\n", label, spec.Side)
			err := next(ctx, c)
			fmt.Printf("<- %s\n", label)
			return err
		}
	})
}

// The order of the chains: the global client chain, the command's own
// client middleware, then — for a local command — the global server chain,
// the command's own server middleware and the function. Within a chain the
// first middleware is the outermost.
func Example_chainOrder() {
	c := catalog.New()
	c.UseClientSide(trace("client 1"), trace("client 2"))
	c.UseServerSide(trace("server 1"), trace("server 2"))
	greet, _ := catalog.RegisterIn(c, "hello.Greet",
		func(_ context.Context, name string) (string, error) {
			fmt.Println("   function")
			return "hello " + name, nil
		},
		catalog.ClientSide(trace("command's client")),
		catalog.ServerSide(trace("command's server")))

	out, _ := greet.Call(context.Background(), "gopher")
	fmt.Println(out)
	// Output:
	// -> client 1 (client)
	// -> client 2 (client)
	// -> command's client (client)
	// -> server 1 (server)
	// -> server 2 (server)
	// -> command's server (server)
	//    function
	// <- command's server
	// <- server 2
	// <- server 1
	// <- command's client
	// <- client 2
	// <- client 1
	// hello gopher
}

func ExampleProvide() {
	c := catalog.New()
	greeting, _ := catalog.ProvideIn(c, "hello.greeting", "hello")
	greet, _ := catalog.RegisterIn(c, "hello.Greet", func(ctx context.Context, name string) (string, error) {
		g, err := greeting.Get(ctx)
		return g + " " + name, err
	})
	ctx := catalog.NewContext(context.Background(), c) // resolve dependencies in c
	out, _ := greet.Call(ctx, "gopher")
	fmt.Println(out)
	// Output: hello gopher
}
