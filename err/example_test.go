package errs_test

import (
	"errors"
	"fmt"

	errs "github.com/wegomesh/wego/err"
)

// ErrUnknownSKU is an application code, declared once at package level.
var ErrUnknownSKU = errs.Define("inventory.unknown_sku", errs.KindNotFound, "SKU {{.sku}} is unknown.")

func reserve(sku string) error {
	return ErrUnknownSKU.New(errs.P("sku", sku))
}

// Define an application code, return errors made from it, and recognize
// them with errors.Is even after wrapping.
func ExampleDefine() {
	err := fmt.Errorf("checkout: %w", reserve("X-42"))

	fmt.Println(errors.Is(err, ErrUnknownSKU))
	e := errs.From(err)
	fmt.Println(e.Code(), e.Status())
	fmt.Println(e.Message())
	// Output:
	// true
	// inventory.unknown_sku 404
	// SKU X-42 is unknown.
}

// From turns an unexpected error into an internal error: clients see a
// generic message, logs see the cause.
func ExampleFrom() {
	cause := errors.New("pq: password authentication failed for user \"shop\"")
	e := errs.From(fmt.Errorf("load order: %w", cause))

	fmt.Println("client:", e.Status(), e.Code(), e.Message())
	fmt.Println("log:   ", e.Error())
	fmt.Println(errors.Is(e, cause))
	// Output:
	// client: 500 internal An internal error occurred.
	// log:    internal: An internal error occurred.: load order: pq: password authentication failed for user "shop"
	// true
}

// InvalidArgument names the fields that are wrong.
func ExampleInvalidArgument() {
	e := errs.InvalidArgument(errs.Field("qty", "must be at least 1"), errs.Field("sku", "is required"))
	fmt.Println(e.Status(), e.Code(), e.MessageKey())
	fmt.Println(e.Message())
	// Output:
	// 400 invalid_argument invalid_argument.fields
	// Invalid request: qty must be at least 1; sku is required.
}
