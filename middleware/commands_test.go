package middleware_test

import (
	"testing"

	"github.com/wegomesh/wego/middleware"
)

func TestForCommand(t *testing.T) {
	t.Parallel()
	m := map[string]int{
		"inventory.reserve":  1, // lower-cased, as from a config file
		"inventory.*":        2,
		"billing.invoices.*": 3,
		"billing.*":          4,
		"*":                  5,
	}
	tests := []struct {
		name string
		want int
	}{
		{"inventory.Reserve", 1},
		{"inventory.Stock", 2},
		{"billing.invoices.Create", 3},
		{"billing.Charge", 4},
		{"orders.Place", 5},
		{"inventoryx.Stock", 5},
	}
	for _, tt := range tests {
		if got, ok := middleware.ForCommand(m, tt.name); !ok || got != tt.want {
			t.Errorf("ForCommand(%q) = %d, %v; want %d", tt.name, got, ok, tt.want)
		}
	}
	if _, ok := middleware.ForCommand(map[string]int{"a.*": 1}, "b.C"); ok {
		t.Error("no match must report false")
	}
	if _, ok := middleware.ForCommand[int](nil, "b.C"); ok {
		t.Error("nil map must report false")
	}
	for key, want := range map[string]bool{"*": true, "a.B": true, "a.*": true, "a.b.*": true, "": false, ".*": false, "a..B": false, "a b.C": false, "inventory": false} {
		if got := middleware.ValidCommandPattern(key); got != want {
			t.Errorf("ValidCommandPattern(%q) = %v, want %v", key, got, want)
		}
	}
}
