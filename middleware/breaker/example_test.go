package breaker_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/middleware/breaker"
)

func Example() {
	cfg := breaker.DefaultConfig()
	cfg.Local = true // guard a local command, for the example
	cfg.MinRequests = 4
	cfg.OpenTimeout = time.Minute
	b, err := breaker.New(cfg)
	if err != nil {
		panic(err)
	}
	c := catalog.New()
	c.UseClientSide(b)
	price, _ := catalog.RegisterIn(c, "pricing.Quote", func(context.Context, string) (int, error) {
		return 0, errs.Unavailable() // the pricing service is down
	})

	for i := range 5 {
		_, err := price.Call(context.Background(), "sku-1")
		fmt.Println(i, errs.CodeOf(err), errors.Is(err, breaker.ErrOpen))
	}
	// Output:
	// 0 unavailable false
	// 1 unavailable false
	// 2 unavailable false
	// 3 unavailable false
	// 4 circuit_open true
}
