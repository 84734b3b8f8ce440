package templates_test

import (
	"fmt"

	"github.com/wegomesh/wego/templates"
)

// A spec with problems is rejected as a whole, each problem with its line.
func ExampleParseSpec() {
	spec := `service: billing
operations:
  - name: GetInvoice
    method: GET
    path: /invoices/{id}
    request:
      - {name: id, type: uuid, in: path}
errors:
  - code: invoice_not_found
    kind: not_found
    en: "Invoice {{.id}} does not exist."
`
	_, err := templates.ParseSpec([]byte(spec), "wego.yaml")
	fmt.Println(err)
	// Output:
	// wego.yaml:7: unknown type "uuid" for field id (use string, bool, int, int32, int64, uint, float64, time.Time, []string)
	// wego.yaml:9: code "invoice_not_found" must start with the service's name: billing.
	// wego.yaml:9: error invoice_not_found has no es message
}

// Generate renders every file of a service; each says whether wego owns it.
func ExampleGenerate() {
	data, _ := templates.DefaultSpec("billing", "example.com/billing")
	spec, err := templates.ParseSpec(data, templates.SpecFile)
	if err != nil {
		panic(err)
	}
	files, err := templates.Generate(spec, templates.Options{})
	if err != nil {
		panic(err)
	}
	for _, f := range files {
		owner := "yours"
		if f.Generated {
			owner = "generated"
		}
		fmt.Printf("%-30s %s\n", f.Path, owner)
	}
	// Output:
	// .dockerignore                  generated
	// .gitignore                     yours
	// Dockerfile                     generated
	// Makefile                       generated
	// README.md                      yours
	// billing/billing.go             generated
	// billing/locales/en.toml        generated
	// billing/locales/es.toml        generated
	// billing/service/impl.go        yours
	// billing/service/impl_test.go   yours
	// billing/service/service.go     generated
	// cmd/billing/config/dev.yaml    yours
	// cmd/billing/config/prod.yaml   yours
	// cmd/billing/config/test.yaml   yours
	// cmd/billing/main.go            generated
	// cmd/billing/main_test.go       generated
	// features/billing.feature       yours
	// features_test.go               yours
	// go.mod                         yours
	// wego.yaml                      generated
}
