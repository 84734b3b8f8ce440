package config

import (
	"reflect"
	"strings"
)

// Viper splits keys at dots, so a map keyed by dotted names —
//
//	middleware:
//	  ratelimit:
//	    commands:
//	      inventory.Reserve: {rate: 5}
//
// — arrives as commands: {inventory: {reserve: {rate: 5}}}. rejoin undoes
// that, guided by the type the tree is decoded into: inside a map whose
// values are structs, a nested map whose keys are not all fields of the
// struct is a split key, and its levels are joined again with dots; inside
// a map whose values are scalars or lists, every nested map is. Maps of
// maps and maps of any are left as they are, since there the nesting may be
// meant. Keys come back lower-cased, as viper gives them.
func rejoin(in any, t reflect.Type) any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return in
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := in.(map[string]any)
		if !ok {
			return in
		}
		out := make(map[string]any, len(m))
		for k, v := range m {
			out[k] = v
		}
		rejoinFields(out, t)
		return out
	case reflect.Map:
		m, ok := in.(map[string]any)
		if !ok || t.Key().Kind() != reflect.String {
			return in
		}
		elem := t.Elem()
		out := make(map[string]any, len(m))
		var put func(key string, v any)
		put = func(key string, v any) {
			if sub, ok := v.(map[string]any); ok && splitKey(sub, elem) {
				for k2, v2 := range sub {
					put(key+"."+k2, v2)
				}
				return
			}
			out[key] = rejoin(v, elem)
		}
		for k, v := range m {
			put(k, v)
		}
		return out
	case reflect.Slice, reflect.Array:
		list, ok := in.([]any)
		if !ok {
			return in
		}
		out := make([]any, len(list))
		for i, v := range list {
			out[i] = rejoin(v, t.Elem())
		}
		return out
	}
	return in
}

// rejoinFields rejoins, in place, the values of m that struct type t's
// fields take.
func rejoinFields(m map[string]any, t reflect.Type) {
	eachField(t, func(key string, ft reflect.Type) {
		if v, ok := m[key]; ok {
			m[key] = rejoin(v, ft)
		}
	})
}

// eachField calls f with the lower-case key and the type of every field
// of struct type t that mapstructure fills, descending into squashed and
// embedded structs.
func eachField(t reflect.Type, f func(key string, ft reflect.Type)) {
	for i := range t.NumField() {
		sf := t.Field(i)
		name, opts, _ := strings.Cut(sf.Tag.Get("mapstructure"), ",")
		if name == "-" || !sf.IsExported() {
			continue
		}
		ft := sf.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if (sf.Anonymous || hasTagOption(opts, "squash")) && ft.Kind() == reflect.Struct {
			eachField(ft, f)
			continue
		}
		if name == "" {
			name = sf.Name
		}
		f(strings.ToLower(name), sf.Type)
	}
}

// splitKey reports whether sub, found as a value of a map whose values
// have type elem, is a key split at a dot rather than a value.
func splitKey(sub map[string]any, elem reflect.Type) bool {
	for elem.Kind() == reflect.Pointer {
		elem = elem.Elem()
	}
	if reflect.PointerTo(elem).Implements(textUnmarshalerType) {
		return true
	}
	switch elem.Kind() {
	case reflect.Interface, reflect.Map:
		return false
	case reflect.Struct:
		fields := fieldNames(elem)
		for k := range sub {
			if !fields[k] {
				return true
			}
		}
		return false
	}
	return true // a scalar or a list cannot be a map
}

// fieldNames returns the lower-case keys that struct type t's fields take.
func fieldNames(t reflect.Type) map[string]bool {
	names := map[string]bool{}
	eachField(t, func(key string, _ reflect.Type) { names[key] = true })
	return names
}
