package events

import (
	"bytes"
	"encoding/json"
	"mime"
	"reflect"
	"strings"
	"sync"

	"github.com/wegomesh/wego/codec"
	errs "github.com/wegomesh/wego/err"
)

// jsonCodec encodes and decodes the payloads of one type: in one pass
// where a [codec.Plan] can, through encoding/json otherwise, and strictly
// ([codec.DecodeStrict]), as the transports do with bodies.
type jsonCodec struct {
	typ  *codec.JSONType
	plan *codec.Plan // nil when a plan cannot encode the type
}

func newJSONCodec(t reflect.Type) *jsonCodec {
	return &jsonCodec{typ: codec.TypeOf(t), plan: codec.PlanOf(t)}
}

// scratch is the reusable space of one encoding or decoding; pooled.
type scratch struct {
	sc  codec.Scanner
	out bytes.Buffer
	enc *json.Encoder
}

var scratches = sync.Pool{New: func() any {
	s := new(scratch)
	s.enc = json.NewEncoder(&s.out)
	s.enc.SetEscapeHTML(false)
	return s
}}

// maxPooledScratch is the largest buffer a pooled scratch keeps.
const maxPooledScratch = 64 << 10

func putScratch(s *scratch) {
	if !s.sc.Reset() || s.out.Cap() > maxPooledScratch {
		return
	}
	s.out.Reset()
	scratches.Put(s)
}

// encode appends the JSON of v, a pointer to a value of the codec's type,
// and a newline to dst.
func (c *jsonCodec) encode(dst []byte, v any) ([]byte, error) {
	if c.plan != nil {
		if out, ok := c.plan.EncodeUnescaped(dst, v); ok {
			return out, nil
		}
	}
	s := scratches.Get().(*scratch)
	defer putScratch(s)
	if err := s.enc.Encode(v); err != nil {
		return dst, err
	}
	return append(dst, s.out.Bytes()...), nil
}

// decode decodes data into v, a pointer to a value of the codec's type,
// strictly.
func (c *jsonCodec) decode(data []byte, v any) *errs.Error {
	s := scratches.Get().(*scratch)
	defer putScratch(s)
	return codec.DecodeStrict(data, v, c.typ, &s.sc)
}

// payloads pools the buffers that events are encoded into while they are
// published.
var payloads = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

func putPayload(b *[]byte) {
	if cap(*b) > maxPooledScratch {
		return
	}
	*b = (*b)[:0]
	payloads.Put(b)
}

// isJSON reports whether ct, a message's content type, says JSON: empty
// (a program that sent no headers), application/json, or
// application/json with a charset that says UTF-8.
func isJSON(ct string) bool {
	if ct == "" || ct == ContentTypeJSON {
		return true
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != ContentTypeJSON {
		return false
	}
	for k, v := range params {
		if k != "charset" || !strings.EqualFold(v, "utf-8") {
			return false
		}
	}
	return true
}
