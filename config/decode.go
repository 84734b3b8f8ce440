package config

import (
	"encoding"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
)

var (
	durationType        = reflect.TypeFor[time.Duration]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// decodeError is a problem found while decoding, at a key relative to the
// decoded section.
type decodeError struct {
	key string
	err error
}

// decode decodes a tree (or a leaf) into the value that out points to. It
// returns the keys of the tree that no struct field takes, relative to the
// tree, and the problems found.
func decode(in any, out reflect.Value) (unused []string, problems []decodeError) {
	var md mapstructure.Metadata
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		DecodeHook: mapstructure.DecodeHookFuncValue(convert),
		Metadata:   &md,
		Result:     out.Interface(),
		Squash:     true,
		TagName:    "mapstructure",
	})
	if err != nil {
		return nil, []decodeError{{err: err}}
	}
	if out.Kind() == reflect.Pointer {
		in = rejoin(in, out.Type().Elem())
	}
	if err := dec.Decode(in); err != nil {
		// Decode wraps several errors in a message of its own; keep only
		// the errors.
		var joined interface{ Unwrap() []error }
		if errors.As(err, &joined) {
			if e, ok := joined.(error); ok {
				err = e
			}
		}
		for _, e := range flattenJoin(err) {
			problems = append(problems, decodeProblem(e))
		}
		return nil, problems
	}
	unused = md.Unused
	slices.Sort(unused)
	return unused, nil
}

// decodeProblem turns an error of mapstructure into a key and a message
// that does not mention mapstructure's internals.
func decodeProblem(err error) decodeError {
	var de *mapstructure.DecodeError
	if !errors.As(err, &de) {
		return decodeError{err: err}
	}
	key := strings.ToLower(de.Name())
	inner := de.Unwrap()
	var ute *mapstructure.UnconvertibleTypeError
	var pe *mapstructure.ParseError
	switch {
	case errors.As(inner, &ute):
		inner = cannotUse(ute.Value, ute.Expected.Type())
	case errors.As(inner, &pe):
		inner = cannotUse(pe.Value, pe.Expected.Type())
	}
	return decodeError{key: key, err: inner}
}

// flattenJoin returns the errors joined in err, recursively.
func flattenJoin(err error) []error {
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return []error{err}
	}
	var errs []error
	for _, e := range j.Unwrap() {
		errs = append(errs, flattenJoin(e)...)
	}
	return errs
}

// convert is the decode hook. Values from environment variables are strings
// and values from files are whatever the format says, so convert parses
// strings into numbers, booleans, durations and lists (split at commas), and
// checks that numbers fit the field, with messages that name the value and
// the Go type. It leaves maps, structs and values of the right type to
// mapstructure.
func convert(from, to reflect.Value) (any, error) {
	if !from.IsValid() {
		return nil, nil
	}
	data := from.Interface()
	if data == nil {
		return nil, nil
	}
	t := to.Type()
	if t.Kind() == reflect.Pointer || t.Kind() == reflect.Interface || from.Type() == t {
		return data, nil
	}
	s, isString := data.(string)
	if isString && reflect.PointerTo(t).Implements(textUnmarshalerType) {
		p := reflect.New(t)
		if err := p.Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
			return nil, fmt.Errorf("cannot parse %q as %s: %w", s, t, err)
		}
		return p.Elem().Interface(), nil
	}
	if t == durationType {
		return toDuration(data)
	}
	switch t.Kind() {
	case reflect.Bool:
		switch {
		case isString:
			b, err := strconv.ParseBool(strings.TrimSpace(s))
			if err != nil {
				return nil, fmt.Errorf("cannot parse %q as %s", s, t)
			}
			return b, nil
		case from.Kind() == reflect.Bool:
			return data, nil
		}
		return nil, cannotUse(data, t)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if isString {
			i, err := strconv.ParseInt(strings.TrimSpace(s), 0, t.Bits())
			if err != nil {
				return nil, parseError(s, t, err)
			}
			return i, nil
		}
		i, ok := toInt64(from)
		if !ok || reflect.Zero(t).OverflowInt(i) {
			return nil, cannotUse(data, t)
		}
		return i, nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if isString {
			u, err := strconv.ParseUint(strings.TrimSpace(s), 0, t.Bits())
			if err != nil {
				return nil, parseError(s, t, err)
			}
			return u, nil
		}
		u, ok := toUint64(from)
		if !ok || reflect.Zero(t).OverflowUint(u) {
			return nil, cannotUse(data, t)
		}
		return u, nil
	case reflect.Float32, reflect.Float64:
		switch {
		case isString:
			f, err := strconv.ParseFloat(strings.TrimSpace(s), t.Bits())
			if err != nil {
				return nil, parseError(s, t, err)
			}
			return f, nil
		case isNumber(from.Kind()):
			return from.Convert(reflect.TypeFor[float64]()).Interface(), nil
		}
		return nil, cannotUse(data, t)
	case reflect.String:
		switch k := from.Kind(); {
		case k == reflect.String:
			return from.String(), nil
		case k == reflect.Bool:
			return strconv.FormatBool(from.Bool()), nil
		case isNumber(k):
			return fmt.Sprint(data), nil
		}
		return nil, cannotUse(data, t)
	case reflect.Slice, reflect.Array:
		switch k := from.Kind(); {
		case k == reflect.Slice || k == reflect.Array:
			return data, nil
		case isString && t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8:
			return []byte(s), nil
		case isString:
			return splitList(s), nil
		case k == reflect.Map || k == reflect.Struct:
			return nil, cannotUse(data, t)
		}
		return []any{data}, nil
	case reflect.Map, reflect.Struct:
		if k := from.Kind(); k != reflect.Map && k != reflect.Struct {
			return nil, cannotUse(data, t)
		}
	}
	return data, nil
}

// toDuration converts a value to a time.Duration. Numbers are refused,
// except 0: "timeout: 5" would otherwise mean five nanoseconds.
func toDuration(data any) (any, error) {
	t := durationType
	switch v := data.(type) {
	case string:
		s := strings.TrimSpace(v)
		if s == "" {
			return time.Duration(0), nil
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return nil, fmt.Errorf("cannot parse %q as %s (write a number and a unit, as in \"1.5s\" or \"100ms\")", v, t)
		}
		return d, nil
	case time.Duration:
		return v, nil
	}
	if i, ok := toInt64(reflect.ValueOf(data)); ok && i == 0 {
		return time.Duration(0), nil
	}
	if isNumber(reflect.ValueOf(data).Kind()) {
		return nil, fmt.Errorf("cannot use %v as %s: write a unit, as in \"%vs\"", data, t, data)
	}
	return nil, cannotUse(data, t)
}

// splitList splits a comma-separated list, as environment variables give
// lists; blanks around items are dropped, and "" is the empty list.
func splitList(s string) []any {
	if strings.TrimSpace(s) == "" {
		return []any{}
	}
	parts := strings.Split(s, ",")
	list := make([]any, len(parts))
	for i, p := range parts {
		list[i] = strings.TrimSpace(p)
	}
	return list
}

func isNumber(k reflect.Kind) bool {
	return reflect.Int <= k && k <= reflect.Float64
}

// toInt64 returns v as an int64 when it is a number with an integral value
// in range.
func toInt64(v reflect.Value) (int64, bool) {
	switch k := v.Kind(); {
	case reflect.Int <= k && k <= reflect.Int64:
		return v.Int(), true
	case reflect.Uint <= k && k <= reflect.Uintptr:
		u := v.Uint()
		return int64(u), u <= math.MaxInt64
	case k == reflect.Float32 || k == reflect.Float64:
		f := v.Float()
		if f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
			return 0, false
		}
		return int64(f), true
	}
	return 0, false
}

// toUint64 returns v as a uint64 when it is a number with a non-negative
// integral value in range.
func toUint64(v reflect.Value) (uint64, bool) {
	switch k := v.Kind(); {
	case reflect.Int <= k && k <= reflect.Int64:
		i := v.Int()
		return uint64(i), i >= 0
	case reflect.Uint <= k && k <= reflect.Uintptr:
		return v.Uint(), true
	case k == reflect.Float32 || k == reflect.Float64:
		f := v.Float()
		if f != math.Trunc(f) || f < 0 || f >= math.MaxUint64 {
			return 0, false
		}
		return uint64(f), true
	}
	return 0, false
}

func parseError(s string, t reflect.Type, err error) error {
	if errors.Is(err, strconv.ErrRange) {
		return fmt.Errorf("cannot parse %q as %s: out of range", s, t)
	}
	return fmt.Errorf("cannot parse %q as %s", s, t)
}

// cannotUse is the error for a value that does not fit type t.
func cannotUse(v any, t reflect.Type) error {
	if s, ok := v.(string); ok {
		return fmt.Errorf("cannot parse %q as %s", s, t)
	}
	return fmt.Errorf("cannot use %s as %s", describe(v), t)
}

// describe names a value of a tree for a message.
func describe(v any) string {
	if v == nil {
		return "null"
	}
	switch reflect.ValueOf(v).Kind() {
	case reflect.Map, reflect.Struct:
		return "a map"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.String:
		return strconv.Quote(fmt.Sprint(v))
	}
	return fmt.Sprint(v)
}

// structKeys returns the dotted keys, relative to a value of type t, that
// mapstructure would fill: one per leaf field of nested structs, or "" when
// t is a scalar or a list. Maps have no keys of their own: a variable cannot
// hold one. Config uses the keys to find environment variables for keys that
// no file mentions.
func structKeys(t reflect.Type) []string {
	var keys []string
	collectKeys(t, "", &keys, map[reflect.Type]bool{})
	return keys
}

func collectKeys(t reflect.Type, prefix string, keys *[]string, visiting map[reflect.Type]bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	isText := reflect.PointerTo(t).Implements(textUnmarshalerType)
	switch {
	case t.Kind() == reflect.Map && !isText:
		return
	case t.Kind() != reflect.Struct || isText || visiting[t]:
		*keys = append(*keys, prefix)
		return
	}
	visiting[t] = true
	defer delete(visiting, t)
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
		if name == "-" || !f.IsExported() || hasTagOption(opts, "remain") {
			continue
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if (f.Anonymous || hasTagOption(opts, "squash")) && ft.Kind() == reflect.Struct {
			collectKeys(ft, prefix, keys, visiting)
			continue
		}
		if name == "" {
			name = f.Name
		}
		collectKeys(f.Type, joinKey(prefix, strings.ToLower(name)), keys, visiting)
	}
}

func hasTagOption(opts, name string) bool {
	for o := range strings.SplitSeq(opts, ",") {
		if strings.TrimSpace(o) == name {
			return true
		}
	}
	return false
}

// clone returns an addressable deep copy of v, so that decoding into the
// copy never writes through maps, slices or pointers that v shares with the
// caller's defaults.
func clone(v reflect.Value) reflect.Value {
	out := reflect.New(v.Type()).Elem()
	deepCopy(out, v, map[uintptr]reflect.Value{})
	return out
}

func deepCopy(dst, src reflect.Value, seen map[uintptr]reflect.Value) {
	switch src.Kind() {
	case reflect.Pointer:
		if src.IsNil() {
			return
		}
		if p, ok := seen[src.Pointer()]; ok {
			dst.Set(p)
			return
		}
		p := reflect.New(src.Type().Elem())
		seen[src.Pointer()] = p
		deepCopy(p.Elem(), src.Elem(), seen)
		dst.Set(p)
	case reflect.Struct:
		dst.Set(src) // unexported fields are copied as they are
		for i := range src.NumField() {
			if f := dst.Field(i); f.CanSet() {
				deepCopy(f, src.Field(i), seen)
			}
		}
	case reflect.Map:
		if src.IsNil() {
			return
		}
		m := reflect.MakeMapWithSize(src.Type(), src.Len())
		for it := src.MapRange(); it.Next(); {
			e := reflect.New(src.Type().Elem()).Elem()
			deepCopy(e, it.Value(), seen)
			m.SetMapIndex(it.Key(), e)
		}
		dst.Set(m)
	case reflect.Slice:
		if src.IsNil() {
			return
		}
		s := reflect.MakeSlice(src.Type(), src.Len(), src.Len())
		for i := range src.Len() {
			deepCopy(s.Index(i), src.Index(i), seen)
		}
		dst.Set(s)
	case reflect.Array:
		for i := range src.Len() {
			deepCopy(dst.Index(i), src.Index(i), seen)
		}
	case reflect.Interface:
		if src.IsNil() {
			return
		}
		e := reflect.New(src.Elem().Type()).Elem()
		deepCopy(e, src.Elem(), seen)
		dst.Set(e)
	default:
		dst.Set(src)
	}
}
