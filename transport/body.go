package transport

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

// IsJSON reports whether the values of a [HeaderContentType] say JSON:
// exactly one value, application/json with at most a charset parameter
// that says UTF-8.
func IsJSON(v []string) bool {
	if len(v) != 1 {
		return false
	}
	ct := v[0]
	if ct == ContentTypeJSON || strings.EqualFold(ct, "application/json; charset=utf-8") {
		return true
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != ContentTypeJSON {
		return false
	}
	for k, val := range params {
		if k != "charset" || !strings.EqualFold(val, "utf-8") {
			return false
		}
	}
	return true
}

// UnsupportedType returns the [ErrUnsupportedMediaType] of a request whose
// [HeaderContentType] has the values ct. The message quotes the first
// value as sent, cut to 128 bytes and made valid UTF-8 so that it can
// travel in a JSON body.
func UnsupportedType(ct []string) error {
	v := ""
	if len(ct) > 0 {
		v = ct[0]
	}
	if len(v) > 128 {
		v = v[:128]
	}
	return ErrUnsupportedMediaType.New(errs.P("content_type", strings.ToValidUTF8(v, "")))
}

// jsonCodec decodes the requests and encodes the responses of one
// command: strictly ([codec.DecodeStrict]) and in one pass where a
// [codec.Plan] can, through encoding/json otherwise.
type jsonCodec struct {
	req  *codec.JSONType
	resp *codec.Plan // nil when a plan cannot encode the response type
}

func newJSONCodec(req, resp reflect.Type) *jsonCodec {
	c := &jsonCodec{req: codec.TypeOf(req)}
	if resp != nil {
		c.resp = codec.PlanOf(resp)
	}
	return c
}

// scratch is the reusable space of one decoding or encoding; pooled.
type scratch struct {
	sc  codec.Scanner
	out bytes.Buffer
	enc *json.Encoder
}

var scratches = sync.Pool{New: func() any {
	s := new(scratch)
	s.enc = json.NewEncoder(&s.out)
	return s
}}

func putScratch(s *scratch) {
	if !s.sc.Reset() || s.out.Cap() > MaxPooledBuffer {
		return // no request's bytes stay alive in the pool, nor large buffers
	}
	s.out.Reset()
	scratches.Put(s)
}

func (c *jsonCodec) decode(body []byte, v any) *errs.Error {
	s := scratches.Get().(*scratch)
	defer putScratch(s)
	return codec.DecodeStrict(body, v, c.req, &s.sc)
}

// encode appends v's JSON and a newline to dst, as json.Encoder writes it.
func (c *jsonCodec) encode(dst []byte, v any) ([]byte, error) {
	if c.resp != nil {
		if out, ok := c.resp.Encode(dst, v); ok {
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
