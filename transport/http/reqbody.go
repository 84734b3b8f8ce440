package httptransport

import (
	"bytes"
	"encoding/json"
	"reflect"
	"sync"

	"github.com/wegomesh/wego/transport"
)

// A remote route encodes each request body once, into a buffer that
// becomes the body: for the common request (a struct of strings, numbers
// and booleans that encPlan encodes) a buffer of the exact size, computed
// first, so that a 1 MiB request costs 1 MiB, not the doublings of a
// growing buffer and a copy; otherwise encoding/json into a pooled buffer
// and one copy of the result. Neither escapes HTML: a body is data, not
// markup, and encoding/json's default would turn each '<', '>' or '&'
// into six bytes, so that a request the caller's server accepted could be
// too large for the next one.

// requestEncoder encodes request values with encoding/json, HTML
// unescaped; pooled.
type requestEncoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

var requestEncoders = sync.Pool{New: func() any {
	e := new(requestEncoder)
	e.enc = json.NewEncoder(&e.buf)
	e.enc.SetEscapeHTML(false)
	return e
}}

// encodeRequest returns the JSON body of a request value v (a pointer to
// the request), followed by a newline as json.Encoder writes it; plan,
// when not nil, is the one-pass encoder of v's type.
func encodeRequest(v any, plan *encPlan) ([]byte, error) {
	if plan != nil {
		if n, ok := planBound(plan, v); ok {
			if out, ok := encodePlain(plan, make([]byte, 0, n), v); ok {
				return out, nil
			}
		}
	}
	e := requestEncoders.Get().(*requestEncoder)
	e.buf.Reset()
	if err := e.enc.Encode(v); err != nil {
		requestEncoders.Put(e)
		return nil, err
	}
	if e.buf.Cap() > transport.MaxPooledBuffer {
		return e.buf.Bytes(), nil // the buffer becomes the body; a fresh one goes back
	}
	out := bytes.Clone(e.buf.Bytes())
	requestEncoders.Put(e)
	return out, nil
}

// planBound returns the size of plan's encoding of v when every string in
// it encodes as itself (and more otherwise, when encode fails anyway):
// braces, keys, commas, values, the newline.
func planBound(plan *encPlan, v any) (int, bool) {
	rv := reflect.ValueOf(v)
	if rv.Type() != plan.typ || rv.IsNil() {
		return 0, false
	}
	sv := rv.Elem()
	n := 3 // {}\n
	for i := range plan.fields {
		f := &plan.fields[i]
		n += len(f.key) + 1 // the key and a comma
		switch f.kind {
		case fastString:
			n += sv.Field(f.index).Len() + 2
		case fastBool:
			n += len("false")
		default:
			n += len("-9223372036854775808")
		}
	}
	return n, true
}

// encodePlain appends v's encoding by plan to dst, as json.Encoder with
// SetEscapeHTML(false) writes it, when every string in v is printable
// ASCII without '"' or '\\' (so encodes as itself); false otherwise.
func encodePlain(plan *encPlan, dst []byte, v any) ([]byte, bool) {
	return plan.appendObject(dst, reflect.ValueOf(v).Elem(), false)
}
