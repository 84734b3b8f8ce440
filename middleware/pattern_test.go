package middleware_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/wegomesh/wego/middleware"
)

func TestParsePattern(t *testing.T) {
	t.Parallel()
	valid := []string{"*", "a.B", "a.*", "a.b.*", "billing.invoices.Create", "x-1_y.Op-2"}
	invalid := []string{"", ".", ".*", "*.*", "a", "a.", ".a", "a..B", "a b.C", "a.*.B", "a.B*", "**", "a.b.*.*", "é.B",
		"a." + string(make([]byte, 129))}
	for _, s := range valid {
		p, err := middleware.ParsePattern(s)
		if err != nil || p.String() != s {
			t.Errorf("ParsePattern(%q) = %q, %v", s, p, err)
		}
	}
	for _, s := range invalid {
		if p, err := middleware.ParsePattern(s); !errors.Is(err, middleware.ErrInvalidPattern) {
			t.Errorf("ParsePattern(%q) = %q, %v; want ErrInvalidPattern", s, p, err)
		}
	}
	if (middleware.Pattern{}).Match("a.B") {
		t.Error("the zero Pattern must match nothing")
	}
}

// Overlapping patterns: every name gets the most specific match, whatever
// the order the patterns come in.
func TestMostSpecific(t *testing.T) {
	t.Parallel()
	texts := []string{"*", "billing.*", "billing.invoices.*", "billing.invoices.Create", "BILLING.Charge", "inventory.*", "inventory.Reserve"}
	tests := []struct{ name, want string }{
		{"billing.invoices.Create", "billing.invoices.Create"},
		{"billing.invoices.create", "billing.invoices.Create"}, // case-insensitive
		{"billing.invoices.Void", "billing.invoices.*"},
		{"billing.invoices.sub.Op", "billing.invoices.*"},
		{"billing.Charge", "BILLING.Charge"},
		{"billing.Refund", "billing.*"},
		{"billingx.Refund", "*"},
		{"billing.invoicesx.Op", "billing.*"},
		{"inventory.Reserve", "inventory.Reserve"},
		{"inventory.Stock", "inventory.*"},
		{"orders.Place", "*"},
	}
	// Every rotation of the list, so that order cannot decide.
	for r := range texts {
		ps := make([]middleware.Pattern, len(texts))
		for i := range texts {
			ps[i] = middleware.MustParsePattern(texts[(i+r)%len(texts)])
		}
		for _, tt := range tests {
			i := middleware.MostSpecific(ps, tt.name)
			if i < 0 || ps[i].String() != tt.want {
				got := "none"
				if i >= 0 {
					got = ps[i].String()
				}
				t.Errorf("rotation %d: MostSpecific(%q) = %s, want %s", r, tt.name, got, tt.want)
			}
		}
	}
	if i := middleware.MostSpecific([]middleware.Pattern{middleware.MustParsePattern("a.*")}, "b.C"); i != -1 {
		t.Errorf("no match = %d, want -1", i)
	}
}

func TestPatternEqual(t *testing.T) {
	t.Parallel()
	a, b := middleware.MustParsePattern("Billing.*"), middleware.MustParsePattern("billing.*")
	if !a.Equal(b) || a.Equal(middleware.MustParsePattern("billing.X")) {
		t.Error("Equal must ignore case and nothing else")
	}
}

func FuzzPattern(f *testing.F) {
	for _, s := range []string{"*", "a.B", "a.*", "a.b.*", "a..B", ".*"} {
		f.Add(s, "a.b.C")
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		p, err := middleware.ParsePattern(pattern)
		if err != nil {
			if p.Match(name) {
				t.Fatalf("a failed parse matched %q", name)
			}
			return
		}
		if p.Match(name) && p.Specificity() <= 0 {
			t.Fatalf("%q matches %q with specificity %d", pattern, name, p.Specificity())
		}
		if q, err := middleware.ParsePattern(p.String()); err != nil || !q.Equal(p) {
			t.Fatalf("round trip of %q: %v", pattern, err)
		}
	})
}

func ExampleMostSpecific() {
	var ps []middleware.Pattern
	for _, s := range []string{"*", "billing.*", "billing.invoices.*"} {
		ps = append(ps, middleware.MustParsePattern(s))
	}
	for _, name := range []string{"billing.invoices.Create", "billing.Charge", "orders.Place"} {
		fmt.Println(name, "→", ps[middleware.MostSpecific(ps, name)])
	}
	// Output:
	// billing.invoices.Create → billing.invoices.*
	// billing.Charge → billing.*
	// orders.Place → *
}
