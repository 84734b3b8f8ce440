package templates

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// base is a valid spec; the cases below break it one way at a time.
const base = `service: billing
module: example.com/billing
port: 8090
operations:
  - name: GetInvoice
    method: GET
    path: /invoices/{id}
    request:
      - {name: id, type: string, in: path}
    response:
      - {name: invoice_id, type: string}
errors:
  - code: billing.invoice_not_found
    kind: not_found
    en: "Invoice {{.id}} does not exist."
    es: "La factura {{.id}} no existe."
`

func TestParseSpecValid(t *testing.T) {
	s, err := ParseSpec([]byte(base), "wego.yaml")
	if err != nil {
		t.Fatal(err)
	}
	op := s.Operations[0]
	if s.Service != "billing" || s.Module != "example.com/billing" || s.Port != 8090 || len(s.Operations) != 1 ||
		op.Name != "GetInvoice" || op.Method != "GET" || op.Status != 200 || !op.Idempotent || op.Line != 5 ||
		op.Request[0] != (Field{Name: "id", Type: "string", In: "path", Line: 9}) || op.Response[0].In != "body" ||
		s.Errors[0].Code != "billing.invoice_not_found" || s.Errors[0].Es != "La factura {{.id}} no existe." {
		t.Fatalf("parsed %+v", s)
	}
	data, _ := os.ReadFile("testdata/billing.yaml")
	s, err = ParseSpec(data, "billing.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if s.Operations[1].Cacheable != 30*time.Second || s.Operations[0].Idempotent || !s.Operations[0].Auditable ||
		s.Operations[0].Status != 201 || s.Operations[0].Request[3].In != "header" || s.Operations[0].Request[0].Audit != "include" {
		t.Fatalf("parsed %+v", s.Operations)
	}
}

// Defaults: POST on /<service>/<operation>, port 8080, no module.
func TestParseSpecDefaults(t *testing.T) {
	s, err := ParseSpec([]byte("service: billing\noperations:\n  - name: Charge\n"), "wego.yaml")
	if err != nil {
		t.Fatal(err)
	}
	op := s.Operations[0]
	if s.Port != 8080 || s.Module != "" || op.Method != "POST" || op.Path != "/billing/charge" || op.Idempotent || op.Status != 200 {
		t.Fatalf("parsed %+v %+v", s, op)
	}
	for _, m := range []string{"PUT", "DELETE"} {
		s, err := ParseSpec([]byte("service: billing\noperations:\n  - {name: Charge, method: "+m+"}\n"), "wego.yaml")
		if err != nil || !s.Operations[0].Idempotent {
			t.Errorf("%s is idempotent by default: %v %+v", m, err, s)
		}
	}
}

// Each rejection names the file and the line, with the reason.
func TestParseSpecRejects(t *testing.T) {
	tests := []struct {
		name     string
		old, new string // replace old with new in base
		line     int
		reason   string
	}{
		{"not yaml", "port: 8090", "port: 8090\n p: 1", 4, "not valid YAML: mapping values are not allowed"},
		{"unknown top-level key", "port: 8090", "prot: 8090", 3, `unknown key "prot"`},
		{"repeated key", "port: 8090", "port: 8090\nport: 8091", 4, `key "port" repeated`},
		{"no service", "service: billing\n", "", 1, "missing key service"},
		{"service not lower case", "service: billing", "service: Billing", 1, "lower-case identifier"},
		{"service with underscore", "service: billing", "service: bill_ing", 1, "lower-case identifier"},
		{"reserved service", "service: billing", "service: catalog", 1, "reserved"},
		{"Go keyword service", "service: billing", "service: func", 1, "reserved"},
		{"bad module", "module: example.com/billing", "module: /billing", 2, "not a valid Go module path"},
		{"port out of range", "port: 8090", "port: 70000", 3, "not a TCP port"},
		{"port not a number", "port: 8090", "port: http", 3, "must be an integer"},
		{"no operations", "operations:\n  - name: GetInvoice\n    method: GET\n    path: /invoices/{id}\n    request:\n      - {name: id, type: string, in: path}\n    response:\n      - {name: invoice_id, type: string}\n", "operations: []\n", 4, "needs at least one"},
		{"operation without name", "  - name: GetInvoice\n", "  - doc: x\n", 5, "operation without a name"},
		{"unexported operation", "name: GetInvoice", "name: getInvoice", 5, "exported Go identifier"},
		{"operation with underscore", "name: GetInvoice", "name: Get_Invoice", 5, "exported Go identifier"},
		{"unknown operation key", "    method: GET\n", "    method: GET\n    retries: 3\n", 7, `unknown key "retries"`},
		{"unknown method", "method: GET", "method: FETCH", 6, `unknown method "FETCH"`},
		{"lower-case method", "method: GET", "method: get", 6, `unknown method "get"`},
		{"path without slash", "path: /invoices/{id}", "path: invoices/{id}", 7, "must start with /"},
		{"path with empty segment", "path: /invoices/{id}", "path: /invoices//{id}", 7, "empty segment"},
		{"path param without field", "path: /invoices/{id}", "path: /invoices/{id}/{line}", 7, "wildcard {line} has no request field"},
		{"path field without param", "path: /invoices/{id}", "path: /invoices", 9, "is in: path but path"},
		{"repeated path param", "path: /invoices/{id}", "path: /invoices/{id}/{id}", 7, "appears twice"},
		{"catch-all wildcard", "path: /invoices/{id}", "path: /invoices/{id...}", 7, "not supported"},
		{"bad path segment", "path: /invoices/{id}", "path: /in voices/{id}", 7, "segment"},
		{"unknown field type", "{name: invoice_id, type: string}", "{name: invoice_id, type: decimal}", 11, `unknown type "decimal"`},
		{"map field type", "{name: invoice_id, type: string}", "{name: invoice_id, type: \"map[string]string\"}", 11, "unknown type"},
		{"field without type", "{name: invoice_id, type: string}", "{name: invoice_id}", 11, "has no type"},
		{"camelCase field", "{name: invoice_id, type: string}", "{name: invoiceId, type: string}", 11, "snake_case"},
		{"repeated field", "      - {name: invoice_id, type: string}\n", "      - {name: invoice_id, type: string}\n      - {name: invoice_id, type: int}\n", 12, `field "invoice_id" repeated`},
		{"fields with one Go name", "      - {name: invoice_id, type: string}\n", "      - {name: invoice_id, type: string}\n      - {name: invoice_i_d, type: int}\n", 12, "would both be the Go field InvoiceID"},
		{"unknown in", "in: path}", "in: cookie}", 9, `in "cookie" must be body, path, query or header`},
		{"slice in path", "{name: id, type: string, in: path}", "{name: id, type: \"[]string\", in: path}", 9, "cannot fill a []string"},
		{"body field in a GET", "      - {name: id, type: string, in: path}\n", "      - {name: id, type: string, in: path}\n      - {name: note, type: string}\n", 10, "a GET request has no body"},
		{"in on a response field", "{name: invoice_id, type: string}", "{name: invoice_id, type: string, in: query}", 11, `unknown key "in"`},
		{"bad audit", "{name: id, type: string, in: path}", "{name: id, type: string, in: path, audit: all}", 9, `audit "all"`},
		{"status not a success", "    method: GET\n", "    method: GET\n    status: 404\n", 7, "not a success status"},
		{"idempotent not a bool", "    method: GET\n", "    method: GET\n    idempotent: maybe\n", 7, "must be true or false"},
		{"bad TTL", "    method: GET\n", "    method: GET\n    cacheable: soon\n", 7, "not a duration"},
		{"negative TTL", "    method: GET\n", "    method: GET\n    cacheable: -1s\n", 7, "negative"},
		{"cacheable but not idempotent", "    method: GET\n", "    method: GET\n    idempotent: false\n    cacheable: 1m\n", 8, "not idempotent"},
		{"repeated operation", "errors:\n", "  - name: GetInvoice\n    method: POST\nerrors:\n", 12, "operation GetInvoice repeated (first on line 5)"},
		{"repeated route", "errors:\n", "  - name: FetchInvoice\n    method: GET\n    path: /invoices/{key}\n    request:\n      - {name: key, type: string, in: path}\nerrors:\n", 12, "route GET /invoices/{key} is GetInvoice's already"},
		{"operation clashing with a type", "errors:\n", "  - name: GetInvoiceRequest\nerrors:\n", 12, "Go name GetInvoiceRequest"},
		{"operation clashing with Messages", "errors:\n", "  - name: Messages\nerrors:\n", 12, "Go name Messages"},
		{"invalid code", "code: billing.invoice_not_found", "code: billing.Invoice-Not-Found", 13, "is not valid"},
		{"code without the prefix", "code: billing.invoice_not_found", "code: invoice_not_found", 13, "must start with the service's name: billing."},
		{"code of another service", "code: billing.invoice_not_found", "code: orders.invoice_not_found", 13, "must start with the service's name"},
		{"reserved code", "code: billing.invoice_not_found", "code: billing.not_implemented", 13, "reserved"},
		{"invalid kind", "kind: not_found", "kind: missing", 14, `unknown kind "missing"`},
		{"no kind", "    kind: not_found\n", "", 13, "has no kind"},
		{"missing en", "    en: \"Invoice {{.id}} does not exist.\"\n", "", 13, "has no en message"},
		{"missing es", "    es: \"La factura {{.id}} no existe.\"\n", "", 13, "has no es message"},
		{"empty es", `es: "La factura {{.id}} no existe."`, `es: ""`, 16, "the es message is empty"},
		{"broken template", `en: "Invoice {{.id}} does not exist."`, `en: "Invoice {{.id does not exist."`, 15, "not a valid template"},
		{"es placeholder unknown to en", `es: "La factura {{.id}} no existe."`, `es: "La factura {{.ident}} no existe."`, 16, "{{.ident}}, which the en message does not"},
		{"repeated code", "    es: \"La factura {{.id}} no existe.\"\n", "    es: \"La factura {{.id}} no existe.\"\n  - {code: billing.invoice_not_found, kind: conflict, en: x, es: y}\n", 17, "code billing.invoice_not_found repeated (first on line 13)"},
		{"codes with one Go name", "    es: \"La factura {{.id}} no existe.\"\n", "    es: \"La factura {{.id}} no existe.\"\n  - {code: billing.invoice.not_found, kind: conflict, en: x, es: y}\n", 17, "Go name ErrInvoiceNotFound"},
		{"errors not a list", "errors:\n", "errors: {}\nx:\n", 12, "must be a list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(base, tt.old) {
				t.Fatalf("base has no %q", tt.old)
			}
			src := strings.Replace(base, tt.old, tt.new, 1)
			_, err := ParseSpec([]byte(src), "wego.yaml")
			if err == nil {
				t.Fatalf("accepted:\n%s", src)
			}
			var se *SpecError
			if !errors.As(err, &se) {
				t.Fatalf("%v is not a *SpecError", err)
			}
			var all []*SpecError
			if j, ok := err.(interface{ Unwrap() []error }); ok {
				for _, e := range j.Unwrap() {
					all = append(all, e.(*SpecError))
				}
			} else {
				all = []*SpecError{se}
			}
			for _, e := range all {
				if e.File == "wego.yaml" && e.Line == tt.line && strings.Contains(e.Reason, tt.reason) {
					if !strings.HasPrefix(e.Error(), "wego.yaml:"+itoa(tt.line)+": ") {
						t.Errorf("Error() = %q", e.Error())
					}
					return
				}
			}
			t.Errorf("want wego.yaml:%d: ...%s..., got:\n%v", tt.line, tt.reason, err)
		})
	}
}

// Several problems are all reported, in line order.
func TestParseSpecJoinsProblems(t *testing.T) {
	src := "service: Billing\nport: 0\noperations:\n  - {name: x, method: FETCH}\n"
	_, err := ParseSpec([]byte(src), "s.yaml")
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("err = %v, want joined problems", err)
	}
	var lines []int
	for _, e := range j.Unwrap() {
		lines = append(lines, e.(*SpecError).Line)
	}
	if len(lines) < 4 || lines[0] != 1 || lines[1] != 2 || lines[2] != 4 {
		t.Errorf("lines %v, err:\n%v", lines, err)
	}
}

func TestParseSpecEmpty(t *testing.T) {
	for _, src := range []string{"", "# only a comment\n", "[1, 2]\n", "service: billing\n"} {
		if _, err := ParseSpec([]byte(src), "s.yaml"); err == nil {
			t.Errorf("accepted %q", src)
		}
	}
}

// The parser never panics on arbitrary input.
func FuzzParseSpec(f *testing.F) {
	f.Add([]byte(base))
	data, _ := os.ReadFile("testdata/billing.yaml")
	f.Add(data)
	f.Add([]byte("service: x\noperations: [{name: A, request: [{name: a, type: int, in: path}]}]\nerrors: [&a {code: x.y}, *a]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSpec(data, "f.yaml")
		if err == nil {
			if _, err := Generate(s, Options{}); err != nil {
				t.Fatalf("a valid spec does not generate: %v", err)
			}
		}
	})
}
