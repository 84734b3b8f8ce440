package ratelimit_test

import (
	"context"
	"fmt"
	"time"

	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/middleware/ratelimit"
)

func Example() {
	// A fixed clock, so that no token comes back while the example runs.
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	lim, err := ratelimit.New(ratelimit.Config{
		Commands: map[string]ratelimit.CommandConfig{
			"inventory.Reserve": {Rate: new(1.0), Burst: new(2)},
		},
	}, ratelimit.WithClock(func() time.Time { return now }))
	if err != nil {
		panic(err)
	}
	cat := catalog.New()
	cat.UseServerSide(lim)
	reserve, _ := catalog.RegisterIn(cat, "inventory.Reserve", func(_ context.Context, qty int) (int, error) {
		return qty, nil
	})
	for i := 1; i <= 3; i++ {
		_, err := reserve.Call(context.Background(), i)
		e, _ := errs.As(err)
		if e == nil {
			fmt.Printf("call %d: ok\n", i)
			continue
		}
		fmt.Printf("call %d: %s %d %q\n", i, e.Code(), e.Status(), e.Message())
	}
	// Output:
	// call 1: ok
	// call 2: ok
	// call 3: resource_exhausted 429 "Too many requests; try again later."
}
