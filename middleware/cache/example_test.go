package cache_test

import (
	"context"
	"fmt"
	"time"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/middleware/cache"
)

func Example() {
	c, err := cache.New(cache.DefaultConfig())
	if err != nil {
		panic(err)
	}
	cat := catalog.New()
	cat.UseClientSide(c)

	type PriceRequest struct{ SKU string }
	calls := 0
	price, _ := catalog.RegisterIn(cat, "pricing.Price", func(_ context.Context, r PriceRequest) (int, error) {
		calls++
		return 100 + calls, nil
	}, catalog.With(cache.TTL.Value(time.Minute)))

	ctx := context.Background()
	a, _ := price.Call(ctx, PriceRequest{SKU: "sku-1"})
	b, _ := price.Call(ctx, PriceRequest{SKU: "sku-1"}) // from the cache
	fmt.Println(a, b, calls)

	c.Invalidate("pricing.Price", PriceRequest{SKU: "sku-1"}) // the price changed
	d, _ := price.Call(ctx, PriceRequest{SKU: "sku-1"})
	fmt.Println(d, calls)
	// Output:
	// 101 101 1
	// 102 2
}
