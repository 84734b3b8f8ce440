package httptransport

import (
	"encoding"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/wegomesh/wego/codec"
)

// source says where a request field's value comes from.
type source uint8

const (
	inPath source = iota + 1
	inQuery
	inHeader
)

func (s source) String() string {
	switch s {
	case inPath:
		return "path"
	case inQuery:
		return "query"
	}
	return "header"
}

// param is a request field bound to a path wildcard, a query parameter or
// a header. Params are found by reflection once per command; per request
// only their values are parsed and set.
type param struct {
	in    source
	name  string // the wildcard, query parameter or header (canonical) name
	field string // the Go field name, for errors at start-up
	index []int
	typ   reflect.Type // the field's type
	multi bool         // a slice: several values
	conv  *converter   // of the element type for slices
}

// converter parses and formats one scalar type.
type converter struct {
	typ    reflect.Type
	ptr    bool   // the field is a pointer to typ
	reason reason // of a value that does not parse
	list   reason // of a list with a value that does not parse
	parse  func(dst reflect.Value, s string) error
	format func(v reflect.Value) string
}

var (
	durationType        = reflect.TypeFor[time.Duration]()
	timeType            = reflect.TypeFor[time.Time]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	textMarshalerType   = reflect.TypeFor[encoding.TextMarshaler]()
)

// converterFor returns the converter for fields of type t: strings,
// booleans, integers, unsigned integers, floats, time.Duration, types that
// implement encoding.TextUnmarshaler (such as time.Time), and pointers to
// them.
func converterFor(t reflect.Type) (*converter, bool) {
	ptr := false
	if t.Kind() == reflect.Pointer {
		ptr, t = true, t.Elem()
	}
	c := &converter{typ: t, ptr: ptr}
	switch {
	case t == durationType:
		c.reason, c.list = reasonDuration, reasonListDuration
		c.parse = func(dst reflect.Value, s string) error {
			d, err := time.ParseDuration(s)
			if err != nil {
				return err
			}
			dst.SetInt(int64(d))
			return nil
		}
		c.format = func(v reflect.Value) string { return time.Duration(v.Int()).String() }
		return c, true
	case reflect.PointerTo(t).Implements(textUnmarshalerType) && t.Implements(textMarshalerType):
		// Never the Go type's name: a client does not know it.
		c.reason, c.list = reasonValid, reasonListValid
		if t == timeType {
			c.reason, c.list = reasonTime, reasonListTime
		}
		c.parse = func(dst reflect.Value, s string) error {
			return dst.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s))
		}
		c.format = func(v reflect.Value) string {
			b, err := v.Interface().(encoding.TextMarshaler).MarshalText()
			if err != nil {
				return ""
			}
			return string(b)
		}
		return c, true
	}
	switch t.Kind() {
	case reflect.String:
		c.reason, c.list = reasonString, reasonListValid // never fails
		c.parse = func(dst reflect.Value, s string) error { dst.SetString(s); return nil }
		c.format = func(v reflect.Value) string { return v.String() }
	case reflect.Bool:
		c.reason, c.list = reasonBoolean, reasonListBoolean
		c.parse = func(dst reflect.Value, s string) error {
			b, err := strconv.ParseBool(s)
			if err != nil {
				return err
			}
			dst.SetBool(b)
			return nil
		}
		c.format = func(v reflect.Value) string { return strconv.FormatBool(v.Bool()) }
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		bits := t.Bits()
		c.reason, c.list = reasonInteger, reasonListInteger
		c.parse = func(dst reflect.Value, s string) error {
			n, err := strconv.ParseInt(s, 10, bits)
			if err != nil {
				return err
			}
			dst.SetInt(n)
			return nil
		}
		c.format = func(v reflect.Value) string { return strconv.FormatInt(v.Int(), 10) }
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		bits := t.Bits()
		c.reason, c.list = reasonUnsigned, reasonListUnsigned
		c.parse = func(dst reflect.Value, s string) error {
			n, err := strconv.ParseUint(s, 10, bits)
			if err != nil {
				return err
			}
			dst.SetUint(n)
			return nil
		}
		c.format = func(v reflect.Value) string { return strconv.FormatUint(v.Uint(), 10) }
	case reflect.Float32, reflect.Float64:
		bits := t.Bits()
		c.reason, c.list = reasonNumber, reasonListNumber
		c.parse = func(dst reflect.Value, s string) error {
			f, err := strconv.ParseFloat(s, bits)
			if err != nil {
				return err
			}
			dst.SetFloat(f)
			return nil
		}
		c.format = func(v reflect.Value) string { return strconv.FormatFloat(v.Float(), 'g', -1, bits) }
	default:
		return nil, false
	}
	return c, true
}

// set parses s into the field v (of the converter's field type).
func (c *converter) set(v reflect.Value, s string) error {
	if c.ptr {
		p := reflect.New(c.typ)
		if err := c.parse(p.Elem(), s); err != nil {
			return err
		}
		v.Set(p)
		return nil
	}
	return c.parse(v, s)
}

// get formats the field v; ok is false for a nil pointer or, unless it is
// a pointer, a zero value, which are not sent.
func (c *converter) get(v reflect.Value) (s string, ok bool) {
	if c.ptr {
		if v.IsNil() {
			return "", false
		}
		return c.format(v.Elem()), true
	}
	if v.IsZero() {
		return "", false
	}
	return c.format(v), true
}

// shape is what a transport needs to know about a request type: its
// bound parameters and whether anything is left for the JSON body.
type shape struct {
	params []param
	// body lists the exported fields that JSON encodes and that are not
	// bound to the path, the query or a header. A non-struct request is
	// all body.
	body     []string
	isStruct bool
}

// shapeOf inspects a request type once. It fails, naming the field, when
// a field has two of the tags path, query and header, an empty name, or a
// type that cannot be bound (slices only for query and header).
func shapeOf(t reflect.Type) (*shape, error) {
	s := &shape{}
	if t.Kind() != reflect.Struct {
		s.body = []string{"(the whole value)"}
		return s, nil
	}
	s.isStruct = true
	if err := s.walk(t, nil, map[reflect.Type]bool{}); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *shape) walk(t reflect.Type, index []int, seen map[reflect.Type]bool) error {
	if seen[t] {
		return nil
	}
	seen[t] = true
	defer delete(seen, t)
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		idx := append(append([]int(nil), index...), i)
		jsonName, _, skip := codec.JSONTag(f)
		var found []param
		for _, in := range []source{inPath, inQuery, inHeader} {
			name, ok := f.Tag.Lookup(in.String())
			if !ok {
				continue
			}
			if name == "" {
				return fmt.Errorf("field %s: empty %s tag", f.Name, in)
			}
			if in == inHeader {
				name = http.CanonicalHeaderKey(name)
			}
			found = append(found, param{in: in, name: name, field: f.Name, index: idx, typ: f.Type})
		}
		if len(found) > 1 {
			return fmt.Errorf("field %s: tagged both %s and %s", f.Name, found[0].in, found[1].in)
		}
		if len(found) == 1 {
			if !f.IsExported() {
				return fmt.Errorf("field %s: tagged %s but not exported", f.Name, found[0].in)
			}
			p := found[0]
			if f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() != reflect.Uint8 {
				if p.in == inPath {
					return fmt.Errorf("field %s: a path wildcard cannot fill a slice", f.Name)
				}
				c, ok := converterFor(f.Type.Elem())
				if !ok || c.ptr {
					return fmt.Errorf("field %s: %s cannot be bound from %s", f.Name, f.Type, p.in)
				}
				p.multi, p.conv = true, c
			} else {
				c, ok := converterFor(f.Type)
				if !ok {
					return fmt.Errorf("field %s: %s cannot be bound from %s", f.Name, f.Type, p.in)
				}
				p.conv = c
			}
			// Unless it is json:"-", the field is also accepted in the JSON
			// body, but the path, query or header value wins.
			s.params = append(s.params, p)
			continue
		}
		if f.Anonymous && !skip && jsonName == "" {
			ft := f.Type
			if ft.Kind() == reflect.Struct {
				if err := s.walk(ft, idx, seen); err != nil {
					return err
				}
				continue
			}
			if ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Struct {
				// Promoted through a pointer: JSON only (binding would
				// have to allocate the embedded struct).
				if hasBindTags(ft.Elem()) {
					return fmt.Errorf("field %s: tagged fields in an embedded pointer are not supported", f.Name)
				}
				s.body = append(s.body, f.Name)
				continue
			}
		}
		if f.IsExported() && !skip {
			s.body = append(s.body, f.Name)
		}
	}
	return nil
}

func hasBindTags(t reflect.Type) bool {
	for i := 0; i < t.NumField(); i++ {
		tag := t.Field(i).Tag
		for _, k := range []string{"path", "query", "header"} {
			if _, ok := tag.Lookup(k); ok {
				return true
			}
		}
	}
	return false
}

// pathWildcards returns the names of the wildcards of a ServeMux path
// pattern ("/a/{id}/{rest...}" gives id and rest), without "{$}".
func pathWildcards(pattern string) []string {
	var names []string
	for {
		i := strings.IndexByte(pattern, '{')
		if i < 0 {
			return names
		}
		j := strings.IndexByte(pattern[i:], '}')
		if j < 0 {
			return names
		}
		name := strings.TrimSuffix(pattern[i+1:i+j], "...")
		if name != "$" {
			names = append(names, name)
		}
		pattern = pattern[i+j+1:]
	}
}
