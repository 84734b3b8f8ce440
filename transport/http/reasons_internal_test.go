package httptransport

import (
	"strings"
	"testing"

	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/i18n"
)

// Every reason of the transport has a message in the framework's locale
// files, in English and Spanish; the English message is the field followed
// by the reason's English text, so that the Reason of a violation and its
// localized text say the same.
func TestReasonsHaveMessages(t *testing.T) {
	t.Parallel()
	b := i18n.Default()
	keys := map[string]bool{}
	for _, r := range allReasons {
		if keys[r.Key] {
			t.Errorf("key %s used twice", r.Key)
		}
		keys[r.Key] = true
		fv := r.At("f", "offset", "7", "method", "GET")
		en, err := b.LocalizeID(r.Key, withField(fv), "en")
		if err != nil {
			t.Errorf("%s: %v", r.Key, err)
			continue
		}
		if want := "f " + errs.Render(r.Text, []errs.Param{errs.P("offset", "7"), errs.P("method", "GET")}); en != want {
			t.Errorf("%s: English message %q, reason gives %q", r.Key, en, want)
		}
		es, err := b.LocalizeID(r.Key, withField(fv), "es")
		if err != nil || es == en || !strings.HasPrefix(es, "f ") || strings.Contains(es, "<no value>") {
			t.Errorf("%s: Spanish message %q, %v", r.Key, es, err)
		}
	}
}

func withField(fv errs.FieldViolation) map[string]string {
	m := map[string]string{"field": fv.Field}
	for k, v := range fv.Params {
		m[k] = v
	}
	return m
}
