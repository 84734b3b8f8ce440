package i18n_test

import (
	"fmt"
	"testing/fstest"

	"golang.org/x/text/language"

	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/i18n"
)

// ErrOutOfStock is an application code; shopLocales are its message files,
// which an application would embed (//go:embed locales).
var (
	ErrOutOfStock = errs.Define("shop.out_of_stock", errs.KindConflict,
		"Only {{.left}} units of {{.sku}} are left.")

	shopLocales = fstest.MapFS{
		"locales/active.en.toml": {Data: []byte(`
[shop]
out_of_stock = "Only {{.left}} units of {{.sku}} are left."
`)},
		"locales/active.es.toml": {Data: []byte(`
[shop.out_of_stock]
description = "Stock is lower than the quantity ordered."
other = "Solo quedan {{.left}} unidades de {{.sku}}."
`)},
	}
)

// An application code localized from the Accept-Language header of a
// request.
func Example() {
	bundle, err := i18n.New(i18n.Files(shopLocales, "locales/*.toml"))
	if err != nil {
		panic(err)
	}
	e := ErrOutOfStock.New(errs.P("sku", "CAFÉ-250"), errs.P("left", 3))

	fmt.Println(bundle.Localize(e, "es-ES,es;q=0.9,en;q=0.8"))
	fmt.Println(bundle.Localize(e, "fr-FR"))
	fmt.Println(bundle.Localize(errs.NotFound(), "es"))
	// Output:
	// Solo quedan 3 unidades de CAFÉ-250.
	// Only 3 units of CAFÉ-250 are left.
	// No se encontró el recurso solicitado.
}

// Missing lists the codes that lack a message in a language the
// application ships; Check turns the list into an error for the
// application's tests. Here the application ships Spanish, but its Spanish
// messages lack shop.out_of_stock. (English lacks nothing: the text given
// to errs.Define is the English message.)
func ExampleBundle_Missing() {
	bundle, err := i18n.New(i18n.Messages(language.Spanish, map[string]string{
		"shop.closed": "La tienda está cerrada.",
	}))
	if err != nil {
		panic(err)
	}
	fmt.Println(bundle.Languages())
	for _, m := range bundle.Missing() {
		if m.Code == ErrOutOfStock.Code() {
			fmt.Println("missing:", m)
		}
	}
	// Output:
	// [en es]
	// missing: shop.out_of_stock (es)
}

// LocalizeFields gives the reason of each field violation in the client's
// language, for the "fields" of an error body, beside the localized
// message. One bad tag in Accept-Language does not spoil the others.
func ExampleBundle_LocalizeFields() {
	e := errs.InvalidArgument(errs.FieldViolation{Field: "qty", Reason: "must be at least 1",
		Key: "validate.min", Params: map[string]string{"min": "1"}})
	b := i18n.Default()

	fmt.Println(b.Localize(e, "es, zz"))
	for _, f := range b.LocalizeFields(e, "es, zz") {
		fmt.Printf("%s: %s\n", f.Field, f.Reason)
	}
	// Output:
	// Solicitud no válida: qty debe ser al menos 1.
	// qty: debe ser al menos 1
}
