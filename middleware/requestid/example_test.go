package requestid_test

import (
	"context"
	"fmt"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/log"
	"github.com/wegomesh/wego/middleware/requestid"
)

func Example() {
	c := catalog.New()
	mw, err := requestid.New(requestid.DefaultConfig())
	if err != nil {
		panic(err)
	}
	c.UseServerSide(mw)
	greet, _ := catalog.RegisterIn(c, "hello.Greet", func(ctx context.Context, name string) (string, error) {
		id, _ := log.RequestIDFrom(ctx)
		return fmt.Sprintf("hello %s (request %d chars long)", name, len(id.String())), nil
	})

	// A transport found a valid X-Request-Id header: the id is kept.
	if id, ok := requestid.FromHeader("req-42"); ok {
		ctx := log.ContextWithRequestID(context.Background(), id)
		_, _ = greet.Call(ctx, "ann")
		fmt.Println("kept", id)
	}
	// No id: the middleware generates a UUID.
	out, _ := greet.Call(context.Background(), "bob")
	fmt.Println(out)
	// An invalid header value is not accepted.
	_, ok := requestid.FromHeader("bad id\n")
	fmt.Println(ok)
	// Output:
	// kept req-42
	// hello bob (request 36 chars long)
	// false
}
