package catalog

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	errs "github.com/wegomesh/wego/err"
)

// Dependency is a typed reference to something commands need — a
// repository, a client, settings — provided to a catalog by name:
//
//	var Store = catalog.Provide[inventory.Store]("inventory.store", memory.New())
//
//	func reserve(ctx context.Context, req Request) (Response, error) {
//		store, err := Store.Get(ctx)
//		...
//	}
//
// A Dependency is a small value; copy it freely. Tests swap the value with
// [ReplaceDep] (or package catalogtest) like they swap a command.
type Dependency[T any] struct {
	name string
}

// Dep returns a reference to the dependency name without providing it, for
// code that resolves what another package provides.
func Dep[T any](name string) Dependency[T] { return Dependency[T]{name: name} }

// Name returns the dependency's name.
func (d Dependency[T]) Name() string { return d.name }

// String returns the dependency's name.
func (d Dependency[T]) String() string { return d.name }

// Get resolves the dependency in the catalog ctx carries (see [NewContext])
// or in [Default]. A dependency that was never provided, or was provided
// with another type, gives an errs error with code
// "wego.unknown_dependency" or "wego.wrong_type" (internal: callers see no
// detail, logs do).
func (d Dependency[T]) Get(ctx context.Context) (T, error) {
	return d.From(FromContext(ctx))
}

// From resolves the dependency in c.
func (d Dependency[T]) From(c *Catalog) (T, error) {
	var zero T
	v, ok := c.deps.Load(d.name)
	if !ok {
		return zero, ErrUnknownDependency.Wrap(fmt.Errorf("catalog: dependency %q is not provided", d.name),
			errs.InternalParam("dependency", d.name))
	}
	val := v.(*depSlot).val.Load()
	t, ok := val.v.(T)
	if !ok {
		return zero, ErrWrongType.Wrap(fmt.Errorf("catalog: dependency %q is %T, resolved as %v",
			d.name, val.v, reflect.TypeFor[T]()), errs.InternalParam("dependency", d.name))
	}
	return t, nil
}

type depSlot struct {
	name string
	typ  reflect.Type // the type it was provided as
	site string
	val  atomic.Pointer[depValue]
}

type depValue struct{ v any }

func (s *depSlot) clone() *depSlot {
	n := &depSlot{name: s.name, typ: s.typ, site: s.site}
	n.val.Store(s.val.Load())
	return n
}

// Provide provides v as the dependency name of type T in [Default] and
// returns a reference to it. It is meant for init functions and
// package-level variables, and panics when the name is empty or provided
// already (naming both sites) or v is nil. [ProvideIn] returns an error.
func Provide[T any](name string, v T) Dependency[T] {
	d, err := provide(Default, name, v, callerSite(2))
	if err != nil {
		panic(err)
	}
	return d
}

// ProvideIn is like [Provide] for the catalog c, and returns a
// *[RegistrationError] instead of panicking.
func ProvideIn[T any](c *Catalog, name string, v T) (Dependency[T], error) {
	return provide(c, name, v, callerSite(2))
}

func provide[T any](c *Catalog, name string, v T, site string) (Dependency[T], error) {
	if strings.TrimSpace(name) == "" || len(name) > 256 {
		return Dependency[T]{}, &RegistrationError{Name: name, Site: site, Err: ErrInvalidName}
	}
	if isNil(v) {
		return Dependency[T]{}, &RegistrationError{Name: name, Site: site, Err: ErrNilFunc}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.deps.Load(name); ok {
		return Dependency[T]{}, &RegistrationError{Name: name, Site: site, Other: prev.(*depSlot).site, Err: ErrDuplicate}
	}
	s := &depSlot{name: name, typ: reflect.TypeFor[T](), site: site}
	s.val.Store(&depValue{v: v})
	c.deps.Store(name, s)
	return Dependency[T]{name: name}, nil
}

// isNil reports whether v is nil or a nil pointer, map, slice, channel,
// function or interface. Registration only: it uses reflection.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Chan, reflect.Func, reflect.Interface:
		return rv.IsNil()
	}
	return false
}

// ReplaceDep makes dependency d resolve to fake in c until the returned
// undo is called. d must be provided in c already.
func ReplaceDep[T any](c *Catalog, d Dependency[T], fake T) (undo func(), err error) {
	site := callerSite(2)
	if isNil(fake) {
		return nil, &RegistrationError{Name: d.name, Site: site, Err: ErrNilFunc}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.deps.Load(d.name)
	if !ok {
		return nil, &RegistrationError{Name: d.name, Site: site, Err: ErrNotRegistered}
	}
	s := v.(*depSlot)
	prev := s.val.Load()
	s.val.Store(&depValue{v: fake})
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			s.val.Store(prev)
		})
	}, nil
}

// DependencyInfo describes a provided dependency, for listings.
type DependencyInfo struct {
	Name string
	Type reflect.Type // the type it was provided as
	Site string       // file:line of the Provide call
}

// Dependencies lists the provided dependencies, sorted by name.
func (c *Catalog) Dependencies() []DependencyInfo {
	var out []DependencyInfo
	c.deps.Range(func(_, v any) bool {
		s := v.(*depSlot)
		out = append(out, DependencyInfo{Name: s.name, Type: s.typ, Site: s.site})
		return true
	})
	slices.SortFunc(out, func(a, b DependencyInfo) int { return strings.Compare(a.Name, b.Name) })
	return out
}
