package faultinject_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/middleware/faultinject"
)

func Example() {
	in, err := faultinject.New(faultinject.Config{
		Enabled: true,
		Seed:    42, // the same seed gives the same faults, call after call
		Commands: map[string]faultinject.CommandConfig{
			"inventory.Reserve": {ErrorRate: 0.5, ErrorCode: "unavailable"},
		},
	})
	if err != nil {
		panic(err)
	}
	cat := catalog.New()
	cat.UseServerSide(in)
	reserve, _ := catalog.RegisterIn(cat, "inventory.Reserve", func(_ context.Context, qty int) (int, error) {
		return qty, nil
	})
	failed := 0
	for range 1000 {
		if _, err := reserve.Call(context.Background(), 1); errors.Is(err, faultinject.ErrInjected) {
			failed++
			if failed == 1 {
				e, _ := errs.As(err)
				fmt.Println(e.Code(), e.Status(), e.Message())
			}
		}
	}
	_, _, injected := in.Counts("inventory.Reserve")
	fmt.Println(failed == int(injected), failed > 450 && failed < 550)
	// Output:
	// unavailable 503 Injected fault: unavailable.
	// true true
}
