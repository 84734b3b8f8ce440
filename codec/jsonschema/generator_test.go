package jsonschema_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/wegomesh/wego/codec/jsonschema"
	"github.com/wegomesh/wego/middleware/validate"
)

type Tree struct {
	Name     string  `json:"name"`
	Children []*Tree `json:"children"`
}

type base struct {
	ID     string `json:"id"`
	Hidden string `json:"hidden"`
}

type Shelf struct {
	base
	Shelf  string            `path:"shelf" json:"-"`
	Tenant string            `header:"x-tenant" json:"-"`
	Hidden int               `json:"hidden"`
	When   time.Time         `json:"when"`
	Wait   time.Duration     `json:"wait"`
	Raw    json.RawMessage   `json:"raw"`
	Bytes  []byte            `json:"bytes"`
	Three  [3]uint8          `json:"three"`
	Counts map[string]uint16 `json:"counts"`
	Quoted int               `json:"quoted,string"`
	Any    any               `json:"any"`
	Tree   Tree              `json:"tree"`
	Bound  string            `query:"bound"`
	//lint:ignore U1000 an unexported field, which schemas leave out
	skip int
}

func (s Shelf) Validate() error {
	return validate.Check().NotEmpty("shelf", s.Shelf).MaxLen("X-Tenant", s.Tenant, 8).
		OneOf("id", s.ID, "a", "b").Err()
}

// schemaJSON encodes a schema for comparison.
func schemaJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSchemas(t *testing.T) {
	t.Parallel()
	g := jsonschema.NewGenerator("#/components/schemas/")
	tests := []struct {
		typ  reflect.Type
		want string
	}{
		{reflect.TypeFor[bool](), `{"type":"boolean"}`},
		{reflect.TypeFor[*int8](), `{"format":"int32","type":"integer"}`},
		{reflect.TypeFor[uint](), `{"minimum":0,"type":"integer"}`},
		{reflect.TypeFor[float32](), `{"format":"float","type":"number"}`},
		{reflect.TypeFor[[]string](), `{"items":{"type":"string"},"type":"array"}`},
		{reflect.TypeFor[[2]bool](), `{"items":{"type":"boolean"},"maxItems":2,"minItems":2,"type":"array"}`},
		{reflect.TypeFor[[]byte](), `{"contentEncoding":"base64","type":"string"}`},
		{reflect.TypeFor[time.Time](), `{"format":"date-time","type":"string"}`},
		{reflect.TypeFor[time.Duration](), `{"description":"A duration in nanoseconds.","type":"integer"}`},
		{reflect.TypeFor[json.RawMessage](), `{}`},
		{reflect.TypeFor[struct{ A int }](), `{"additionalProperties":false,"properties":{"A":{"format":"int64","type":"integer"}},"type":"object"}`},
		{reflect.TypeFor[*Tree](), `{"$ref":"#/components/schemas/jsonschema_test.Tree"}`},
		{reflect.TypeFor[func()](), `{}`},
	}
	for _, tt := range tests {
		if got := schemaJSON(t, g.Schema(tt.typ)); got != tt.want {
			t.Errorf("%v: %s, want %s", tt.typ, got, tt.want)
		}
	}
	// A recursive type refers to itself.
	tree := schemaJSON(t, g.Definitions()["jsonschema_test.Tree"])
	if want := `{"additionalProperties":false,"properties":{"children":{"items":{"$ref":"#/components/schemas/jsonschema_test.Tree"},"type":"array"},"name":{"type":"string"}},"type":"object"}`; tree != want {
		t.Errorf("Tree: %s, want %s", tree, want)
	}
}

func TestDefinitionNames(t *testing.T) {
	t.Parallel()
	g := jsonschema.NewGenerator("#/$defs/")
	g.Define("jsonschema_test.Tree", jsonschema.Schema{"type": "null"})
	if got := schemaJSON(t, g.Schema(reflect.TypeFor[Tree]())); got != `{"$ref":"#/$defs/jsonschema_test.Tree2"}` {
		t.Errorf("a name taken by Define: %s", got)
	}
	if got := schemaJSON(t, g.Definitions()["jsonschema_test.Tree"]); got != `{"type":"null"}` {
		t.Errorf("the defined schema: %s", got)
	}
	type generic[T any] struct{ V T }
	if got := schemaJSON(t, g.Schema(reflect.TypeFor[generic[int]]())); got != `{"$ref":"#/$defs/jsonschema_test.generic_int_"}` {
		t.Errorf("a generic type's name: %s", got)
	}
}

// paramName names the fields bound to HTTP parameters, as the HTTP
// transport does.
func paramName(f reflect.StructField) (string, bool) {
	for _, k := range []string{"path", "query", "header"} {
		if n := f.Tag.Get(k); n != "" {
			if k == "header" {
				n = http.CanonicalHeaderKey(n)
			}
			return n, true
		}
	}
	return "", false
}

func TestStructSchemaAndRules(t *testing.T) {
	t.Parallel()
	g := jsonschema.NewGenerator("#/components/schemas/")
	rs := g.ProbeRules(reflect.TypeFor[*Shelf](), paramName)
	if rs["shelf"] == nil || !rs["shelf"].Required || rs["X-Tenant"] == nil || *rs["X-Tenant"].MaxLength != 8 {
		t.Errorf("rules of bound fields: %+v", rs)
	}
	if again := g.ProbeRules(reflect.TypeFor[Shelf](), nil); !reflect.DeepEqual(again, rs) {
		t.Errorf("a second probe: %+v, want the first %+v", again, rs)
	}
	if g.ProbeRules(reflect.TypeFor[int](), nil) != nil {
		t.Error("rules of an int")
	}
	bound := func(f reflect.StructField) bool { _, ok := paramName(f); return ok }
	got := schemaJSON(t, g.StructSchema(reflect.TypeFor[Shelf](), bound))
	want := `{"additionalProperties":false,"properties":{` +
		`"any":{},"bytes":{"contentEncoding":"base64","type":"string"},"counts":{"additionalProperties":{"minimum":0,"type":"integer"},"type":"object"},` +
		`"hidden":{"format":"int64","type":"integer"},"id":{"enum":["a","b"],"type":"string"},"quoted":{"type":"string"},"raw":{},` +
		`"three":{"items":{"minimum":0,"type":"integer"},"maxItems":3,"minItems":3,"type":"array"},` +
		`"tree":{"$ref":"#/components/schemas/jsonschema_test.Tree"},` +
		`"wait":{"description":"A duration in nanoseconds.","type":"integer"},"when":{"format":"date-time","type":"string"}},"required":["id"],"type":"object"}`
	if got != want {
		t.Errorf("StructSchema without the bound fields:\n%s\nwant\n%s", got, want)
	}
	// Without omit, bound fields that JSON keeps are properties.
	if p := g.StructSchema(reflect.TypeFor[Shelf](), nil)["properties"].(jsonschema.Schema); p["Bound"] == nil || p["shelf"] != nil {
		t.Errorf("StructSchema without omit: %s", schemaJSON(t, p))
	}
}

func TestRuleApply(t *testing.T) {
	t.Parallel()
	n := func(v int64) *int64 { return &v }
	r := &jsonschema.Rule{Minimum: n(-1), Maximum: n(5), MinLength: n(1), MaxLength: n(9), Pattern: `\S`, Enum: []string{"a"}}
	u := jsonschema.Schema{"type": "integer", "minimum": 0}
	r.Apply(u)
	if schemaJSON(t, u) != `{"maximum":5,"minimum":0,"type":"integer"}` {
		t.Errorf("integer: %s (the tighter minimum 0 stays)", schemaJSON(t, u))
	}
	s := jsonschema.Schema{"type": "string"}
	r.Apply(s)
	if schemaJSON(t, s) != `{"enum":["a"],"maxLength":9,"minLength":1,"pattern":"\\S","type":"string"}` {
		t.Errorf("string: %s", schemaJSON(t, s))
	}
	ref := jsonschema.Schema{"$ref": "#/x"}
	r.Apply(ref)
	if len(ref) != 1 {
		t.Errorf("a reference: %s", schemaJSON(t, ref))
	}
}
