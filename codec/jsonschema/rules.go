package jsonschema

import (
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/wegomesh/wego/codec"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/middleware/validate"
)

// A schema states what a type's validation enforces. The validate
// middleware calls the type's Validate method, ordinary Go code that no
// document can read; what it enforces is found instead by calling it, once
// per type when the schema is generated, on a few probe values, and
// reading the field violations it reports:
//
//   - every field zero: a field reported then fails validation when it is
//     absent from the value, so it is required;
//   - every number at the top of its range and every string very long, then
//     every number at the bottom of its range: the violations of the rules
//     of [validate.Checker] carry message keys and parameters that give the
//     bounds (validate.min and validate.max give minimum and maximum,
//     validate.max_len maxLength, validate.not_empty minLength 1 and the
//     pattern \S, validate.one_of an enum, checked value by value).
//
// A rule that applies only under a condition on other fields is seen when
// the probes meet the condition. A Validate method that panics on a probe
// contributes nothing for that probe.

// A Rule is what validation enforces on one field, as schema keywords.
type Rule struct {
	// Required: the field fails validation when it is absent (zero).
	Required bool
	// Minimum and Maximum bound a number; nil when unbounded.
	Minimum *int64
	Maximum *int64
	// MinLength and MaxLength bound a string's length; nil when unbounded.
	MinLength *int64
	MaxLength *int64
	// Pattern is a regular expression that a string must match, or "".
	Pattern string
	// Enum lists the values a string may take, or is nil.
	Enum []string
}

// Rules are the rules of a type by the field names its violations use:
// JSON names, and the names that a FieldName function gives to fields
// bound elsewhere (such as HTTP path, query and header parameters).
type Rules map[string]*Rule

// A FieldName function names the fields of a type that are not JSON
// members of it, as its validation's violations name them: for such a
// field it returns the name and true (an HTTP transport returns the name
// of the path, query or header parameter that the field is bound to);
// for any other field it returns false, and the field goes by its JSON
// name.
type FieldName func(f reflect.StructField) (name string, ok bool)

// probeLen is the length of the strings of the high probe: a maxLength up
// to one less is found.
const probeLen = 1 << 16

// probeFloat bounds the floats of the probes: beyond ±2^53 a Validate
// method that converts to int (Checker's rules take ints) would see
// nonsense.
const probeFloat = 1 << 53

// probeField is a field that the probes fill.
type probeField struct {
	name  string // JSON or parameter name
	index []int
	typ   reflect.Type
}

// RulesOf returns what the Validate method (see [validate.Validator]) of
// struct type t, or of what t points to, enforces, or nil when t has none
// or its probes report nothing. name, when not nil, names the fields that
// are not JSON members of t. RulesOf calls Validate on probe values, so a
// Validate method must have no side effects.
func RulesOf(t reflect.Type, name FieldName) Rules {
	if t == nil {
		return nil
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || !reflect.PointerTo(t).Implements(validatorType) {
		return nil
	}
	fields := probeFieldsOf(t, name, nil, 0)
	rs := Rules{}
	get := func(name string) *Rule {
		r := rs[name]
		if r == nil {
			r = &Rule{}
			rs[name] = r
		}
		return r
	}
	for _, v := range probe(t, fields, nil) {
		get(v.Field).Required = true
	}
	enums := map[string]string{} // field -> the allowed values as reported
	for _, fill := range []func(reflect.Value){fillHigh, fillLow} {
		for _, v := range probe(t, fields, fill) {
			switch v.Key {
			case validate.KeyNotEmpty:
				// Something other than white space.
				r := get(v.Field)
				setBound(&r.MinLength, "1", false)
				r.Pattern = `\S`
			case validate.KeyMin:
				setBound(&get(v.Field).Minimum, v.Params["min"], false)
			case validate.KeyMax:
				setBound(&get(v.Field).Maximum, v.Params["max"], true)
			case validate.KeyMaxLen:
				setBound(&get(v.Field).MaxLength, v.Params["max"], true)
			case validate.KeyOneOf:
				enums[v.Field] = v.Params["allowed"]
			}
		}
	}
	for name, list := range enums {
		if values := checkEnum(t, fields, name, list); values != nil {
			get(name).Enum = values
		}
	}
	for name, r := range rs {
		if !r.Required && r.Minimum == nil && r.Maximum == nil && r.MinLength == nil && r.MaxLength == nil &&
			r.Pattern == "" && r.Enum == nil {
			delete(rs, name)
		}
	}
	if len(rs) == 0 {
		return nil
	}
	return rs
}

var validatorType = reflect.TypeFor[validate.Validator]()

// Apply adds the rule's bounds to a schema of the matching type: numbers
// get minimum and maximum, strings minLength, maxLength, pattern and enum.
// A bound the schema has already (an unsigned integer's minimum 0) is
// kept when it is tighter. Required is not a keyword of the field's own
// schema: the object that holds the field lists it (see
// [Generator.StructSchema]).
func (r *Rule) Apply(s Schema) {
	switch s["type"] {
	case "integer", "number":
		tighten(s, "minimum", r.Minimum, false)
		tighten(s, "maximum", r.Maximum, true)
	case "string":
		tighten(s, "minLength", r.MinLength, false)
		tighten(s, "maxLength", r.MaxLength, true)
		if r.Pattern != "" {
			s["pattern"] = r.Pattern
		}
		if r.Enum != nil {
			s["enum"] = r.Enum
		}
	}
}

func tighten(s Schema, key string, b *int64, upper bool) {
	if b == nil {
		return
	}
	if cur, ok := s[key].(int); ok && ((upper && int64(cur) < *b) || (!upper && int64(cur) > *b)) {
		return
	}
	s[key] = *b
}

// setBound sets *b to the integer s, keeping the tighter of two bounds
// (the larger minimum, or the smaller maximum when upper).
func setBound(b **int64, s string, upper bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return
	}
	if *b == nil || (upper && n < **b) || (!upper && n > **b) {
		*b = &n
	}
}

// checkEnum returns the values of a validate.one_of violation of field
// name, or nil unless each of them, alone in the field, passes the rule
// (values that hold ", " cannot be told apart in the list).
func checkEnum(t reflect.Type, fields []probeField, name, list string) []string {
	i := slices.IndexFunc(fields, func(f probeField) bool { return f.name == name })
	if i < 0 || list == "" {
		return nil
	}
	f := fields[i]
	ft := f.typ
	if ft.Kind() == reflect.Pointer {
		ft = ft.Elem()
	}
	if ft.Kind() != reflect.String {
		return nil
	}
	values := strings.Split(list, ", ")
	for _, val := range values {
		vs, ok := probeOne(t, func(rv reflect.Value) {
			fv := rv.FieldByIndex(f.index)
			if fv.Kind() == reflect.Pointer {
				fv.Set(reflect.New(fv.Type().Elem()))
				fv = fv.Elem()
			}
			fv.SetString(val)
		})
		if !ok || slices.ContainsFunc(vs, func(v errs.FieldViolation) bool { return v.Field == name && v.Key == validate.KeyOneOf }) {
			return nil
		}
	}
	return values
}

// probeFieldsOf lists the fields of struct t that probes fill: exported
// scalar fields (strings, numbers, and pointers to them), named as the
// violations would name them, through embedded structs.
func probeFieldsOf(t reflect.Type, name FieldName, index []int, depth int) []probeField {
	if depth > 8 {
		return nil
	}
	var out []probeField
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		idx := append(append([]int(nil), index...), i)
		jsonName, _, skip := codec.JSONTag(f)
		if f.Anonymous && jsonName == "" && !skip && f.Type.Kind() == reflect.Struct {
			out = append(out, probeFieldsOf(f.Type, name, idx, depth+1)...)
			continue
		}
		if !f.IsExported() || !probeable(f.Type) {
			continue
		}
		pf := probeField{index: idx, typ: f.Type}
		bound := false
		if name != nil {
			pf.name, bound = name(f)
		}
		if !bound {
			if skip {
				continue
			}
			pf.name = jsonName
			if pf.name == "" {
				pf.name = f.Name
			}
		}
		out = append(out, pf)
	}
	return out
}

func probeable(t reflect.Type) bool {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

// probe calls the Validate method of a new value of t whose fields fill
// sets (when not nil) and returns the violations it reports.
func probe(t reflect.Type, fields []probeField, fill func(reflect.Value)) []errs.FieldViolation {
	vs, _ := probeOne(t, func(rv reflect.Value) {
		if fill == nil {
			return
		}
		for _, f := range fields {
			fv := rv.FieldByIndex(f.index)
			if fv.Kind() == reflect.Pointer {
				fv.Set(reflect.New(fv.Type().Elem()))
				fv = fv.Elem()
			}
			fill(fv)
		}
	})
	return vs
}

// probeOne calls the Validate method of a new value of t set by set, and
// returns the violations it reports; ok is false when it panicked.
func probeOne(t reflect.Type, set func(reflect.Value)) (vs []errs.FieldViolation, ok bool) {
	defer func() {
		if recover() != nil {
			vs, ok = nil, false
		}
	}()
	p := reflect.New(t)
	set(p.Elem())
	v, _ := p.Interface().(validate.Validator)
	if v == nil {
		return nil, true
	}
	if e, isErrs := errs.As(v.Validate()); isErrs {
		return e.Fields(), true
	}
	return nil, true
}

// fillHigh sets a scalar to the top of its range (a long string).
func fillHigh(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(strings.Repeat("x", probeLen))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(math.MaxInt64 >> (64 - v.Type().Bits()))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		// Not above MaxInt64: a Validate method converting to int would
		// see a negative number.
		v.SetUint(min(uint64(math.MaxUint64)>>(64-v.Type().Bits()), math.MaxInt64))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(probeFloat)
	}
}

// fillLow sets a scalar to the bottom of its range (an empty string).
func fillLow(v reflect.Value) {
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(math.MinInt64 >> (64 - v.Type().Bits()))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(-probeFloat)
	}
}
