package ratelimit

import (
	"fmt"
	"strings"
)

// checkPattern reports what is wrong with a key of a commands map, or "".
func checkPattern(k string) string {
	if k == "*" {
		return ""
	}
	i := strings.LastIndexByte(k, '.')
	if i <= 0 || i == len(k)-1 || strings.ContainsAny(k, " \t\n") || strings.Contains(k[:i], "*") ||
		(strings.Contains(k[i+1:], "*") && k[i+1:] != "*") {
		return fmt.Sprintf("%q is not a command pattern (want \"service.Operation\", \"service.*\" or \"*\")", k)
	}
	return ""
}

// find returns the entry of m whose key is k, without regard to case.
func find[V any](m map[string]V, k string) (V, bool) {
	if v, ok := m[k]; ok {
		return v, true
	}
	for key, v := range m {
		if strings.EqualFold(key, k) {
			return v, true
		}
	}
	var zero V
	return zero, false
}

// layers returns the entries of m that apply to the command name, the least
// specific first: "*", "service.*", then the name itself.
func layers[V any](m map[string]V, name string) []V {
	var out []V
	if v, ok := find(m, "*"); ok {
		out = append(out, v)
	}
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		if v, ok := find(m, name[:i+1]+"*"); ok {
			out = append(out, v)
		}
	}
	if v, ok := find(m, name); ok {
		out = append(out, v)
	}
	return out
}
