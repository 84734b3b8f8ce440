package idempotency_test

import (
	"testing"

	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/i18n"
	"github.com/wegomesh/wego/middleware/idempotency"
)

// The framework's bundle has the middleware's messages in English, equal
// to the codes' default messages, and in Spanish.
func TestMessages(t *testing.T) {
	t.Parallel()
	b := i18n.Default()
	for _, d := range []*errs.Def{idempotency.ErrInvalidKey, idempotency.ErrKeyReused, idempotency.ErrUnavailable} {
		e := d.New()
		if got := b.Localize(e, "en"); got != d.Message() {
			t.Errorf("%s in English: %q, want the default message %q", d.Code(), got, d.Message())
		}
		es := b.Localize(e, "es")
		if es == "" || es == d.Message() {
			t.Errorf("%s in Spanish: %q", d.Code(), es)
		}
	}
	if got := b.Localize(idempotency.ErrKeyReused.New(), "es-MX"); got != "La clave de idempotencia ya se usó para otra solicitud." {
		t.Errorf("key_reused in es-MX: %q", got)
	}
	for _, m := range b.Missing() {
		if len(m.Code) > 12 && m.Code[:12] == "idempotency." {
			t.Errorf("missing %v", m)
		}
	}
}
