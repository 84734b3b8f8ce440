package errs_test

import (
	"regexp"
	"strings"
	"testing"
	"unicode"

	errs "github.com/wegomesh/wego/err"
)

// placeholder matches a {{.key}} action that Render should have filled.
var placeholder = regexp.MustCompile(`\{\{\s*\.[A-Za-z_][A-Za-z0-9_]*\s*\}\}`)

// ident matches every word that could be a key.
var ident = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*`)

func FuzzRender(f *testing.F) {
	for _, s := range []string{
		"", "plain", "SKU {{.sku}} is unknown", "{{ .a }}{{.b}}", "{{.a", "{{{.a}}}",
		"{{x {{.a}}", "{{.a.b}}", "{{.}}", "}}{{", "{{{{.a}}}}", "¿{{.ñ}}?", "{{\t.a\n}}",
	} {
		f.Add(s, "value")
	}
	f.Fuzz(func(t *testing.T, tmpl, value string) {
		// Values without braces or dots, starting with '-', so that a value
		// cannot form an action with the text around it: Render makes one
		// pass, and "{{." + "A" + "}}" would read as an action that was
		// never in the template.
		value = "-" + strings.Map(func(r rune) rune {
			if unicode.IsLetter(r) || unicode.IsDigit(r) || r == ' ' {
				return r
			}
			return -1
		}, value)
		var params []errs.Param
		for _, k := range ident.FindAllString(tmpl, -1) {
			params = append(params, errs.Param{Key: k, Value: value})
		}
		out := errs.Render(tmpl, params) // must not panic
		if loc := placeholder.FindStringIndex(out); loc != nil {
			t.Errorf("Render(%q) = %q: %q left unfilled though every key was given", tmpl, out, out[loc[0]:loc[1]])
		}
		if m := errs.MissingParams(tmpl, params); m != nil {
			t.Errorf("MissingParams(%q) = %q though every key was given", tmpl, m)
		}
		if !strings.Contains(tmpl, "{{") && out != tmpl {
			t.Errorf("Render(%q) = %q: text without actions changed", tmpl, out)
		}
		// No params: every placeholder renders as nothing, never as
		// text/template's "<no value>", and MissingParams names them all.
		bare := errs.Render(tmpl, nil)
		if strings.Contains(bare, "<no value>") && !strings.Contains(tmpl, "<no value>") {
			t.Errorf("Render(%q, nil) = %q", tmpl, bare)
		}
		if missing := errs.MissingParams(tmpl, nil); (missing == nil) != (bare == tmpl) {
			t.Errorf("Render(%q, nil) = %q but MissingParams = %q: they disagree on the placeholders", tmpl, bare, missing)
		}
	})
}
