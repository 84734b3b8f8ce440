package config

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// A tree is configuration as viper returns it: nested map[string]any with
// lower-case keys, whose leaves are scalars and []any.

// leaf is one key and its value, as given to Defaults or Override.
type leaf struct {
	key   string
	value any
}

// appendLeaves appends v under key to dst, splitting maps into one leaf per
// key so that they merge key by key with the other layers. Empty maps add
// nothing; a non-map value needs a key.
func appendLeaves(dst []leaf, key string, v any) []leaf {
	key = normalizeKey(key)
	if m, ok := stringMap(v); ok {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			dst = appendLeaves(dst, joinKey(key, k), m[k])
		}
		return dst
	}
	if key == "" {
		return dst
	}
	return append(dst, leaf{key: key, value: copyTree(v)})
}

// stringMap returns v as a map[string]any when it is a map whose keys are
// strings (or, as YAML decoders produce, any values printed as strings).
func stringMap(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case nil:
		return nil, false
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Map {
		return nil, false
	}
	k := rv.Type().Key().Kind()
	if k != reflect.String && k != reflect.Interface {
		return nil, false
	}
	m := make(map[string]any, rv.Len())
	for it := rv.MapRange(); it.Next(); {
		m[fmt.Sprint(it.Key().Interface())] = it.Value().Interface()
	}
	return m, true
}

// normalizeKey lower-cases key, as viper does, and trims spaces and dots.
func normalizeKey(key string) string {
	return strings.ToLower(strings.Trim(strings.TrimSpace(key), "."))
}

// joinKey joins two dotted keys, either of which may be empty; b may start
// with an index or a quoted map key ("[1]", `["inventory.Stock"]`), which
// joins without a dot.
func joinKey(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	case b[0] == '[':
		return a + b
	}
	return a + "." + b
}

// parentKey returns the key one level up ("" for a top-level key).
func parentKey(key string) string {
	if i := strings.LastIndexByte(key, '.'); i >= 0 {
		return key[:i]
	}
	return ""
}

// isUnder reports whether key is below ancestor in the tree (not equal).
func isUnder(key, ancestor string) bool {
	if ancestor == "" {
		return key != ""
	}
	return len(key) > len(ancestor) && key[len(ancestor)] == '.' && strings.HasPrefix(key, ancestor)
}

// lookupPath returns the value at key in tree; key "" is the tree itself.
func lookupPath(tree map[string]any, key string) (any, bool) {
	if key == "" {
		return tree, len(tree) > 0
	}
	var cur any = tree
	for part := range strings.SplitSeq(key, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[part]; !ok {
			return nil, false
		}
	}
	return cur, cur != nil
}

// setPath sets the value at key below *root, creating maps on the way and
// replacing values that are in the way; key "" replaces *root.
func setPath(root *any, key string, v any) {
	if key == "" {
		*root = v
		return
	}
	m, ok := (*root).(map[string]any)
	if !ok {
		m = map[string]any{}
		*root = m
	}
	parts := strings.Split(key, ".")
	for _, part := range parts[:len(parts)-1] {
		next, ok := m[part].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[part] = next
		}
		m = next
	}
	m[parts[len(parts)-1]] = v
}

// walkLeaves calls fn for each leaf below v with its key joined to prefix;
// a non-map v is itself a leaf, an empty map has none.
func walkLeaves(prefix string, v any, fn func(key string, v any)) {
	m, ok := v.(map[string]any)
	if !ok {
		fn(prefix, v)
		return
	}
	for k, sub := range m {
		walkLeaves(joinKey(prefix, k), sub, fn)
	}
}

// copyTree returns a deep copy of the maps and lists of a tree.
func copyTree(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, sub := range v {
			m[k] = copyTree(sub)
		}
		return m
	case []any:
		s := make([]any, len(v))
		for i, sub := range v {
			s[i] = copyTree(sub)
		}
		return s
	}
	return v
}
