package logging

import (
	"encoding"
	"encoding/base64"
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Redacted replaces the value of a secret field in logged bodies.
const Redacted = "[REDACTED]"

// maxDepth bounds the nesting of an encoded body, so that a cyclic value
// cannot recurse forever.
const maxDepth = 32

// builtinRedact are the names redacted in every body, whatever the
// configuration says.
var builtinRedact = []string{
	"password", "passwd", "secret", "token", "access_token", "refresh_token",
	"id_token", "api_key", "authorization", "cookie", "client_secret",
	"private_key", "card_number", "cvv", "cvc", "ssn",
}

// BuiltinRedact returns the field names that are always redacted from
// logged bodies; the configuration's redact list adds to them.
func BuiltinRedact() []string { return slices.Clone(builtinRedact) }

// normalize lower-cases name and drops '_' and '-', so that card_number,
// cardNumber and CardNumber are one name.
func normalize(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '_' || c == '-':
			continue
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String()
}

// sameName reports whether normalize(s) == norm, without allocating.
func sameName(s, norm string) bool {
	j := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_' || c == '-':
			continue
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		if j >= len(norm) || norm[j] != c {
			return false
		}
		j++
	}
	return j == len(norm)
}

// redactor encodes values as JSON, replacing secret fields. It compiles
// one encoder per type, when a command's chain is built; values held in
// interfaces are compiled when first seen.
type redactor struct {
	names []string // normalized names to redact
	cache sync.Map // reflect.Type -> encFunc
}

type encFunc func(b []byte, v reflect.Value, depth int) []byte

func newRedactor(extra []string) *redactor {
	r := &redactor{}
	for _, n := range append(slices.Clone(builtinRedact), extra...) {
		if n = normalize(n); n != "" && !slices.Contains(r.names, n) {
			r.names = append(r.names, n)
		}
	}
	return r
}

func (r *redactor) secretName(name string) bool {
	for _, n := range r.names {
		if sameName(name, n) {
			return true
		}
	}
	return false
}

// encoder returns the encoder of t, compiling it once.
func (r *redactor) encoder(t reflect.Type) encFunc {
	if f, ok := r.cache.Load(t); ok {
		return f.(encFunc)
	}
	f := r.compile(t, map[reflect.Type]*encFunc{})
	actual, _ := r.cache.LoadOrStore(t, f)
	return actual.(encFunc)
}

// encode appends the JSON encoding of v (a pointer to the value, as a Call
// holds it, or the value) to b.
func (r *redactor) encode(b []byte, v any) []byte {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() {
		return append(b, "null"...)
	}
	return r.encoder(rv.Type())(b, rv, 0)
}

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

func (r *redactor) compile(t reflect.Type, busy map[reflect.Type]*encFunc) encFunc {
	if p, ok := busy[t]; ok { // a recursive type: call the encoder being built
		return func(b []byte, v reflect.Value, d int) []byte { return (*p)(b, v, d) }
	}
	f := new(encFunc)
	busy[t] = f
	*f = r.compileType(t, busy)
	return *f
}

func (r *redactor) compileType(t reflect.Type, busy map[reflect.Type]*encFunc) encFunc {
	if t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface &&
		(t.Implements(jsonMarshaler) || t.Implements(textMarshaler) ||
			reflect.PointerTo(t).Implements(jsonMarshaler) || reflect.PointerTo(t).Implements(textMarshaler)) {
		return marshalJSON
	}
	switch t.Kind() {
	case reflect.Bool:
		return func(b []byte, v reflect.Value, _ int) []byte { return strconv.AppendBool(b, v.Bool()) }
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return func(b []byte, v reflect.Value, _ int) []byte { return strconv.AppendInt(b, v.Int(), 10) }
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return func(b []byte, v reflect.Value, _ int) []byte { return strconv.AppendUint(b, v.Uint(), 10) }
	case reflect.Float32, reflect.Float64:
		bits := t.Bits()
		return func(b []byte, v reflect.Value, _ int) []byte {
			f := v.Float()
			if math.IsNaN(f) || math.IsInf(f, 0) { // not JSON numbers
				return appendString(b, strconv.FormatFloat(f, 'g', -1, bits))
			}
			return strconv.AppendFloat(b, f, 'g', -1, bits)
		}
	case reflect.String:
		return func(b []byte, v reflect.Value, _ int) []byte { return appendString(b, v.String()) }
	case reflect.Pointer:
		elem := r.compile(t.Elem(), busy)
		return func(b []byte, v reflect.Value, d int) []byte {
			if v.IsNil() {
				return append(b, "null"...)
			}
			if d >= maxDepth {
				return appendString(b, "[TOO DEEP]")
			}
			return elem(b, v.Elem(), d+1)
		}
	case reflect.Interface:
		return func(b []byte, v reflect.Value, d int) []byte {
			if v.IsNil() {
				return append(b, "null"...)
			}
			if d >= maxDepth {
				return appendString(b, "[TOO DEEP]")
			}
			e := v.Elem()
			return r.encoder(e.Type())(b, e, d+1)
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 && !reflect.PointerTo(t.Elem()).Implements(jsonMarshaler) {
			return func(b []byte, v reflect.Value, _ int) []byte {
				if v.IsNil() {
					return append(b, "null"...)
				}
				b = append(b, '"')
				b = base64.StdEncoding.AppendEncode(b, v.Bytes())
				return append(b, '"')
			}
		}
		elem := r.compile(t.Elem(), busy)
		return func(b []byte, v reflect.Value, d int) []byte {
			if v.IsNil() {
				return append(b, "null"...)
			}
			return appendList(b, v, d, elem)
		}
	case reflect.Array:
		elem := r.compile(t.Elem(), busy)
		return func(b []byte, v reflect.Value, d int) []byte { return appendList(b, v, d, elem) }
	case reflect.Map:
		return r.compileMap(t, busy)
	case reflect.Struct:
		return r.compileStruct(t, busy)
	}
	// Channels, functions, complex numbers: encoding/json refuses them.
	return func(b []byte, _ reflect.Value, _ int) []byte { return append(b, "null"...) }
}

func appendList(b []byte, v reflect.Value, d int, elem encFunc) []byte {
	if d >= maxDepth {
		return appendString(b, "[TOO DEEP]")
	}
	b = append(b, '[')
	for i := range v.Len() {
		if i > 0 {
			b = append(b, ',')
		}
		b = elem(b, v.Index(i), d+1)
	}
	return append(b, ']')
}

// marshalJSON encodes a value that marshals itself. Such a type decides
// what it shows: its fields are not redacted.
func marshalJSON(b []byte, v reflect.Value, _ int) []byte {
	var x any
	if v.CanAddr() {
		x = v.Addr().Interface()
	} else {
		x = v.Interface()
	}
	out, err := json.Marshal(x)
	if err != nil {
		return appendString(b, "[UNENCODABLE]")
	}
	return append(b, out...)
}

func (r *redactor) compileMap(t reflect.Type, busy map[reflect.Type]*encFunc) encFunc {
	k := t.Key()
	stringKeys := k.Kind() == reflect.String && !k.Implements(textMarshaler)
	intKeys := k.Kind() >= reflect.Int && k.Kind() <= reflect.Uintptr && !k.Implements(textMarshaler)
	if !stringKeys && !intKeys {
		return marshalJSON
	}
	elem := r.compile(t.Elem(), busy)
	return func(b []byte, v reflect.Value, d int) []byte {
		if v.IsNil() {
			return append(b, "null"...)
		}
		if d >= maxDepth {
			return appendString(b, "[TOO DEEP]")
		}
		type kv struct {
			key string
			val reflect.Value
		}
		entries := make([]kv, 0, v.Len())
		for it := v.MapRange(); it.Next(); {
			key := it.Key()
			var s string
			switch {
			case stringKeys:
				s = key.String()
			case key.CanInt():
				s = strconv.FormatInt(key.Int(), 10)
			default:
				s = strconv.FormatUint(key.Uint(), 10)
			}
			entries = append(entries, kv{s, it.Value()})
		}
		slices.SortFunc(entries, func(a, b kv) int { return strings.Compare(a.key, b.key) })
		b = append(b, '{')
		for i, e := range entries {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, e.key)
			b = append(b, ':')
			if r.secretName(e.key) {
				b = appendString(b, Redacted)
			} else {
				b = elem(b, e.val, d+1)
			}
		}
		return append(b, '}')
	}
}

// field is one encoded field of a struct.
type field struct {
	name      string
	key       []byte // `"name":`
	index     []int
	depth     int
	secret    bool
	omitEmpty bool
	omitZero  bool
	enc       encFunc
}

// secretTag reports whether a struct field is marked secret for logs: the
// tag wego:"secret" (or audit:"secret", which is secret for logs too).
func secretTag(sf reflect.StructField) bool {
	return hasOption(sf.Tag.Get("wego"), "secret") || hasOption(sf.Tag.Get("audit"), "secret")
}

func hasOption(tag, opt string) bool {
	for tag != "" {
		var o string
		o, tag, _ = strings.Cut(tag, ",")
		if strings.TrimSpace(o) == opt {
			return true
		}
	}
	return false
}

// fields lists the JSON fields of struct type t, following encoding/json's
// rules for names, "-", omitempty, omitzero and embedded structs.
func (r *redactor) fields(t reflect.Type, index []int, depth int, busy map[reflect.Type]*encFunc, visited map[reflect.Type]bool, out []field) []field {
	if visited[t] {
		return out
	}
	visited[t] = true
	defer delete(visited, t)
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		ft := sf.Type
		if sf.Anonymous {
			et := ft
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if !sf.IsExported() && et.Kind() != reflect.Struct {
				continue
			}
			if name == "" && et.Kind() == reflect.Struct {
				out = r.fields(et, append(slices.Clone(index), i), depth+1, busy, visited, out)
				continue
			}
		} else if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		f := field{
			name:      name,
			index:     append(slices.Clone(index), i),
			depth:     depth,
			secret:    secretTag(sf) || r.secretName(name) || r.secretName(sf.Name),
			omitEmpty: hasOption(opts, "omitempty"),
			omitZero:  hasOption(opts, "omitzero"),
		}
		f.key = append(appendString(nil, name), ':')
		if !f.secret {
			f.enc = r.compile(ft, busy)
		}
		out = append(out, f)
	}
	return out
}

func (r *redactor) compileStruct(t reflect.Type, busy map[reflect.Type]*encFunc) encFunc {
	all := r.fields(t, nil, 0, busy, map[reflect.Type]bool{}, nil)
	// Dominance: the shallowest field of a name wins; a tie hides the name,
	// as in encoding/json.
	var fs []field
	for _, f := range all {
		keep := true
		for _, g := range all {
			if g.name == f.name && (g.depth < f.depth || (g.depth == f.depth && !slices.Equal(g.index, f.index))) {
				keep = false
				break
			}
		}
		if keep {
			fs = append(fs, f)
		}
	}
	return func(b []byte, v reflect.Value, d int) []byte {
		if d >= maxDepth {
			return appendString(b, "[TOO DEEP]")
		}
		b = append(b, '{')
		first := true
		for i := range fs {
			f := &fs[i]
			fv, err := v.FieldByIndexErr(f.index)
			if err != nil { // through a nil embedded pointer
				continue
			}
			if (f.omitEmpty && isEmpty(fv)) || (f.omitZero && fv.IsZero()) {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = append(b, f.key...)
			if f.secret {
				b = appendString(b, Redacted)
			} else {
				b = f.enc(b, fv, d+1)
			}
		}
		return append(b, '}')
	}
}

func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD;
// '<', '>' and '&' are kept as they are (these are logs, not HTML).
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
