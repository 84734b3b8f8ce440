package validate_test

import (
	"context"
	"fmt"

	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/middleware/validate"
)

type PlaceRequest struct {
	SKU string `json:"sku"`
	Qty int    `json:"qty"`
}

// Validate makes the request type validated by the middleware.
func (r PlaceRequest) Validate() error {
	return validate.Check().
		NotEmpty("sku", r.SKU).
		Min("qty", r.Qty, 1).
		Max("qty", r.Qty, 100).
		Err()
}

func Example() {
	cat := catalog.New()
	v, err := validate.New(validate.DefaultConfig())
	if err != nil {
		panic(err)
	}
	cat.UseServerSide(v)
	place, _ := catalog.RegisterIn(cat, "orders.Place", func(_ context.Context, r PlaceRequest) (string, error) {
		return fmt.Sprintf("placed %d %s", r.Qty, r.SKU), nil
	})

	fmt.Println(place.Call(context.Background(), PlaceRequest{SKU: "apple", Qty: 2}))

	_, err = place.Call(context.Background(), PlaceRequest{Qty: 0})
	e, _ := errs.As(err)
	fmt.Println(e.Code(), e.Status())
	fmt.Println(e.Message())
	for _, f := range e.Fields() {
		fmt.Printf("%s: %s\n", f.Field, f.Reason)
	}
	// Output:
	// placed 2 apple <nil>
	// invalid_argument 400
	// Invalid request: sku must not be empty; qty must be at least 1.
	// sku: must not be empty
	// qty: must be at least 1
}
