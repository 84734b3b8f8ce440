package codec

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strings"
)

// A JSONType is what [DecodeStrict] knows about the JSON form of a Go
// type: for structs, the JSON names of the fields, exactly as a schema of
// the type gives them, so that any other key (one that differs only in
// case included) is found while the body is scanned for duplicates, and,
// for a flat struct, a decoder that takes the common body in one walk. It
// is built once per type ([TypeOf]), typically once per command, and is
// safe for concurrent use.
type JSONType struct {
	kind   jsonShape
	fields map[string]*JSONType // struct: JSON name -> field type
	elem   *JSONType            // map values, array elements
	fast   *fastPlan            // the top-level type: a one-walk decoder, or nil
}

type jsonShape uint8

const (
	jsonAny    jsonShape = iota // anything: interfaces, scalars, custom unmarshalers
	jsonStruct                  // an object with known keys
	jsonMap                     // an object with any keys
	jsonArray
)

var anyJSON = &JSONType{kind: jsonAny}

var (
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerT    = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// TypeOf returns the JSONType of t, the type that [DecodeStrict] decodes
// into through a *t. It uses reflection; call it once per type, not per
// value.
func TypeOf(t reflect.Type) *JSONType {
	jt := buildJSONType(t, map[reflect.Type]*JSONType{})
	if jt.kind == jsonStruct {
		if p := fastPlanOf(t); p != nil {
			// A copy, so that the plan is used only at the top level
			// (a recursive type's fields point to jt itself).
			top := *jt
			top.fast = p
			return &top
		}
	}
	return jt
}

func buildJSONType(t reflect.Type, seen map[reflect.Type]*JSONType) *JSONType {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if jt, ok := seen[t]; ok {
		return jt
	}
	pt := reflect.PointerTo(t)
	if t.Implements(jsonUnmarshalerType) || pt.Implements(jsonUnmarshalerType) {
		return anyJSON
	}
	switch t.Kind() {
	case reflect.Struct:
		jt := &JSONType{kind: jsonStruct, fields: map[string]*JSONType{}}
		seen[t] = jt
		addFields(jt, t, seen, 0)
		return jt
	case reflect.Map:
		if pt.Implements(textUnmarshalerT) {
			return anyJSON
		}
		jt := &JSONType{kind: jsonMap}
		seen[t] = jt
		jt.elem = buildJSONType(t.Elem(), seen)
		return jt
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 || pt.Implements(textUnmarshalerT) {
			return anyJSON
		}
		jt := &JSONType{kind: jsonArray}
		seen[t] = jt
		jt.elem = buildJSONType(t.Elem(), seen)
		return jt
	}
	return anyJSON
}

// addFields adds the keys encoding/json decodes into fields of t,
// flattening embedded structs. Where embedded fields conflict,
// encoding/json may ignore a key this accepts: then the key is decoded
// into nothing, as without strictness.
func addFields(jt *JSONType, t reflect.Type, seen map[reflect.Type]*JSONType, depth int) {
	if depth > 16 {
		return
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, skip := JSONTag(f)
		if skip {
			continue
		}
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				addFields(jt, ft, seen, depth+1)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, dup := jt.fields[name]; dup && depth > 0 {
			continue
		}
		jt.fields[name] = buildJSONType(f.Type, seen)
	}
}

// field returns the type of the field whose JSON name is exactly key,
// without allocating.
func (jt *JSONType) field(key []byte) (*JSONType, bool) {
	ft, ok := jt.fields[string(key)] // the conversion does not allocate
	return ft, ok
}

// JSONTag returns the name in a struct field's json tag ("" when the tag
// gives none), the tag's options ("omitempty,string") and whether JSON
// skips the field (json:"-"), as encoding/json reads the tag.
func JSONTag(f reflect.StructField) (name, opts string, skip bool) {
	tag := f.Tag.Get("json")
	if tag == "-" {
		return "", "", true
	}
	name, opts, _ = strings.Cut(tag, ",")
	return name, opts, false
}
