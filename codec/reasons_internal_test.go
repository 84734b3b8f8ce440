package codec

import (
	"os"
	"strings"
	"testing"

	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/i18n"
)

// Every reason of the package has a message in the framework's locale
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
		if !strings.HasPrefix(r.Key, "codec.") {
			t.Errorf("key %s: want the prefix codec.", r.Key)
		}
		fv := r.At("f", "offset", "7")
		en, err := b.LocalizeID(r.Key, withField(fv), "en")
		if err != nil {
			t.Errorf("%s: %v", r.Key, err)
			continue
		}
		if want := "f " + errs.Render(r.Text, []errs.Param{errs.P("offset", "7")}); en != want {
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

// Every message of the package's locale files is a reason of the package:
// none is left behind when a reason goes.
func TestLocaleFilesHoldOnlyReasons(t *testing.T) {
	t.Parallel()
	keys := map[string]bool{}
	for _, r := range allReasons {
		keys[r.Key] = true
	}
	for _, name := range []string{"../i18n/locales/codec.en.toml", "../i18n/locales/codec.es.toml"} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for line := range strings.Lines(string(b)) {
			if !strings.HasPrefix(line, `"`) {
				continue
			}
			key, _, _ := strings.Cut(line[1:], `"`)
			n++
			if !keys[key] {
				t.Errorf("%s: %s is no reason of package codec", name, key)
			}
		}
		if n != len(allReasons) {
			t.Errorf("%s has %d messages, the package %d reasons", name, n, len(allReasons))
		}
	}
}
