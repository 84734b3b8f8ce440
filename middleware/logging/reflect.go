package logging

import "reflect"

// reflectValue returns the value v points to (a Call holds pointers to the
// request and the response), or v itself when it is not a pointer, or the
// zero Value for nil.
func reflectValue(v any) reflect.Value {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return reflect.Value{}
		}
		return rv.Elem()
	}
	return rv
}
