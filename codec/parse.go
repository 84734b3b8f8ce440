package codec

import (
	"bytes"
	"encoding/json"
	"reflect"
)

// Unmarshal decodes the JSON value in data into v, a non-nil pointer, by
// the rules of [DecodeStrict]; a failure is an *errs.Error as
// DecodeStrict's. It finds v's [JSONType] by reflection on every call, so
// it is for tests and tools; a transport calls DecodeStrict with a
// JSONType made once.
func Unmarshal(data []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return &json.InvalidUnmarshalError{Type: reflect.TypeOf(v)}
	}
	var sc Scanner
	if e := DecodeStrict(data, v, TypeOf(rv.Type().Elem()), &sc); e != nil {
		return e
	}
	return nil
}

// Parse decodes a JSON value into generic values — map[string]any,
// []any, string, bool, nil, and json.Number for numbers, so that they
// compare exactly — by the rules of [DecodeStrict]: data that is not one
// valid JSON value, a key given twice in one object and a string that is
// not valid UTF-8 are errors (an *errs.Error as DecodeStrict's).
func Parse(data []byte) (any, error) {
	if !json.Valid(data) {
		return nil, syntaxError(data)
	}
	var sc Scanner
	if e := sc.check(data, anyJSON); e != nil {
		return nil, e
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, jsonError(err)
	}
	return v, nil
}
