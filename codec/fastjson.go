package codec

import (
	"encoding"
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// fastPlan decodes the common request body in one walk: a flat JSON
// object of strings without escapes, numbers and booleans into a struct of
// such fields. It takes only bodies that encoding/json would decode to
// exactly the same value and that the strict scanner would accept (every
// key known and given once, valid UTF-8, nothing after the value); for
// anything else (escapes, null, nested values, unknown or repeated keys,
// numbers a field cannot hold, invalid JSON) it reports false without
// touching the value, and DecodeStrict takes the general path, which
// gives the same result or error as before.
//
// A key matches a field only when it is exactly the field's JSON name, as
// in the general path (where encoding/json alone would ignore case).
//
// A plan exists only for struct types whose JSON form is unambiguous:
// no embedded fields, distinct ASCII names, at most 64 fields and no
// custom unmarshalers on the struct.
type fastPlan struct {
	typ    reflect.Type // the pointer type decoded into
	fields []fastField
	byName map[string]int // JSON name -> index in fields
}

type fastField struct {
	index int // the struct field
	kind  fastKind
	bits  int // of numbers
}

type fastKind uint8

const (
	fastUnsupported fastKind = iota // a known field this path leaves to encoding/json
	fastString
	fastBool
	fastInt
	fastUint
	fastFloat
)

// fastVal is one decoded member, kept until the whole body is accepted.
type fastVal struct {
	field int // index in fastPlan.fields
	start int // string content in the body
	end   int
	n     uint64 // integers and booleans; float bits
}

var (
	jsonNumberType = reflect.TypeFor[json.Number]()
	textUnmarshalT = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// fastPlanOf returns the plan for decoding into a *t, or nil.
func fastPlanOf(t reflect.Type) *fastPlan {
	if t.Kind() != reflect.Struct || t.NumField() > 64 {
		return nil
	}
	pt := reflect.PointerTo(t)
	if pt.Implements(jsonUnmarshalerType) || pt.Implements(textUnmarshalT) {
		return nil
	}
	p := &fastPlan{typ: pt, byName: map[string]int{}}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous {
			return nil
		}
		name, opts, skip := JSONTag(f)
		if skip || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if !plainName(name) {
			return nil
		}
		if _, dup := p.byName[name]; dup {
			return nil // encoding/json decodes neither field
		}
		p.byName[name] = len(p.fields)
		p.fields = append(p.fields, fastField{index: i, kind: fastKindOf(f.Type, opts)})
		if k := p.fields[len(p.fields)-1].kind; k == fastInt || k == fastUint || k == fastFloat {
			p.fields[len(p.fields)-1].bits = f.Type.Bits()
		}
	}
	return p
}

// plainName reports whether a JSON name is one encoding/json uses as
// written and this path can match: ASCII letters, digits, _, - and .
func plainName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func fastKindOf(t reflect.Type, opts string) fastKind {
	if opts != "" && hasOption(opts, "string") {
		return fastUnsupported
	}
	pt := reflect.PointerTo(t)
	if t.Kind() == reflect.Pointer || pt.Implements(jsonUnmarshalerType) || pt.Implements(textUnmarshalT) {
		return fastUnsupported
	}
	switch t.Kind() {
	case reflect.String:
		if t == jsonNumberType {
			return fastUnsupported
		}
		return fastString
	case reflect.Bool:
		return fastBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return fastInt
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return fastUint
	case reflect.Float32, reflect.Float64:
		return fastFloat
	}
	return fastUnsupported
}

func hasOption(opts, name string) bool {
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == name {
			return true
		}
	}
	return false
}

// decode decodes data into v and reports whether it did; when it did not,
// v is untouched. vals is scratch space, returned for reuse.
func (p *fastPlan) decode(data []byte, v any, vals []fastVal) ([]fastVal, bool) {
	vals = vals[:0]
	rv := reflect.ValueOf(v)
	if rv.Type() != p.typ || rv.IsNil() {
		return vals, false
	}
	i := skipWS(data, 0)
	if i >= len(data) || data[i] != '{' {
		return vals, false
	}
	i = skipWS(data, i+1)
	if i >= len(data) {
		return vals, false
	}
	var seen uint64
	if data[i] != '}' {
		for {
			// key
			if data[i] != '"' {
				return vals, false
			}
			ks := i + 1
			ke, ok := plainString(data, ks, true)
			if !ok {
				return vals, false
			}
			fi, ok := p.lookup(data[ks:ke])
			if !ok || seen&(1<<uint(fi)) != 0 {
				return vals, false // unknown, non-ASCII or repeated: the general path says which
			}
			seen |= 1 << uint(fi)
			i = skipWS(data, ke+1)
			if i >= len(data) || data[i] != ':' {
				return vals, false
			}
			i = skipWS(data, i+1)
			if i >= len(data) {
				return vals, false
			}
			val := fastVal{field: fi}
			f := &p.fields[fi]
			switch f.kind {
			case fastString:
				if data[i] != '"' {
					return vals, false
				}
				e, ok := plainString(data, i+1, false)
				if !ok {
					return vals, false
				}
				val.start, val.end = i+1, e
				i = e + 1
			case fastBool:
				switch {
				case hasLiteral(data, i, "true"):
					val.n = 1
					i += 4
				case hasLiteral(data, i, "false"):
					i += 5
				default:
					return vals, false
				}
			case fastInt, fastUint, fastFloat:
				e, integer := numberEnd(data, i)
				if e < 0 {
					return vals, false
				}
				num := data[i:e]
				switch f.kind {
				case fastInt:
					if !integer {
						return vals, false
					}
					n, err := strconv.ParseInt(string(num), 10, 64)
					if err != nil || overflowInt(n, f.bits) {
						return vals, false
					}
					val.n = uint64(n)
				case fastUint:
					if !integer {
						return vals, false
					}
					n, err := strconv.ParseUint(string(num), 10, 64)
					if err != nil || overflowUint(n, f.bits) {
						return vals, false
					}
					val.n = n
				default:
					x, err := strconv.ParseFloat(string(num), f.bits)
					if err != nil {
						return vals, false
					}
					val.n = math.Float64bits(x)
				}
				i = e
			default:
				return vals, false
			}
			vals = append(vals, val)
			i = skipWS(data, i)
			if i >= len(data) {
				return vals, false
			}
			if data[i] == '}' {
				break
			}
			if data[i] != ',' {
				return vals, false
			}
			i = skipWS(data, i+1)
			if i >= len(data) {
				return vals, false
			}
		}
	}
	// data[i] == '}'
	if skipWS(data, i+1) != len(data) {
		return vals, false
	}
	sv := rv.Elem()
	for _, val := range vals {
		f := &p.fields[val.field]
		fv := sv.Field(f.index)
		switch f.kind {
		case fastString:
			fv.SetString(string(data[val.start:val.end]))
		case fastBool:
			fv.SetBool(val.n != 0)
		case fastInt:
			fv.SetInt(int64(val.n))
		case fastUint:
			fv.SetUint(val.n)
		case fastFloat:
			fv.SetFloat(math.Float64frombits(val.n))
		}
	}
	return vals, true
}

// lookup finds the field whose JSON name is exactly key; any other key is
// left to the general path, which says why it is refused.
func (p *fastPlan) lookup(key []byte) (int, bool) {
	fi, ok := p.byName[string(key)] // the conversion does not allocate
	return fi, ok
}

func skipWS(data []byte, i int) int {
	for i < len(data) && isSpace(data[i]) {
		i++
	}
	return i
}

// plainString returns the offset of the closing quote of the string whose
// content starts at i, and false when the string has escapes, control
// characters or invalid UTF-8, or (for keys) any non-ASCII byte, or is
// unterminated.
func plainString(data []byte, i int, asciiOnly bool) (int, bool) {
	start := i
	ascii := true
	for ; i < len(data); i++ {
		c := data[i]
		switch {
		case c == '"':
			if !ascii && !utf8.Valid(data[start:i]) {
				return 0, false
			}
			return i, true
		case c == '\\' || c < 0x20:
			return 0, false
		case c >= utf8.RuneSelf:
			if asciiOnly {
				return 0, false
			}
			ascii = false
		}
	}
	return 0, false
}

func hasLiteral(data []byte, i int, lit string) bool {
	return len(data)-i >= len(lit) && string(data[i:i+len(lit)]) == lit
}

// numberEnd returns the end of the JSON number at i (-1 when there is
// none) and whether it is an integer (no fraction, no exponent).
func numberEnd(data []byte, i int) (int, bool) {
	n := len(data)
	if i < n && data[i] == '-' {
		i++
	}
	if i >= n {
		return -1, false
	}
	switch c := data[i]; {
	case c == '0':
		i++
	case '1' <= c && c <= '9':
		for i < n && '0' <= data[i] && data[i] <= '9' {
			i++
		}
	default:
		return -1, false
	}
	integer := true
	if i < n && data[i] == '.' {
		integer = false
		i++
		d := i
		for i < n && '0' <= data[i] && data[i] <= '9' {
			i++
		}
		if i == d {
			return -1, false
		}
	}
	if i < n && (data[i] == 'e' || data[i] == 'E') {
		integer = false
		i++
		if i < n && (data[i] == '+' || data[i] == '-') {
			i++
		}
		d := i
		for i < n && '0' <= data[i] && data[i] <= '9' {
			i++
		}
		if i == d {
			return -1, false
		}
	}
	return i, integer
}

func overflowInt(n int64, bits int) bool {
	if bits >= 64 {
		return false
	}
	trunc := (n << (64 - bits)) >> (64 - bits)
	return n != trunc
}

func overflowUint(n uint64, bits int) bool {
	if bits >= 64 {
		return false
	}
	trunc := (n << (64 - bits)) >> (64 - bits)
	return n != trunc
}

// A Plan encodes values of one struct type in one pass, exactly as
// json.Encoder does, newline included: a struct of strings, integers and
// booleans with plain names and at most the omitempty option. A string
// that is not plain printable ASCII without characters that need escaping
// makes its methods report false, and the caller uses json.Encoder
// instead. A Plan is made once per type ([PlanOf]) and is safe for
// concurrent use; encoding with it does not allocate beyond dst.
type Plan struct {
	typ    reflect.Type // the pointer type encoded
	fields []encField
}

type encField struct {
	index     int
	kind      fastKind
	omitEmpty bool
	key       string // `"name":`
}

var (
	jsonMarshalerType = reflect.TypeFor[json.Marshaler]()
	textMarshalerT    = reflect.TypeFor[encoding.TextMarshaler]()
)

func marshals(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	return t.Implements(jsonMarshalerType) || pt.Implements(jsonMarshalerType) ||
		t.Implements(textMarshalerT) || pt.Implements(textMarshalerT)
}

// PlanOf returns the plan for encoding a *t, or nil when t is not a
// struct type that a Plan encodes.
func PlanOf(t reflect.Type) *Plan {
	if t.Kind() != reflect.Struct || marshals(t) {
		return nil
	}
	p := &Plan{typ: reflect.PointerTo(t)}
	names := map[string]bool{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous {
			return nil
		}
		name, opts, skip := JSONTag(f)
		if skip || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if !plainName(name) || names[name] {
			return nil
		}
		names[name] = true
		omit := false
		for opts != "" {
			var o string
			o, opts, _ = strings.Cut(opts, ",")
			if o != "omitempty" {
				return nil
			}
			omit = true
		}
		if marshals(f.Type) {
			return nil
		}
		var k fastKind
		switch f.Type.Kind() {
		case reflect.String:
			if f.Type == jsonNumberType {
				return nil
			}
			k = fastString
		case reflect.Bool:
			k = fastBool
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			k = fastInt
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			k = fastUint
		default:
			return nil
		}
		p.fields = append(p.fields, encField{index: i, kind: k, omitEmpty: omit, key: `"` + name + `":`})
	}
	return p
}

// Encode appends the encoding of v (a non-nil pointer to the plan's
// struct type) and a newline to dst, as json.Encoder writes it with its
// default HTML escaping, for responses; false means that v needs
// json.Encoder (dst is then to be discarded).
func (p *Plan) Encode(dst []byte, v any) ([]byte, bool) {
	rv := reflect.ValueOf(v)
	if rv.Type() != p.typ || rv.IsNil() {
		return dst, false
	}
	return p.appendObject(dst, rv.Elem(), true)
}

// EncodeUnescaped is [Plan.Encode] as json.Encoder with
// SetEscapeHTML(false) writes it, for request bodies: a body is data, not
// markup, and '<', '>' and '&' stay as they are.
func (p *Plan) EncodeUnescaped(dst []byte, v any) ([]byte, bool) {
	rv := reflect.ValueOf(v)
	if rv.Type() != p.typ || rv.IsNil() {
		return dst, false
	}
	return p.appendObject(dst, rv.Elem(), false)
}

// Bound returns a bound of the size of v's encoding when every string in
// it encodes as itself (and more otherwise, when encoding fails anyway):
// braces, keys, commas, values, the newline. It is false when v is not a
// non-nil pointer to the plan's struct type.
func (p *Plan) Bound(v any) (int, bool) {
	rv := reflect.ValueOf(v)
	if rv.Type() != p.typ || rv.IsNil() {
		return 0, false
	}
	sv := rv.Elem()
	n := 3 // {}\n
	for i := range p.fields {
		f := &p.fields[i]
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

// appendObject appends the JSON object of the struct sv and a newline to
// dst, as json.Encoder writes it (with SetEscapeHTML(escapeHTML)), when
// every string in it is printable ASCII that encodes as itself; false
// otherwise (dst is then to be discarded).
func (p *Plan) appendObject(dst []byte, sv reflect.Value, escapeHTML bool) ([]byte, bool) {
	dst = append(dst, '{')
	first := true
	for i := range p.fields {
		f := &p.fields[i]
		fv := sv.Field(f.index)
		if f.omitEmpty && fv.IsZero() {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, f.key...)
		switch f.kind {
		case fastString:
			s := fv.String()
			for j := 0; j < len(s); j++ {
				c := s[j]
				if c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || escapeHTML && (c == '<' || c == '>' || c == '&') {
					return dst, false
				}
			}
			dst = append(dst, '"')
			dst = append(dst, s...)
			dst = append(dst, '"')
		case fastBool:
			dst = strconv.AppendBool(dst, fv.Bool())
		case fastInt:
			dst = strconv.AppendInt(dst, fv.Int(), 10)
		case fastUint:
			dst = strconv.AppendUint(dst, fv.Uint(), 10)
		}
	}
	return append(dst, '}', '\n'), true
}
