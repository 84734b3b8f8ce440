package middleware

import "fmt"

// Key is a typed attribute key. Packages define keys for what they need to
// know about a command — an HTTP endpoint, a cache TTL, whether a command is
// idempotent — and the catalog only stores the values:
//
//	var Idempotent = middleware.NewKey[bool]("retry.idempotent")
//
//	catalog.Register("inventory.Stock", stock, catalog.With(Idempotent.Value(true)))
//
// Keys compare by identity: two NewKey calls with one name are two keys.
type Key[T any] struct {
	name string
}

// NewKey returns a new attribute key. The name is for listings and
// documentation; use "package.name".
func NewKey[T any](name string) *Key[T] { return &Key[T]{name: name} }

// Name returns the key's name.
func (k *Key[T]) Name() string { return k.name }

// String returns the key's name.
func (k *Key[T]) String() string { return k.name }

// Value returns an attribute that sets k to v.
func (k *Key[T]) Value(v T) Attr { return Attr{key: k, name: k.name, value: v} }

// Get returns the value of k in attrs, and whether it is set.
func (k *Key[T]) Get(attrs Attributes) (T, bool) {
	for i := len(attrs.list) - 1; i >= 0; i-- {
		if attrs.list[i].key == any(k) {
			v, ok := attrs.list[i].value.(T)
			return v, ok
		}
	}
	var zero T
	return zero, false
}

// Attr is one attribute: a key and its value. Make one with [Key.Value].
type Attr struct {
	key   any
	name  string
	value any
}

// Name returns the name of the attribute's key.
func (a Attr) Name() string { return a.name }

// Value returns the attribute's value.
func (a Attr) Value() any { return a.value }

// String formats the attribute as name=value.
func (a Attr) String() string { return fmt.Sprintf("%s=%v", a.name, a.value) }

// Attributes is an immutable set of attributes. When a key is set twice, the
// last value wins.
type Attributes struct {
	list []Attr
}

// NewAttributes returns attributes holding attrs.
func NewAttributes(attrs ...Attr) Attributes {
	return Attributes{list: append([]Attr(nil), attrs...)}
}

// With returns a copy of a with attrs added.
func (a Attributes) With(attrs ...Attr) Attributes {
	list := make([]Attr, 0, len(a.list)+len(attrs))
	return Attributes{list: append(append(list, a.list...), attrs...)}
}

// Len returns the number of attributes, counting a key set twice once per
// setting.
func (a Attributes) Len() int { return len(a.list) }

// All returns the attributes that are in effect (the last value of each
// key), in the order of their last setting.
func (a Attributes) All() []Attr {
	out := make([]Attr, 0, len(a.list))
	for i, at := range a.list {
		superseded := false
		for _, later := range a.list[i+1:] {
			if later.key == at.key {
				superseded = true
				break
			}
		}
		if !superseded {
			out = append(out, at)
		}
	}
	return out
}
