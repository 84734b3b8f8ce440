package catalog

import (
	"fmt"
	"testing"
)

// The hash spreads look-alike names: in a table of 10,000 names that
// differ only in their middle, no lookup probes more than a few slots.
func TestTableProbesStayShort(t *testing.T) {
	t.Parallel()
	names := make([]string, 0, 10000)
	for s := range 100 {
		for o := range 100 {
			names = append(names, fmt.Sprintf("inventory%03d.Operation%02d", s, o))
		}
	}
	tab := newTable(len(names))
	for _, n := range names {
		tab.put(n, (*Command[int, int])(nil))
	}
	longest := 0
	for _, n := range names {
		i := hashName(n) & tab.mask
		probes := 1
		for tab.slots[i].name != n {
			i = (i + 1) & tab.mask
			probes++
		}
		longest = max(longest, probes)
	}
	if longest > 16 {
		t.Fatalf("longest probe sequence %d slots, want a few", longest)
	}
	t.Logf("longest probe sequence: %d slots", longest)
}
