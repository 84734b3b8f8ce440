package faultinject

import (
	"fmt"
	"strings"
)

// lookup returns the entry of m for the command name: the entry for the
// name itself, else for its service ("service.*"), else for every command
// ("*"). Keys match without regard to case, because the configuration
// loader lower-cases them. It runs when a chain is built, never per call.
func lookup[V any](m map[string]V, name string) (V, bool) {
	if v, ok := m[name]; ok {
		return v, true
	}
	service := ""
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		service = name[:i+1] + "*"
	}
	var best V
	rank := 0
	for k, v := range m {
		switch {
		case strings.EqualFold(k, name):
			return v, true
		case rank < 2 && service != "" && strings.EqualFold(k, service):
			best, rank = v, 2
		case rank < 1 && k == "*":
			best, rank = v, 1
		}
	}
	return best, rank > 0
}

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
