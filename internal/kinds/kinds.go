// Package kinds is the registry behind the package-level kind
// registries of the module: store.RegisterKind, registry.RegisterKind,
// events.RegisterKind, transport.RegisterEngine and
// transport.RegisterRouteFactory, and fw's middleware. Each of those
// checks its own arguments and panics with its own message; a Registry
// keeps the factories by kind, safe for concurrent use.
package kinds

import (
	"maps"
	"slices"
	"sync"
)

// Registry maps kinds (names such as "memory" or "nats") to values of
// type F, usually factories. Its zero value is empty and ready to use; a
// Registry is safe for concurrent use and must not be copied after first
// use.
type Registry[F any] struct {
	mu sync.RWMutex
	m  map[string]F
}

// Add registers f under kind unless kind is registered already, in which
// case it changes nothing and returns the value registered and false.
// Add checks neither kind nor f: the package-level Register functions
// check their arguments and panic when Add reports a duplicate.
func (r *Registry[F]) Add(kind string, f F) (prev F, added bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if prev, dup := r.m[kind]; dup {
		return prev, false
	}
	if r.m == nil {
		r.m = make(map[string]F)
	}
	r.m[kind] = f
	return f, true
}

// Lookup returns the value registered under kind and whether there is
// one.
func (r *Registry[F]) Lookup(kind string) (F, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	f, ok := r.m[kind]
	return f, ok
}

// Kinds returns the registered kinds, sorted.
func (r *Registry[F]) Kinds() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return slices.Sorted(maps.Keys(r.m))
}
