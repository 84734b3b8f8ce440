package middleware

import "strings"

// ForCommand finds the per-command settings of the command name in m, as
// middleware configuration sections give them:
//
//	commands:
//	  inventory.Reserve: {rate: 5}   # one command
//	  inventory.*:       {rate: 50}  # every command of a service
//	  "*":               {rate: 500} # every command
//
// The most specific key wins: the exact name, then the longest service
// pattern ("billing.invoices.*" before "billing.*"), then "*". Keys match
// without regard to case, because configuration keys are lower-cased.
// Call it in [Middleware.Wrap], once per command, not per call.
func ForCommand[T any](m map[string]T, name string) (T, bool) {
	var zero T
	if len(m) == 0 {
		return zero, false
	}
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	// Service patterns, longest first: try each dot from the right.
	for i := strings.LastIndexByte(name, '.'); i > 0; i = strings.LastIndexByte(name[:i], '.') {
		prefix := name[:i]
		for k, v := range m {
			if len(k) == len(prefix)+2 && strings.HasSuffix(k, ".*") && strings.EqualFold(k[:len(prefix)], prefix) {
				return v, true
			}
		}
	}
	if v, ok := m["*"]; ok {
		return v, true
	}
	return zero, false
}

// ValidCommandPattern reports whether key is a valid key of a per-command
// map: "service.Operation", "service.*" or "*".
func ValidCommandPattern(key string) bool {
	if key == "*" {
		return true
	}
	if !strings.Contains(key, ".") {
		return false // a bare service name matches nothing; write "service.*"
	}
	key = strings.TrimSuffix(key, ".*")
	if key == "" {
		return false
	}
	for part := range strings.SplitSeq(key, ".") {
		if part == "" {
			return false
		}
		for i := 0; i < len(part); i++ {
			c := part[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
				return false
			}
		}
	}
	return true
}
