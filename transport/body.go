package transport

import (
	"bytes"
	"encoding/json"
	"mime"
	"reflect"
	"strings"

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

// jsonCodec decodes the requests and encodes the responses of one command.
type jsonCodec struct {
	req, resp reflect.Type
}

func newJSONCodec(req, resp reflect.Type) *jsonCodec {
	return &jsonCodec{req: req, resp: resp}
}

func (c *jsonCodec) decode(body []byte, v any) *errs.Error {
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return errs.InvalidArgument(errs.FieldViolation{Field: "body", Reason: "is not valid JSON"}).WithCause(err)
	}
	return nil
}

func (c *jsonCodec) encode(dst []byte, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return dst, err
	}
	return append(append(dst, b...), '\n'), nil
}
