package httptransport

import (
	"encoding"
	"encoding/json"
	"reflect"
)

// jsonType is what the strict decoder knows about the JSON form of a Go
// type: for structs, the JSON names of the fields, exactly as the OpenAPI
// document gives them, so that any other key (one that differs only in
// case included) is found while the body is scanned for duplicates. It
// is built once per command.
type jsonType struct {
	kind   jsonShape
	fields map[string]*jsonType // struct: JSON name -> field type
	elem   *jsonType            // map values, array elements
	fast   *fastPlan            // the top-level type: a one-walk decoder, or nil
}

type jsonShape uint8

const (
	jsonAny    jsonShape = iota // anything: interfaces, scalars, custom unmarshalers
	jsonStruct                  // an object with known keys
	jsonMap                     // an object with any keys
	jsonArray
)

var anyJSON = &jsonType{kind: jsonAny}

var (
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerT    = reflect.TypeFor[encoding.TextUnmarshaler]()
)

func jsonTypeOf(t reflect.Type) *jsonType {
	jt := buildJSONType(t, map[reflect.Type]*jsonType{})
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

func buildJSONType(t reflect.Type, seen map[reflect.Type]*jsonType) *jsonType {
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
		jt := &jsonType{kind: jsonStruct, fields: map[string]*jsonType{}}
		seen[t] = jt
		addFields(jt, t, seen, 0)
		return jt
	case reflect.Map:
		if pt.Implements(textUnmarshalerT) {
			return anyJSON
		}
		jt := &jsonType{kind: jsonMap}
		seen[t] = jt
		jt.elem = buildJSONType(t.Elem(), seen)
		return jt
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 || pt.Implements(textUnmarshalerT) {
			return anyJSON
		}
		jt := &jsonType{kind: jsonArray}
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
func addFields(jt *jsonType, t reflect.Type, seen map[reflect.Type]*jsonType, depth int) {
	if depth > 16 {
		return
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, skip := jsonField(f)
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
func (jt *jsonType) field(key []byte) (*jsonType, bool) {
	ft, ok := jt.fields[string(key)] // the conversion does not allocate
	return ft, ok
}
