package jsonschema_test

import (
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/wegomesh/wego/codec/jsonschema"
	"github.com/wegomesh/wego/middleware/validate"
)

type Reserve struct {
	SKU  string `json:"sku"`
	Qty  int    `json:"qty"`
	Note string `json:"note,omitempty"`
}

func (r Reserve) Validate() error {
	return validate.Check().NotEmpty("sku", r.SKU).Min("qty", r.Qty, 1).Max("qty", r.Qty, 100).Err()
}

// A JSON Schema document of one type: its definitions under $defs, its
// validation rules as keywords.
func ExampleGenerator() {
	g := jsonschema.NewGenerator("#/$defs/")
	t := reflect.TypeFor[Reserve]()
	g.ProbeRules(t, nil)
	doc := g.Schema(t)
	doc["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	doc["$defs"] = g.Definitions()
	b, _ := json.MarshalIndent(doc, "", "  ")
	fmt.Println(string(b))
	// Output:
	// {
	//   "$defs": {
	//     "jsonschema_test.Reserve": {
	//       "additionalProperties": false,
	//       "properties": {
	//         "note": {
	//           "type": "string"
	//         },
	//         "qty": {
	//           "format": "int64",
	//           "maximum": 100,
	//           "minimum": 1,
	//           "type": "integer"
	//         },
	//         "sku": {
	//           "minLength": 1,
	//           "pattern": "\\S",
	//           "type": "string"
	//         }
	//       },
	//       "required": [
	//         "qty",
	//         "sku"
	//       ],
	//       "type": "object"
	//     }
	//   },
	//   "$ref": "#/$defs/jsonschema_test.Reserve",
	//   "$schema": "https://json-schema.org/draft/2020-12/schema"
	// }
}
