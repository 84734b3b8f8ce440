package store_test

import (
	"strings"
	"testing"

	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/i18n"
	"github.com/wegomesh/wego/store"
)

// The framework's bundle has every store message in English, equal to the
// code's default message, and in Spanish.
func TestMessages(t *testing.T) {
	t.Parallel()
	b := i18n.Default()
	defs := []*errs.Def{store.ErrNotFound, store.ErrConflict, store.ErrFenced, store.ErrInvalid,
		store.ErrUnavailable, store.ErrUnsupported, store.ErrClosed, store.ErrUndecodable}
	for _, d := range defs {
		e := d.New(errs.P("key", "orders/42"), errs.P("field", "key"), errs.P("reason", "is empty"))
		if got := b.Localize(e, "en"); got != e.Message() {
			t.Errorf("%s in English: %q, want the default message %q", d.Code(), got, e.Message())
		}
		es := b.Localize(e, "es")
		if es == "" || es == e.Message() || strings.Contains(es, "{{") {
			t.Errorf("%s in Spanish: %q", d.Code(), es)
		}
	}
	for _, m := range b.Missing() {
		if strings.HasPrefix(m.Code, "store.") {
			t.Errorf("missing %v", m)
		}
	}
	if got := b.Localize(store.ErrNotFound.New(errs.P("key", "a/b")), "es"); got != "El registro a/b no existe." {
		t.Errorf("not_found in Spanish: %q", got)
	}
}
