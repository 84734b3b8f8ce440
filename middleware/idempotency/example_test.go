package idempotency_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/middleware/idempotency"
)

func Example() {
	m, err := idempotency.New(idempotency.DefaultConfig())
	if err != nil {
		panic(err)
	}
	cat := catalog.New()
	cat.UseServerSide(m)

	type PlaceRequest struct {
		SKU string `json:"sku"`
		Qty int    `json:"qty"`
	}
	orders := 0
	place, _ := catalog.RegisterIn(cat, "orders.Place", func(_ context.Context, r PlaceRequest) (string, error) {
		orders++
		return fmt.Sprintf("order-%d", orders), nil
	}, catalog.With(idempotency.Enabled.Value(true)))

	// The client makes one key per order it means, and sends it with every
	// attempt; over HTTP it is the Idempotency-Key header.
	ctx := idempotency.WithKey(context.Background(), "3f1c9a52-0d47-4c1e-9b8e-6f2d8a7c5e10")
	first, _ := place.Call(ctx, PlaceRequest{SKU: "apple", Qty: 2})
	retry, _ := place.Call(ctx, PlaceRequest{SKU: "apple", Qty: 2}) // the answer was lost: try again
	fmt.Println(first, retry, orders)

	_, err = place.Call(ctx, PlaceRequest{SKU: "pear", Qty: 1}) // another order needs another key
	fmt.Println(errors.Is(err, idempotency.ErrKeyReused), err)
	// Output:
	// order-1 order-1 1
	// true idempotency.key_reused: The idempotency key was already used for a different request.
}
