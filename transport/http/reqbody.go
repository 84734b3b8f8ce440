package httptransport

import (
	"bytes"
	"encoding/json"
	"sync"

	"github.com/wegomesh/wego/codec"
	"github.com/wegomesh/wego/transport"
)

// A remote route encodes each request body once, into a buffer that
// becomes the body: for the common request (a struct of strings, numbers
// and booleans that a codec.Plan encodes) a buffer of the exact size,
// computed first, so that a 1 MiB request costs 1 MiB, not the doublings
// of a growing buffer and a copy; otherwise encoding/json into a pooled
// buffer and one copy of the result. Neither escapes HTML: a body is data, not
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
func encodeRequest(v any, plan *codec.Plan) ([]byte, error) {
	if plan != nil {
		if n, ok := plan.Bound(v); ok {
			if out, ok := plan.EncodeUnescaped(make([]byte, 0, n), v); ok {
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
