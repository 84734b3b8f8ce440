package httptransport_test

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/wegomesh/wego/catalog"
	httptransport "github.com/wegomesh/wego/transport/http"
)

// oas31 compiles the JSON Schema of OpenAPI 3.1 documents (the OpenAPI
// Initiative's, in testdata), with every Schema Object checked against the
// JSON Schema 2020-12 meta-schema, as the Initiative's schema-base variant
// does: its schemas reach "#meta" through $dynamicRef, which the wrapper
// anchors.
func oas31(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open("testdata/openapi-3.1.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	oas, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	wrapper, err := jsonschema.UnmarshalJSON(strings.NewReader(`{
		"$id": "https://wego.test/oas-3.1-schema-base",
		"$schema": "https://json-schema.org/draft/2020-12/schema",
		"$ref": "https://spec.openapis.org/oas/3.1/schema/2022-10-07",
		"$defs": {"schema": {"$dynamicAnchor": "meta", "$ref": "https://json-schema.org/draft/2020-12/schema"}}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	for url, doc := range map[string]any{
		"https://spec.openapis.org/oas/3.1/schema/2022-10-07": oas,
		"https://wego.test/oas-3.1-schema-base":               wrapper,
	} {
		if err := c.AddResource(url, doc); err != nil {
			t.Fatal(err)
		}
	}
	s, err := c.Compile("https://wego.test/oas-3.1-schema-base")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The documents the server generates are valid OpenAPI 3.1, with the
// validation rules in their schemas.
func TestOpenAPIDocumentIsValid(t *testing.T) {
	t.Parallel()
	schema := oas31(t)
	rules := rulesCatalog(t)
	docs := map[string]*catalog.Catalog{"fixture": newFixture(t).cat, "rules": rules}
	for name, cat := range docs {
		b, err := httptransport.OpenAPI(cat, name)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if err := schema.Validate(doc); err != nil {
			t.Errorf("%s: the OpenAPI document is not valid 3.1: %v", name, err)
		}
	}
	// The check itself sees Schema Objects: a bound of the wrong type fails.
	b, err := httptransport.OpenAPI(rules, "broken")
	if err != nil {
		t.Fatal(err)
	}
	broken := bytes.Replace(b, []byte(`"minimum": 1`), []byte(`"minimum": "1"`), 1)
	if bytes.Equal(broken, b) {
		t.Fatal("no minimum to break")
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(broken))
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(doc); err == nil {
		t.Error(`a schema with "minimum": "1" passes the validity check`)
	}
}
