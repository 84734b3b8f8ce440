package lock_test

import (
	"strings"
	"testing"

	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/i18n"
	"github.com/wegomesh/wego/lock"
)

// The framework's bundle has every lock message in English, equal to the
// code's default message, and in Spanish.
func TestMessages(t *testing.T) {
	t.Parallel()
	b := i18n.Default()
	for _, d := range []*errs.Def{lock.ErrHeld, lock.ErrLost} {
		e := d.New(errs.P("name", "invoices"))
		if got := b.Localize(e, "en"); got != e.Message() {
			t.Errorf("%s in English: %q, want the default message %q", d.Code(), got, e.Message())
		}
		es := b.Localize(e, "es")
		if es == "" || es == e.Message() || strings.Contains(es, "{{") {
			t.Errorf("%s in Spanish: %q", d.Code(), es)
		}
	}
	for _, m := range b.Missing() {
		if strings.HasPrefix(m.Code, "lock.") {
			t.Errorf("missing %v", m)
		}
	}
	if got := b.Localize(lock.ErrHeld.New(errs.P("name", "invoices")), "es"); got != "El bloqueo invoices lo tiene otro." {
		t.Errorf("held in Spanish: %q", got)
	}
}
