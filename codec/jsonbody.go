package codec

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	errs "github.com/wegomesh/wego/err"
)

// DecodeStrict decodes the JSON value in body into v (a pointer to a
// value of the type that jt describes) and rejects what encoding/json lets
// pass: keys that are not exactly a field's JSON name (encoding/json
// matches them ignoring case, even Unicode case: "SKU", "Sku" and "sKu"
// with a Kelvin sign would all fill "sku"), keys given twice in one
// object, strings that are not valid UTF-8 and data after the value.
// Every failure is an invalid-argument error with one field violation of
// our own (the field's path, or "body" for the value as a whole, and what
// was expected, never encoding/json's text or a Go type's name), whichever
// path decodes the body: the fast plan, or the scanner then encoding/json.
// Its message key starts with "codec." (see package doc).
//
// sc is scratch space, reused from call to call (a transport pools it);
// a DecodeStrict that succeeds on the fast path does not allocate.
func DecodeStrict(body []byte, v any, jt *JSONType, sc *Scanner) *errs.Error {
	if jt.fast != nil {
		var ok bool
		if sc.vals, ok = jt.fast.decode(body, v, sc.vals); ok {
			return nil
		}
	}
	if !json.Valid(body) {
		return syntaxError(body)
	}
	// The scanner first, so that encoding/json only ever sees keys that
	// are exactly the fields' names.
	if e := sc.check(body, jt); e != nil {
		return e
	}
	if err := json.Unmarshal(body, v); err != nil {
		return jsonError(err)
	}
	return nil
}

// Decode decodes the JSON value in body into v as json.Unmarshal(body, v)
// does, to the same value or the same error: leniently, unlike
// [DecodeStrict], for what a peer answers (a newer peer may add fields).
// The common body, a flat object whose keys are exactly the fields' JSON
// names, is decoded in one walk with jt's plan, without allocating beyond
// the strings it sets; any other goes to encoding/json. jt is v's type's
// ([TypeOf]).
func Decode(body []byte, v any, jt *JSONType) error {
	if jt != nil && jt.fast != nil {
		var vals [8]fastVal // scratch that stays on the stack
		if _, ok := jt.fast.decode(body, v, vals[:0]); ok {
			return nil
		}
	}
	return json.Unmarshal(body, v)
}

// syntaxError returns the error of a body that is not valid JSON: where
// it stops being JSON, or that data follows the value.
func syntaxError(body []byte) *errs.Error {
	var probe struct{}
	err := json.Unmarshal(body, &probe) // checks the syntax before it decodes
	var syn *json.SyntaxError
	if !errors.As(err, &syn) {
		return reasonNotJSON.Invalid("body", "offset", strconv.Itoa(len(body))).WithCause(err)
	}
	if strings.Contains(syn.Error(), "after top-level value") {
		return reasonDataAfterJSON.Invalid("body").WithCause(err)
	}
	return reasonNotJSON.Invalid("body", "offset", strconv.FormatInt(syn.Offset, 10)).WithCause(err)
}

// jsonError turns an error of encoding/json, for a body that is valid
// JSON, into a client error that names the field and the JSON type
// expected. The text of encoding/json's errors and of errors from a
// field's own UnmarshalJSON or UnmarshalText is not shown (it is kept as
// the cause), unless it is an *errs.Error.
func jsonError(err error) *errs.Error {
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		field := typ.Field
		if field == "" {
			field = "body"
		}
		return jsonReason(typ.Type).Invalid(strings.ToValidUTF8(field, "\uFFFD")).WithCause(err)
	}
	if e, ok := errs.As(err); ok {
		return e
	}
	return reasonValid.Invalid("body").WithCause(err)
}

// jsonReason names the JSON form of a Go type for a client, never the Go
// type itself.
func jsonReason(t reflect.Type) reason {
	if t == nil {
		return reasonValid
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Bool:
		return reasonBoolean
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return reasonInteger
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return reasonUnsigned
	case reflect.Float32, reflect.Float64:
		return reasonNumber
	case reflect.String:
		return reasonString
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return reasonBase64
		}
		return reasonArray
	case reflect.Map, reflect.Struct:
		return reasonObject
	}
	return reasonValid
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// A Scanner is the scratch space of [DecodeStrict]. It walks a
// syntactically valid JSON value to find keys that name no field exactly,
// keys given twice in one object and strings that are not valid UTF-8,
// which encoding/json accepts silently (it matches keys ignoring case, the
// last key wins, bad bytes become U+FFFD). It keeps offsets, not copies,
// so a scan does not allocate once its buffers have grown. The zero value
// is ready to use; a Scanner must not be used by two calls at once, and is
// meant to be reused (a transport keeps one in each pooled request
// buffer).
type Scanner struct {
	data []byte
	pos  int
	keys []span    // the keys of every open object, innermost last
	path []elem    // where the scan is, for error messages
	vals []fastVal // scratch space of fastPlan.decode
}

type span struct{ start, end int } // a string's content, without quotes

type elem struct {
	key   span
	index int // -1 for object keys
}

// maxLinearKeys is the number of keys in one object above which
// duplicates are found with a map instead of by comparing with every
// earlier key.
const maxLinearKeys = 32

func (s *Scanner) check(data []byte, jt *JSONType) *errs.Error {
	s.data, s.pos, s.keys, s.path = data, 0, s.keys[:0], s.path[:0]
	err := s.value(jt)
	s.data = nil
	return err
}

func (s *Scanner) ws() {
	for s.pos < len(s.data) && isSpace(s.data[s.pos]) {
		s.pos++
	}
}

func (s *Scanner) value(jt *JSONType) *errs.Error {
	s.ws()
	if s.pos >= len(s.data) {
		return nil
	}
	switch s.data[s.pos] {
	case '{':
		return s.object(jt)
	case '[':
		return s.array(jt)
	case '"':
		sp, _ := s.str()
		if !utf8.Valid(s.data[sp.start:sp.end]) {
			return s.fail("", reasonInvalidUTF8)
		}
		return nil
	}
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ',', ']', '}', ' ', '\t', '\n', '\r':
			return nil
		}
		s.pos++
	}
	return nil
}

func (s *Scanner) object(jt *JSONType) *errs.Error {
	s.pos++ // '{'
	first := len(s.keys)
	var seen map[string]struct{}
	defer func() { s.keys = s.keys[:first] }()
	for {
		s.ws()
		if s.pos >= len(s.data) {
			return nil
		}
		if s.data[s.pos] == '}' {
			s.pos++
			return nil
		}
		if s.data[s.pos] == ',' {
			s.pos++
			continue
		}
		k, esc := s.str()
		if !utf8.Valid(s.data[k.start:k.end]) {
			return s.fail("", reasonKeyInvalidUTF8)
		}
		n := len(s.keys) - first
		switch {
		case n < maxLinearKeys:
			for _, o := range s.keys[first:] {
				if s.sameKey(o, k, esc) {
					return s.fail(s.keyText(k), reasonGivenTwice)
				}
			}
		default:
			if seen == nil {
				seen = make(map[string]struct{}, 2*n)
				for _, o := range s.keys[first:] {
					seen[s.keyText(o)] = struct{}{}
				}
			}
			name := s.keyText(k)
			if _, dup := seen[name]; dup {
				return s.fail(name, reasonGivenTwice)
			}
			seen[name] = struct{}{}
		}
		child := anyJSON
		switch jt.kind {
		case jsonStruct:
			raw := s.data[k.start:k.end]
			var ok bool
			if esc {
				child, ok = jt.field([]byte(s.keyText(k)))
			} else {
				child, ok = jt.field(raw)
			}
			if !ok {
				return s.fail(s.keyText(k), reasonUnknownField)
			}
		case jsonMap:
			child = jt.elem
		}
		s.keys = append(s.keys, k)
		s.ws()
		if s.pos < len(s.data) && s.data[s.pos] == ':' {
			s.pos++
		}
		s.path = append(s.path, elem{key: k, index: -1})
		err := s.value(child)
		s.path = s.path[:len(s.path)-1]
		if err != nil {
			return err
		}
	}
}

func (s *Scanner) array(jt *JSONType) *errs.Error {
	s.pos++ // '['
	child := anyJSON
	if jt.kind == jsonArray {
		child = jt.elem
	}
	for i := 0; ; i++ {
		s.ws()
		if s.pos >= len(s.data) {
			return nil
		}
		if s.data[s.pos] == ']' {
			s.pos++
			return nil
		}
		if s.data[s.pos] == ',' {
			s.pos++
			i--
			continue
		}
		s.path = append(s.path, elem{index: i})
		err := s.value(child)
		s.path = s.path[:len(s.path)-1]
		if err != nil {
			return err
		}
	}
}

// str reads a string at s.pos and returns its content and whether it has
// escapes.
func (s *Scanner) str() (sp span, escaped bool) {
	s.pos++ // '"'
	sp.start = s.pos
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case '\\':
			escaped = true
			s.pos += 2
			continue
		case '"':
			sp.end = s.pos
			s.pos++
			return sp, escaped
		}
		s.pos++
	}
	sp.end = len(s.data)
	return sp, escaped
}

// sameKey reports whether the key o equals k, escapes decoded: the
// same key for encoding/json, whose last value would win.
func (s *Scanner) sameKey(o, k span, kEscaped bool) bool {
	a, b := s.data[o.start:o.end], s.data[k.start:k.end]
	if !kEscaped && bytes.IndexByte(a, '\\') < 0 {
		return bytes.Equal(a, b)
	}
	return s.keyText(o) == s.keyText(k)
}

// keyText returns a key without its escapes.
func (s *Scanner) keyText(k span) string {
	raw := s.data[k.start:k.end]
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw)
	}
	var out string
	if err := json.Unmarshal(s.data[k.start-1:k.end+1], &out); err != nil {
		return string(raw)
	}
	return out
}

// fail returns the error for the current path, with last appended.
func (s *Scanner) fail(last string, r reason) *errs.Error {
	var b strings.Builder
	for _, e := range s.path {
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		if e.index >= 0 {
			b.WriteString(strconv.Itoa(e.index))
		} else {
			b.WriteString(strings.ToValidUTF8(s.keyText(e.key), "\uFFFD"))
		}
	}
	if last != "" {
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strings.ToValidUTF8(last, "\uFFFD"))
	}
	if b.Len() == 0 {
		b.WriteString("body")
	}
	return r.Invalid(b.String())
}

// maxKeptElems bounds the elements of each buffer a Scanner keeps across
// [Scanner.Reset]: a scan of a large document grows them, and a pool
// should not keep that memory.
const maxKeptElems = 1024

// Reset drops what the last scan left in s — the document it scanned, so
// that a pooled Scanner keeps no request's bytes alive — and reports
// whether s is worth keeping: false when a large document grew its
// buffers, which the caller should then leave to the garbage collector.
func (s *Scanner) Reset() bool {
	s.data, s.pos = nil, 0
	s.keys, s.path, s.vals = s.keys[:0], s.path[:0], s.vals[:0]
	return cap(s.keys) <= maxKeptElems && cap(s.path) <= maxKeptElems && cap(s.vals) <= maxKeptElems
}
