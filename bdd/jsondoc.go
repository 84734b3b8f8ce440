package bdd

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"

	"github.com/cucumber/godog"

	"github.com/wegomesh/wego/codec"
	errs "github.com/wegomesh/wego/err"
)

// jsonError is an error of codec's strict decoding, worded for a step:
// its field violations ("skew is not a known field"; "the value" where
// codec names the value as a whole "body"), without the code and message
// of an error body.
type jsonError struct{ err error }

func (e jsonError) Error() string {
	fe, ok := errs.As(e.err)
	if !ok || len(fe.Fields()) == 0 {
		return e.err.Error()
	}
	var b strings.Builder
	for i, fv := range fe.Fields() {
		if i > 0 {
			b.WriteString("; ")
		}
		if fv.Field == "body" {
			b.WriteString("the value")
		} else {
			b.WriteString(strconv.Quote(fv.Field))
		}
		b.WriteString(" ")
		b.WriteString(fv.Reason)
	}
	return b.String()
}

func (e jsonError) Unwrap() error { return e.err }

// document returns the JSON document of a step's argument: its doc string,
// or its table of field/value rows turned into an object (see tableObject).
func document(st *godog.Step) ([]byte, error) {
	if st == nil || st.Argument == nil || (st.Argument.DocString == nil && st.Argument.DataTable == nil) {
		return nil, errors.New("the step needs a JSON doc string (\"\"\") or a table of field | value rows")
	}
	if ds := st.Argument.DocString; ds != nil {
		b := []byte(ds.Content)
		if _, err := codec.Parse(b); err != nil {
			return nil, fmt.Errorf("the doc string is not a JSON document: %w", jsonError{err})
		}
		return b, nil
	}
	obj, err := tableObject(st.Argument.DataTable)
	if err != nil {
		return nil, err
	}
	return json.Marshal(obj)
}

// tableRows returns the rows of a two-column table as name/value pairs,
// without a first row that is a header ("field | value", "name | value",
// "header | value").
func tableRows(t *godog.Table) ([][2]string, error) {
	var out [][2]string
	for i, r := range t.Rows {
		if len(r.Cells) != 2 {
			return nil, fmt.Errorf("table row %d has %d cells; want two: name | value", i+1, len(r.Cells))
		}
		k, v := strings.TrimSpace(r.Cells[0].Value), r.Cells[1].Value
		if i == 0 && strings.EqualFold(strings.TrimSpace(v), "value") &&
			slices.Contains([]string{"field", "name", "header", "param", "key"}, strings.ToLower(k)) {
			continue
		}
		out = append(out, [2]string{k, v})
	}
	return out, nil
}

// tableObject turns field/value rows into a JSON object. A field is a
// path ("item.sku", "items[0].qty") that builds nested objects and arrays;
// a value that is valid JSON (2, true, null, "007", [1,2]) is that value,
// anything else is a string.
func tableObject(t *godog.Table) (map[string]any, error) {
	rows, err := tableRows(t)
	if err != nil {
		return nil, err
	}
	root := map[string]any{}
	for _, r := range rows {
		p, err := parsePath(r[0])
		if err != nil {
			return nil, err
		}
		if len(p) == 0 || p[0].index >= 0 {
			return nil, fmt.Errorf("table field %q must start with a name", r[0])
		}
		var cur any = root
		cur, err = setPath(cur, p, cellValue(r[1]))
		if err != nil {
			return nil, fmt.Errorf("table field %q: %w", r[0], err)
		}
		root = cur.(map[string]any)
	}
	return root, nil
}

// cellValue is the JSON value of a table cell: the cell parsed as JSON
// when it is valid JSON, the cell as a string otherwise.
func cellValue(s string) any {
	s = strings.TrimSpace(s)
	if v, err := codec.Parse([]byte(s)); err == nil && s != "" {
		return v
	}
	return s
}

// setPath sets the value at path p in cur, creating objects and arrays on
// the way, and returns the updated cur.
func setPath(cur any, p []pathStep, v any) (any, error) {
	if len(p) == 0 {
		return v, nil
	}
	s := p[0]
	if s.index < 0 {
		m, ok := cur.(map[string]any)
		if cur == nil {
			m, ok = map[string]any{}, true
		}
		if !ok {
			return nil, fmt.Errorf("cannot set member %q in a value that is not an object", s.name)
		}
		nv, err := setPath(m[s.name], p[1:], v)
		if err != nil {
			return nil, err
		}
		m[s.name] = nv
		return m, nil
	}
	a, ok := cur.([]any)
	if cur == nil {
		ok = true
	}
	if !ok {
		return nil, fmt.Errorf("cannot set element [%d] in a value that is not an array", s.index)
	}
	for len(a) <= s.index {
		a = append(a, nil)
	}
	nv, err := setPath(a[s.index], p[1:], v)
	if err != nil {
		return nil, err
	}
	a[s.index] = nv
	return a, nil
}

// pathStep is one step of a field path: an object member (index < 0) or an
// array element.
type pathStep struct {
	name  string
	index int
}

// parsePath parses a field path: names separated by dots, each followed by
// any number of [index]: "reservation_id", "items[0].sku", "[1]".
func parsePath(s string) ([]pathStep, error) {
	var out []pathStep
	rest := s
	for rest != "" {
		switch {
		case rest[0] == '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, fmt.Errorf("path %q: unclosed [", s)
			}
			n, err := strconv.Atoi(rest[1:end])
			if err != nil || n < 0 {
				return nil, fmt.Errorf("path %q: index %q is not a non-negative integer", s, rest[1:end])
			}
			out = append(out, pathStep{index: n})
			rest = rest[end+1:]
			if strings.HasPrefix(rest, ".") {
				rest = rest[1:]
				if rest == "" {
					return nil, fmt.Errorf("path %q ends with a dot", s)
				}
			} else if rest != "" && rest[0] != '[' {
				return nil, fmt.Errorf("path %q: want . or [ after ]", s)
			}
		default:
			end := strings.IndexAny(rest, ".[")
			if end < 0 {
				end = len(rest)
			}
			if end == 0 {
				return nil, fmt.Errorf("path %q has an empty name", s)
			}
			out = append(out, pathStep{name: rest[:end], index: -1})
			rest = rest[end:]
			if strings.HasPrefix(rest, ".") {
				rest = rest[1:]
				if rest == "" {
					return nil, fmt.Errorf("path %q ends with a dot", s)
				}
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("empty path")
	}
	return out, nil
}

// lookupPath returns the value at path in doc, and whether it exists.
func lookupPath(doc any, path string) (any, bool, error) {
	p, err := parsePath(path)
	if err != nil {
		return nil, false, err
	}
	cur := doc
	for _, s := range p {
		if s.index < 0 {
			m, ok := cur.(map[string]any)
			if !ok {
				return nil, false, nil
			}
			if cur, ok = m[s.name]; !ok {
				return nil, false, nil
			}
			continue
		}
		a, ok := cur.([]any)
		if !ok || s.index >= len(a) {
			return nil, false, nil
		}
		cur = a[s.index]
	}
	return cur, true, nil
}

// match compares got with want: exactly, or, with subset, so that objects
// in got may have members that want does not mention. Arrays must have the
// same length in both modes; their elements are compared in order. It
// returns an error naming the first difference.
func match(path string, want, got any, subset bool) error {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Errorf("at %s: want an object, got %s", where(path), show(got))
		}
		keys := sortedKeys(w)
		for _, k := range keys {
			gv, ok := g[k]
			if !ok {
				return fmt.Errorf("at %s: missing", where(join(path, k)))
			}
			if err := match(join(path, k), w[k], gv, subset); err != nil {
				return err
			}
		}
		if !subset {
			for _, k := range sortedKeys(g) {
				if _, ok := w[k]; !ok {
					return fmt.Errorf("at %s: unexpected member with value %s", where(join(path, k)), show(g[k]))
				}
			}
		}
		return nil
	case []any:
		g, ok := got.([]any)
		if !ok {
			return fmt.Errorf("at %s: want an array, got %s", where(path), show(got))
		}
		if len(g) != len(w) {
			return fmt.Errorf("at %s: want %d elements, got %d: %s", where(path), len(w), len(g), show(got))
		}
		for i := range w {
			if err := match(fmt.Sprintf("%s[%d]", path, i), w[i], g[i], subset); err != nil {
				return err
			}
		}
		return nil
	case json.Number:
		g, ok := got.(json.Number)
		if !ok || !numbersEqual(w, g) {
			return fmt.Errorf("at %s: want %s, got %s", where(path), show(want), show(got))
		}
		return nil
	default: // string, bool, nil
		if want != got {
			return fmt.Errorf("at %s: want %s, got %s", where(path), show(want), show(got))
		}
		return nil
	}
}

// valueIs reports whether the JSON value got is the value written as text
// in a step: a string equal to text, or a number, boolean, null, object or
// array whose JSON form means the same as text.
func valueIs(got any, text string) bool {
	if s, ok := got.(string); ok {
		return s == text
	}
	want, err := codec.Parse([]byte(text))
	if err != nil {
		return false
	}
	return match("", want, got, false) == nil
}

func numbersEqual(a, b json.Number) bool {
	x, ok1 := new(big.Rat).SetString(string(a))
	y, ok2 := new(big.Rat).SetString(string(b))
	if !ok1 || !ok2 {
		return a == b
	}
	return x.Cmp(y) == 0
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func where(path string) string {
	if path == "" {
		return "the top level"
	}
	return strconv.Quote(path)
}

// show renders a JSON value for a message.
func show(v any) string {
	if v == nil {
		return "null"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > 400 {
		return string(b[:400]) + "…"
	}
	return string(b)
}

// pretty indents a JSON document for a message.
func pretty(b []byte) string {
	var buf bytes.Buffer
	if json.Indent(&buf, b, "  ", "  ") != nil {
		return string(b)
	}
	return buf.String()
}
