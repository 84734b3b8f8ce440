package middleware_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/wegomesh/wego/config"
	"github.com/wegomesh/wego/middleware"
)

func TestPerCommandMatch(t *testing.T) {
	t.Parallel()
	m := middleware.PerCommand[int]{
		"inventory.reserve":  1, // lower-cased, as from a config file
		"inventory.*":        2,
		"billing.invoices.*": 3,
		"billing.*":          4,
		"*":                  5,
		"not a pattern":      6,
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
		if got, ok := m.Match(tt.name); !ok || got != tt.want {
			t.Errorf("Match(%q) = %d, %v; want %d", tt.name, got, ok, tt.want)
		}
	}
	if _, ok := (middleware.PerCommand[int]{"a.*": 1}).Match("b.C"); ok {
		t.Error("no match must report false")
	}
	if _, ok := middleware.PerCommand[int](nil).Match("b.C"); ok {
		t.Error("a nil map must report false")
	}
}

// Matching yields every entry that selects the name, least specific first,
// so that an entry for a service inherits from the entry of the service
// above it.
func TestPerCommandMatching(t *testing.T) {
	t.Parallel()
	m := middleware.PerCommand[string]{
		"billing.invoices.create": "exact",
		"billing.invoices.*":      "invoices",
		"billing.*":               "billing",
		"*":                       "all",
		"orders.*":                "orders",
		"bad key":                 "bad",
	}
	for name, want := range map[string][]string{
		"billing.invoices.Create": {"all", "billing", "invoices", "exact"},
		"billing.invoices.Void":   {"all", "billing", "invoices"},
		"billing.Charge":          {"all", "billing"},
		"orders.Place":            {"all", "orders"},
		"users.Get":               {"all"},
	} {
		if got := slices.Collect(m.Matching(name)); !slices.Equal(got, want) {
			t.Errorf("Matching(%q) = %v, want %v", name, got, want)
		}
	}
	for range m.Matching("billing.invoices.Create") {
		break // stopping early must not panic
	}
	if got := slices.Collect(middleware.PerCommand[int](nil).Matching("a.B")); len(got) != 0 {
		t.Errorf("a nil map yields %v", got)
	}
}

func TestPerCommandValidate(t *testing.T) {
	t.Parallel()
	positive := func(v int) error {
		if v < 0 {
			return config.Errorf("n", "must not be negative, got %d", v)
		}
		return nil
	}
	tests := []struct {
		m       middleware.PerCommand[int]
		wantKey string // "" for valid
	}{
		{middleware.PerCommand[int]{"*": 1, "a.B": 2, "a.*": 3, "a.b.*": 4}, ""},
		{nil, ""},
		{middleware.PerCommand[int]{"a.B": 1, "inventory": 1}, `["inventory"]`},
		{middleware.PerCommand[int]{"a..B": 1}, `["a..B"]`},
		{middleware.PerCommand[int]{"": 1}, `[""]`},
		{middleware.PerCommand[int]{"a.B": -1, "b.*": -1}, `["a.B"].n`}, // the first key in order
	}
	for _, tt := range tests {
		err := config.Under("commands", tt.m.Validate(positive))
		if tt.wantKey == "" {
			if err != nil {
				t.Errorf("%v: %v", tt.m, err)
			}
			continue
		}
		var ce *config.Error
		if !errors.As(err, &ce) || ce.Key != "commands"+tt.wantKey {
			t.Errorf("%v: %v, want a *config.Error for commands%s", tt.m, err, tt.wantKey)
		}
	}
	// Without a check only the keys are checked.
	if err := (middleware.PerCommand[int]{"a.B": -1}).Validate(nil); err != nil {
		t.Errorf("Validate(nil): %v", err)
	}
	// An error that is not a *config.Error names the entry.
	err := middleware.PerCommand[int]{"a.B": 1}.Validate(func(int) error { return errors.New("no") })
	var ce *config.Error
	if !errors.As(err, &ce) || ce.Key != `["a.B"]` || err.Error() != `config: ["a.B"]: no` {
		t.Errorf("a plain error: %v", err)
	}
}
