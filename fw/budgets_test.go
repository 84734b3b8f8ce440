package fw_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/fw"
	"github.com/wegomesh/wego/middleware/timeout"
)

// TestBudgetChecks: New refuses a server chain without the deadline
// middleware when a local command runs to completion, and a shutdown
// timeout shorter than such a command's budget; it accepts the defaults,
// and ignores commands that run elsewhere.
func TestBudgetChecks(t *testing.T) {
	t.Parallel()
	newCat := func(t *testing.T) *catalog.Catalog {
		t.Helper()
		c := catalog.New()
		if _, err := catalog.RegisterIn(c, "orders.Place", func(context.Context, string) (string, error) { return "", nil },
			catalog.With(timeout.RunToCompletion(10*time.Second))); err != nil {
			t.Fatal(err)
		}
		if _, err := catalog.RegisterIn(c, "orders.Get", func(context.Context, string) (string, error) { return "", nil }); err != nil {
			t.Fatal(err)
		}
		if _, err := catalog.DeclareIn[string, string](c, "inventory.Reserve", catalog.With(timeout.RunToCompletion(time.Hour))); err != nil {
			t.Fatal(err)
		}
		return c
	}
	tests := []struct{ name, yaml, want string }{
		{"defaults", "app: {name: x}\n", ""},
		{"chain without deadline", "middleware:\n  server: [recovery, logging]\n",
			"commands orders.Place run to completion (timeout.RunToCompletion) but the server chain has no deadline middleware"},
		{"turned off by configuration", "middleware:\n  server: [recovery, logging]\n  deadline:\n    commands:\n      orders.Place: {run_to_completion: false}\n", ""},
		{"turned on by configuration", "middleware:\n  server: [recovery]\n  deadline:\n    commands:\n      orders.*: {run_to_completion: true}\n",
			"commands orders.Get, orders.Place run to completion"},
		{"shutdown shorter than a budget", "app: {shutdown_timeout: 5s}\n",
			"5s is shorter than the budget of commands that run to completion, which a graceful stop would cut: orders.Place (10s)"},
		{"budget from configuration", "middleware:\n  deadline:\n    commands:\n      orders.Place: {budget: 20s}\n",
			"orders.Place (20s)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := appWithConfig(t, newCat(t), tt.yaml)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("New = %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("New = %v, want an error with %q", err, tt.want)
			case tt.want != "" && (!strings.Contains(err.Error(), "dev.yaml") ||
				!strings.Contains(err.Error(), "middleware.server") && !strings.Contains(err.Error(), "app.shutdown_timeout")):
				t.Fatalf("error %q must name the key and the file", err)
			}
		})
	}
	// Chains set in code are the program's business.
	if _, err := appWithConfig(t, newCat(t), "app: {name: x}\n", fw.Chains(nil, nil)); err != nil {
		t.Fatalf("New with the Chains option = %v", err)
	}
}
