package catalog

import (
	"fmt"
	"sync"
	"testing"
)

// BenchmarkLookup compares the catalog's name table (by address, then by
// content) with a plain map and a sync.Map, in the same run, for a
// literal name (the common case of a call by name) and a name built at
// run time. The table stays while a map would take a call by name past
// its target (6x a direct call): see table's comment and
// docs/performance-notes.md.
func BenchmarkLookup(b *testing.B) {
	for _, n := range []int{10, 10000} {
		tab := newTable(n)
		m := make(map[string]entry, n)
		var sm sync.Map
		var e entry = (*Command[int, int])(nil)
		for i := range n - 1 {
			name := fmt.Sprintf("svc%d.Op%d", i, i)
			tab.put(name, e)
			m[name] = e
			sm.Store(name, e)
		}
		const lit = "inventory.Reserve"
		tab.put(lit, e)
		m[lit] = e
		sm.Store(lit, e)
		built := string([]byte(lit))
		for _, name := range []struct {
			kind, s string
		}{{"literal", lit}, {"built", built}} {
			b.Run(fmt.Sprintf("table/%d/%s", n, name.kind), func(b *testing.B) {
				ix := &index{base: tab}
				for b.Loop() {
					if ix.base.byAddr(name.s) == nil {
						if _, ok := ix.load(name.s); !ok {
							b.Fatal("miss")
						}
					}
				}
			})
			b.Run(fmt.Sprintf("map/%d/%s", n, name.kind), func(b *testing.B) {
				for b.Loop() {
					if _, ok := m[name.s]; !ok {
						b.Fatal("miss")
					}
				}
			})
			b.Run(fmt.Sprintf("syncmap/%d/%s", n, name.kind), func(b *testing.B) {
				for b.Loop() {
					if _, ok := sm.Load(name.s); !ok {
						b.Fatal("miss")
					}
				}
			})
		}
	}
}
