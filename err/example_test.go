package errs_test

import (
	"errors"
	"fmt"
	"strings"

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

// An internal parameter is for logs only: the client's message and the
// parameters a transport sends leave it out; Error, which logs print,
// lists it.
func ExampleInternalParam() {
	ErrOpen := errs.Define("example.circuit_open", errs.KindUnavailable,
		"The service is unavailable; try again later.")
	e := ErrOpen.New(errs.InternalParam("node", "10.0.0.7:8081"), errs.P("retry_after", "5"))

	fmt.Println("client:", e.Message(), e.WireParams())
	fmt.Println("log:   ", e.Error())
	// Output:
	// client: The service is unavailable; try again later. map[retry_after:5]
	// log:    example.circuit_open: The service is unavailable; try again later. [node=10.0.0.7:8081]
}

// Values a client sent are cut where they enter an error: a huge SKU costs
// a message, a body and a log line at most MaxParamBytes of it.
func ExampleTruncate() {
	e := ErrUnknownSKU.New(errs.P("sku", strings.Repeat("x", 10_000)))
	sku, _ := e.Param("sku")
	fmt.Println(len(sku) <= errs.MaxParamBytes, strings.HasSuffix(sku, "…"))
	fmt.Println(errs.Truncate("a long value", 9)) // 9 bytes: "…" takes 3
	// Output:
	// true true
	// a long…
}
