package checktest

import (
	"testing"

	_ "github.com/wegomesh/wego/auth"    // the auth.* codes
	_ "github.com/wegomesh/wego/catalog" // the wego.* codes
	errs "github.com/wegomesh/wego/err"
	_ "github.com/wegomesh/wego/fw" // every built-in middleware's codes
	"github.com/wegomesh/wego/i18n"
	_ "github.com/wegomesh/wego/transport/http" // the http.* and transport.* codes
)

// Every code the framework defines has a message in every shipped
// language, and the English text is the definition's default message.
func TestFrameworkMessagesAreComplete(t *testing.T) {
	t.Parallel()
	b, err := i18n.New()
	if err != nil {
		t.Fatal(err)
	}
	// Check covers the languages an application ships, the default one
	// among them: make each framework language the default in turn.
	for _, tag := range b.Languages() {
		lb, err := i18n.New(i18n.DefaultLanguage(tag))
		if err != nil {
			t.Fatal(err)
		}
		if err := lb.Check(); err != nil {
			t.Errorf("%s: %v", tag, err)
		}
	}
	if len(b.Languages()) < 2 {
		t.Errorf("framework languages = %v, want English and Spanish at least", b.Languages())
	}
	for _, d := range errs.Defs() {
		got, err := b.LocalizeID(d.Code(), nil, "en")
		if err != nil {
			t.Errorf("%s: %v", d.Code(), err)
			continue
		}
		if want := errs.Render(d.Message(), nil); got != want {
			t.Errorf("%s: English message %q differs from the definition's %q", d.Code(), got, want)
		}
	}
}
