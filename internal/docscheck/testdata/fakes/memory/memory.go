// Package memory is the in-memory stock store that the documentation's
// snippets provide to the inventory service (a fake for the snippet check).
package memory

import (
	"fmt"
	"sync"
)

// Store keeps units per SKU.
type Store struct {
	mu    sync.Mutex
	units map[string]int
}

// New returns a store with 100 units of "apple".
func New() *Store { return &Store{units: map[string]int{"apple": 100}} }

// Reserve takes qty units of sku and returns how many are left.
func (s *Store) Reserve(sku string, qty int) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.units[sku] < qty {
		return s.units[sku], fmt.Errorf("only %d of %s left", s.units[sku], sku)
	}
	s.units[sku] -= qty
	return s.units[sku], nil
}

// Left returns the units of sku.
func (s *Store) Left(sku string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.units[sku]
}
