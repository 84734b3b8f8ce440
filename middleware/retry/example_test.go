package retry_test

import (
	"context"
	"fmt"

	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/middleware/retry"
)

func Example() {
	mw, err := retry.New(retry.DefaultConfig())
	if err != nil {
		panic(err)
	}
	c := catalog.New()
	c.UseClientSide(mw)

	attempts := 0
	stock, _ := catalog.RegisterIn(c, "inventory.Stock", func(_ context.Context, sku string) (int, error) {
		attempts++
		if attempts < 3 {
			return 0, errs.Unavailable() // transient: worth another try
		}
		return 42, nil
	}, catalog.With(retry.Idempotent.Value(true))) // reading stock is safe to repeat

	n, err := stock.Call(context.Background(), "sku-1")
	fmt.Println(n, err, attempts)
	// Output: 42 <nil> 3
}
