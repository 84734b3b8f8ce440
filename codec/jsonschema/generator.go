package jsonschema

import (
	"encoding"
	"encoding/json"
	"path"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wegomesh/wego/codec"
)

// A Schema is a JSON Schema object, as encoding/json encodes it: keywords
// to values, nested schemas being Schemas too.
type Schema map[string]any

// A Generator maps Go types to JSON Schemas, following encoding/json
// (field names from json tags, embedded structs flattened, omitted
// fields left out). Named struct types become shared definitions that
// schemas refer to with $ref; unnamed ones are inline. A struct type
// whose rules were probed ([Generator.ProbeRules]) carries them wherever
// it appears. A Generator is for one document: it collects the
// definitions that the document's schemas refer to, and is not safe for
// concurrent use.
type Generator struct {
	refPrefix string
	defs      map[string]Schema
	names     map[reflect.Type]string
	taken     map[string]bool
	rules     map[reflect.Type]Rules
}

// NewGenerator returns a Generator whose references are refPrefix followed
// by a definition's name: "#/components/schemas/" where an OpenAPI or
// AsyncAPI document keeps the definitions ([Generator.Definitions]), or
// "#/$defs/" for a JSON Schema document.
func NewGenerator(refPrefix string) *Generator {
	return &Generator{refPrefix: refPrefix, defs: map[string]Schema{}, names: map[reflect.Type]string{},
		taken: map[string]bool{}, rules: map[reflect.Type]Rules{}}
}

// Ref returns a schema that refers to the definition name.
func (g *Generator) Ref(name string) Schema { return Schema{"$ref": g.refPrefix + name} }

// Define sets the definition name to s, a schema made by hand (such as an
// error body's), and keeps the names of generated definitions from taking
// it.
func (g *Generator) Define(name string, s Schema) {
	g.defs[name] = s
	g.taken[name] = true
}

// Definitions returns the definitions made so far, by name: those of
// Define and of the named struct types that schemas refer to. The map is
// the Generator's own and grows as schemas are made; a document encodes it
// once every schema is made.
func (g *Generator) Definitions() map[string]Schema { return g.defs }

// ProbeRules returns what the Validate method of struct type t (or of
// what t points to) enforces, as [RulesOf] finds it with name, and makes
// t's schema carry the rules wherever it is used, as bounds of its
// properties and its list of required ones. It probes each type once;
// later calls return the rules of the first. Call it before any schema
// that holds t is made. It returns nil for a type that is not a struct or
// a pointer to one.
func (g *Generator) ProbeRules(t reflect.Type, name FieldName) Rules {
	t = structOf(t)
	if t == nil {
		return nil
	}
	rs, done := g.rules[t]
	if !done {
		rs = RulesOf(t, name)
		g.rules[t] = rs
	}
	return rs
}

// structOf returns t, or what it points to, when that is a struct type.
func structOf(t reflect.Type) reflect.Type {
	if t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	return t
}

var (
	timeType      = reflect.TypeFor[time.Time]()
	durationType  = reflect.TypeFor[time.Duration]()
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

// Schema returns the schema of t's JSON form: a reference for a named
// struct type (whose definition it adds the first time), an inline schema
// otherwise. Pointers are their element's schema; time.Time is a
// date-time string, time.Duration an integer of nanoseconds, a type with
// its own MarshalJSON anything, one with MarshalText a string, []byte a
// base64 string, and interfaces, functions and channels anything.
func (g *Generator) Schema(t reflect.Type) Schema {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		return Schema{"type": "string", "format": "date-time"}
	case t == durationType:
		return Schema{"type": "integer", "description": "A duration in nanoseconds."}
	case t.Implements(jsonMarshaler) || reflect.PointerTo(t).Implements(jsonMarshaler):
		return Schema{}
	case t.Implements(textMarshaler) || reflect.PointerTo(t).Implements(textMarshaler):
		return Schema{"type": "string"}
	}
	switch t.Kind() {
	case reflect.Bool:
		return Schema{"type": "boolean"}
	case reflect.Int, reflect.Int64:
		return Schema{"type": "integer", "format": "int64"}
	case reflect.Int8, reflect.Int16, reflect.Int32:
		return Schema{"type": "integer", "format": "int32"}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return Schema{"type": "integer", "minimum": 0}
	case reflect.Float32:
		return Schema{"type": "number", "format": "float"}
	case reflect.Float64:
		return Schema{"type": "number", "format": "double"}
	case reflect.String:
		return Schema{"type": "string"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && t.Kind() == reflect.Slice {
			return Schema{"type": "string", "contentEncoding": "base64"}
		}
		s := Schema{"type": "array", "items": g.Schema(t.Elem())}
		if t.Kind() == reflect.Array {
			s["minItems"], s["maxItems"] = t.Len(), t.Len()
		}
		return s
	case reflect.Map:
		return Schema{"type": "object", "additionalProperties": g.Schema(t.Elem())}
	case reflect.Struct:
		if t.Name() == "" {
			return g.StructSchema(t, nil)
		}
		name, ok := g.names[t]
		if !ok {
			name = g.name(t)
			g.names[t] = name
			g.defs[name] = Schema{} // a placeholder for recursive types
			g.defs[name] = g.StructSchema(t, nil)
		}
		return g.Ref(name)
	}
	return Schema{} // interfaces, funcs, channels: anything
}

// name returns a definition name for a named type: its package's name and
// its own, with what OpenAPI does not allow in names replaced.
func (g *Generator) name(t reflect.Type) string {
	n := t.Name()
	if pkg := t.PkgPath(); pkg != "" {
		n = path.Base(pkg) + "." + n
	}
	n = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' {
			return r
		}
		return '_'
	}, n)
	base := n
	for i := 2; g.taken[n]; i++ {
		n = base + strconv.Itoa(i)
	}
	g.taken[n] = true
	return n
}

// StructSchema returns the schema of struct type t inline, never a
// reference, as encoding/json encodes it: an object of its fields and no
// other property, with the bounds and required fields of its probed
// rules. omit, when not nil, leaves out the fields, embedded ones
// included, for which it reports true (an HTTP transport leaves out those
// bound to the path, the query or headers).
func (g *Generator) StructSchema(t reflect.Type, omit func(reflect.StructField) bool) Schema {
	props := Schema{}
	g.fields(t, props, omit, 0)
	s := Schema{"type": "object", "properties": props, "additionalProperties": false}
	var required []string
	for name, r := range g.rules[t] {
		p, ok := props[name].(Schema)
		if !ok {
			continue // a parameter, or a name that is not a field
		}
		r.Apply(p)
		if r.Required {
			required = append(required, name)
		}
	}
	if required != nil {
		slices.Sort(required)
		s["required"] = required
	}
	return s
}

func (g *Generator) fields(t reflect.Type, props Schema, omit func(reflect.StructField) bool, depth int) {
	if depth > 8 {
		return
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, opts, skip := codec.JSONTag(f)
		if skip {
			continue
		}
		if omit != nil && omit(f) {
			continue
		}
		ft := f.Type
		if f.Anonymous && name == "" {
			et := ft
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				g.fields(et, props, omit, depth+1)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, dup := props[name]; dup && depth > 0 {
			continue // an outer field hides a promoted one
		}
		s := g.Schema(ft)
		if strings.Contains(","+opts+",", ",string,") {
			s = Schema{"type": "string"}
		}
		props[name] = s
	}
}
