package timeout

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// The helpers below are the same in each middleware package that takes
// per-command entries (timeout, breaker, retry, cache).

// lookupCommand returns the entries of m for the command name
// ("service.Operation"): the one for the command and the one for its
// service ("*"). The configuration loader lowers keys' case, so keys match
// without regard to case when no key matches exactly.
func lookupCommand[T any](m map[string]map[string]T, name string) (exact, service *T) {
	i := strings.LastIndexByte(name, '.')
	if i < 0 || len(m) == 0 {
		return nil, nil
	}
	ops, ok := lookupFold(m, name[:i])
	if !ok {
		return nil, nil
	}
	if v, ok := lookupFold(ops, name[i+1:]); ok {
		exact = &v
	}
	if v, ok := ops["*"]; ok {
		service = &v
	}
	return exact, service
}

// lookupFold returns m[key], or the value of the first key (in sorted
// order) equal to key under Unicode case folding.
func lookupFold[V any](m map[string]V, key string) (V, bool) {
	if v, ok := m[key]; ok {
		return v, true
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		if strings.EqualFold(k, key) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		var zero V
		return zero, false
	}
	slices.Sort(keys)
	return m[keys[0]], true
}

// eachCommand calls f for every per-command entry of m with its
// configuration key ("<prefix>.commands.inventory.Reserve"), in sorted
// order, and returns the first error f returns. Empty service or
// operation names are errors.
func eachCommand[T any](prefix string, m map[string]map[string]T, f func(key string, v T) error) error {
	for _, svc := range slices.Sorted(maps.Keys(m)) {
		if svc == "" || svc == "*" {
			return fmt.Errorf("%s.commands: %q is not a service name (want commands.<service>.<Operation> or commands.<service>.\"*\")", prefix, svc)
		}
		ops := m[svc]
		for _, op := range slices.Sorted(maps.Keys(ops)) {
			if op == "" {
				return fmt.Errorf("%s.commands.%s: empty operation name", prefix, svc)
			}
			if err := f(prefix+".commands."+svc+"."+op, ops[op]); err != nil {
				return err
			}
		}
	}
	return nil
}
