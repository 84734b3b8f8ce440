package catalog

import (
	"context"
	"errors"
	"fmt"
	"strings"
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

// byAddr finds a command by the address of its name only when the caller
// passes the registration's own string; any other string with the same
// text misses it and is found by content, and a string that shares the
// address but not the length is a different name.
func TestByAddr(t *testing.T) {
	t.Parallel()
	c := New()
	const long, short = "addr.Longer", "addr.Long"
	for _, n := range []string{long, short} {
		if _, err := RegisterIn(c, n, func(_ context.Context, r int) (int, error) { return r + len(n), nil }); err != nil {
			t.Fatal(err)
		}
	}
	ix := c.idx.Load().base
	if e := ix.byAddr(long); e == nil || e.Spec().Name != long {
		t.Fatalf("byAddr(%q) = %v, want the command: the literal is the registration's string", long, e)
	}
	built := strings.Clone(long)
	if e := ix.byAddr(built); e != nil {
		t.Fatalf("byAddr of a copy found %q, want a miss", e.Spec().Name)
	}
	prefix := long[:len(short)] // same address as long, the text of short
	if e := ix.byAddr(prefix); e != nil {
		t.Fatalf("byAddr(%q) found %q, want a miss", prefix, e.Spec().Name)
	}
	for _, tc := range []struct {
		name string
		want int
	}{{long, 1 + len(long)}, {built, 1 + len(long)}, {short, 1 + len(short)}, {prefix, 1 + len(short)}} {
		var resp int
		if err := c.Call(context.Background(), tc.name, 1, &resp); err != nil || resp != tc.want {
			t.Errorf("Call(%q) = %d, %v; want %d", tc.name, resp, err, tc.want)
		}
	}
	var resp int
	if err := c.Call(context.Background(), long[:5], 1, &resp); !errors.Is(err, ErrUnknownCommand) {
		t.Errorf("Call(%q) error = %v, want ErrUnknownCommand", long[:5], err)
	}
}
