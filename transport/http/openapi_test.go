package httptransport_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/middleware/validate"
	httptransport "github.com/wegomesh/wego/transport/http"
)

// Request types whose Validate methods the OpenAPI document describes.

type RuledRequest struct {
	SKU    string  `json:"sku"`
	Qty    int     `json:"qty"`
	Note   string  `json:"note,omitempty"`
	Color  string  `json:"color"`
	Temp   int64   `json:"temp"`
	Small  int8    `json:"small"`
	Count  uint32  `json:"count"`
	Ratio  float64 `json:"ratio"`
	Hint   *string `json:"hint,omitempty"`
	Free   string  `json:"free"`
	Odd    string  `json:"odd"`
	Nested Note    `json:"nested"`
}

func (r RuledRequest) Validate() error {
	c := validate.Check().
		NotEmpty("sku", r.SKU).
		Min("qty", r.Qty, 1).
		Max("qty", r.Qty, 100).
		MaxLen("note", r.Note, 200).
		OneOf("color", r.Color, "red", "green").
		Min("temp", int(r.Temp), -40).
		Max("small", int(r.Small), 10).
		Max("count", int(r.Count), 1000).
		Min("ratio", int(r.Ratio), 0).
		OneOf("odd", r.Odd, "a, b", "c", "") // a value holding ", " cannot be listed
	if r.Hint != nil {
		c = c.MaxLen("hint", *r.Hint, 30)
	}
	return c.Err()
}

// HandRequest validates by hand, as examples/mesh/inventory does: no
// message keys, so only what is required shows.
type HandRequest struct {
	SKU string `json:"sku"`
	Qty int    `json:"qty"`
}

func (r HandRequest) Validate() error {
	var bad []errs.FieldViolation
	if r.SKU == "" {
		bad = append(bad, errs.Field("sku", "must not be empty"))
	}
	if r.Qty < 1 {
		bad = append(bad, errs.Field("qty", "must be at least 1"))
	}
	if bad != nil {
		return errs.InvalidArgument(bad...)
	}
	return nil
}

// ListRequest validates bound parameters.
type ListRequest struct {
	Shelf  string `path:"shelf" json:"-"`
	Limit  int    `query:"limit" json:"-"`
	Sort   string `query:"sort" json:"-"`
	Tenant string `header:"x-tenant" json:"-"`
}

func (r ListRequest) Validate() error {
	return validate.Check().
		NotEmpty("shelf", r.Shelf).
		Min("limit", r.Limit, 0).
		Max("limit", r.Limit, 50).
		OneOf("sort", r.Sort, "", "name", "date").
		NotEmpty("X-Tenant", r.Tenant).
		Err()
}

// PtrRequest is validated through its pointer.
type PtrRequest struct {
	Name string `json:"name"`
}

func (r *PtrRequest) Validate() error {
	return validate.Check().NotEmpty("name", r.Name).MaxLen("name", r.Name, 64).Err()
}

// PanicRequest's Validate dereferences a pointer that probes leave nil.
type PanicRequest struct {
	Inner *struct{ N int } `json:"inner"`
	Name  string           `json:"name"`
}

func (r PanicRequest) Validate() error {
	return validate.Check().Min("n", r.Inner.N, 1).Err()
}

// PlainValidateRequest's Validate returns an error that is not errs'.
type PlainValidateRequest struct {
	Name string `json:"name"`
}

func (r PlainValidateRequest) Validate() error {
	if r.Name == "" {
		return errors.New("name is required")
	}
	return nil
}

// rulesCatalog serves commands with the request types above.
func rulesCatalog(t *testing.T) *catalog.Catalog {
	t.Helper()
	cat := catalog.New()
	reg := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	reg(catalog.RegisterIn(cat, "rules.Ruled", func(context.Context, RuledRequest) (Empty, error) { return Empty{}, nil }))
	reg(catalog.RegisterIn(cat, "rules.Hand", func(context.Context, HandRequest) (Empty, error) { return Empty{}, nil }))
	reg(catalog.RegisterIn(cat, "rules.List", func(context.Context, ListRequest) (Order, error) { return Order{}, nil },
		httptransport.GET("/shelves/{shelf}")))
	reg(catalog.RegisterIn(cat, "rules.Ptr", func(context.Context, *PtrRequest) (Empty, error) { return Empty{}, nil }))
	reg(catalog.RegisterIn(cat, "rules.Panic", func(context.Context, PanicRequest) (Empty, error) { return Empty{}, nil }))
	reg(catalog.RegisterIn(cat, "rules.Plain", func(context.Context, PlainValidateRequest) (Empty, error) { return Empty{}, nil }))
	reg(catalog.RegisterIn(cat, "rules.None", func(context.Context, CreateOrder) (Empty, error) { return Empty{}, nil }))
	return cat
}

// openAPIDoc is the decoded OpenAPI document of rulesCatalog.
func openAPIDoc(t *testing.T) map[string]any {
	t.Helper()
	b, err := httptransport.OpenAPI(rulesCatalog(t), "rules")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// at walks a decoded JSON document: map keys, and slice indexes as ints.
func at(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			s, _ := v.([]any)
			if k >= len(s) {
				return nil
			}
			v = s[k]
		}
	}
	return v
}

func TestOpenAPIValidationRules(t *testing.T) {
	t.Parallel()
	doc := openAPIDoc(t)
	schema := func(name string) any { return at(doc, "components", "schemas", name) }
	ruled := schema("http_test.RuledRequest")
	tests := []struct {
		name string
		got  any
		want any // a decoded JSON value; nil: absent
	}{
		{"required: rejected when absent", at(ruled, "required"), []any{"color", "qty", "sku"}},
		{"NotEmpty: minLength 1", at(ruled, "properties", "sku", "minLength"), 1.0},
		{"NotEmpty: not only white space", at(ruled, "properties", "sku", "pattern"), `\S`},
		{"Min", at(ruled, "properties", "qty", "minimum"), 1.0},
		{"Max", at(ruled, "properties", "qty", "maximum"), 100.0},
		{"MaxLen", at(ruled, "properties", "note", "maxLength"), 200.0},
		{"MaxLen is not a minimum", at(ruled, "properties", "note", "minLength"), nil},
		{"OneOf: enum", at(ruled, "properties", "color", "enum"), []any{"red", "green"}},
		{"negative Min", at(ruled, "properties", "temp", "minimum"), -40.0},
		{"negative Min: zero passes, not required", at(ruled, "properties", "temp", "maximum"), nil},
		{"Max of an int8", at(ruled, "properties", "small", "maximum"), 10.0},
		{"Max of a uint32", at(ruled, "properties", "count", "maximum"), 1000.0},
		{"uint keeps its minimum 0", at(ruled, "properties", "count", "minimum"), 0.0},
		{"Min of a float", at(ruled, "properties", "ratio", "minimum"), 0.0},
		{"a rule under a condition the probes meet", at(ruled, "properties", "hint", "maxLength"), 30.0},
		{"no rule", at(ruled, "properties", "free"), map[string]any{"type": "string"}},
		{"enum values holding the separator are left out", at(ruled, "properties", "odd", "enum"), nil},
		{"a nested struct is a reference", at(ruled, "properties", "nested", "$ref"), "#/components/schemas/http_test.Note"},

		{"by hand: required", at(schema("http_test.HandRequest"), "required"), []any{"qty", "sku"}},
		{"by hand: no key, no bound", at(schema("http_test.HandRequest"), "properties", "qty", "minimum"), nil},

		{"pointer receiver", at(schema("http_test.PtrRequest"), "required"), []any{"name"}},
		{"pointer receiver: maxLength", at(schema("http_test.PtrRequest"), "properties", "name", "maxLength"), 64.0},

		{"a panicking Validate adds nothing", at(schema("http_test.PanicRequest"), "required"), nil},
		{"a Validate error that is not errs' adds nothing", at(schema("http_test.PlainValidateRequest"), "required"), nil},
		{"no Validate method", at(schema("http_test.CreateOrder"), "required"), nil},

		{"a field violation's message key", at(schema("Error"), "properties", "fields", "items", "properties", "key", "type"), "string"},
		{"a field violation's parameters", at(schema("Error"), "properties", "fields", "items", "properties", "params", "additionalProperties"),
			map[string]any{"type": "string"}},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s: got %#v, want %#v", tt.name, tt.got, tt.want)
		}
	}
}

func TestOpenAPIParameterRules(t *testing.T) {
	t.Parallel()
	doc := openAPIDoc(t)
	params, _ := at(doc, "paths", "/shelves/{shelf}", "get", "parameters").([]any)
	byName := map[string]any{}
	for _, p := range params {
		byName[at(p, "name").(string)] = p
	}
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"path: required", at(byName["shelf"], "required"), true},
		{"path: NotEmpty", at(byName["shelf"], "schema"), map[string]any{"type": "string", "minLength": 1.0, "pattern": `\S`}},
		{"query: bounds", at(byName["limit"], "schema"), map[string]any{"type": "integer", "format": "int64", "minimum": 0.0, "maximum": 50.0}},
		{"query: zero passes, optional", at(byName["limit"], "required"), false},
		{"query: enum with the empty value", at(byName["sort"], "schema", "enum"), []any{"", "name", "date"}},
		{"header named in another case: required", at(byName["X-Tenant"], "required"), true},
		{"header: minLength", at(byName["X-Tenant"], "schema", "minLength"), 1.0},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s: got %#v, want %#v", tt.name, tt.got, tt.want)
		}
	}
}

func TestOpenAPIRequestBodyRequired(t *testing.T) {
	t.Parallel()
	doc := openAPIDoc(t)
	for _, tt := range []struct {
		path, method string
		want         any
	}{
		{"/rules/ruled", "post", true},
		{"/rules/none", "post", true},
		{"/shelves/{shelf}", "get", nil}, // no body at all
	} {
		op := at(doc, "paths", tt.path, tt.method)
		if op == nil {
			t.Fatalf("no operation %s %s", tt.method, tt.path)
		}
		if got := at(op, "requestBody", "required"); got != tt.want {
			t.Errorf("%s %s: requestBody.required = %v, want %v", tt.method, tt.path, got, tt.want)
		}
	}
}
