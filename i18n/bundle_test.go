package i18n_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"

	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/i18n"
)

// Codes defined by this test binary, as an application's packages would.
var (
	errUnknownSKU  = errs.Define("i18n_test.unknown_sku", errs.KindNotFound, "SKU {{.sku}} is unknown.")
	errOnlyEnglish = errs.Define("i18n_test.only_english", errs.KindConflict, "Only in English.")
	// errUntranslated has no message in any file.
	errUntranslated = errs.Define("i18n_test.untranslated", errs.KindInternal, "Not translated.")
)

// appFiles are an application's message files, in every supported format.
var appFiles = fstest.MapFS{
	"locales/en.toml": {Data: []byte(`
"i18n_test.unknown_sku" = "SKU {{.sku}} is unknown."
[i18n_test]
only_english = "Only in English."
`)},
	"locales/active.es.json": {Data: []byte(`{
  "i18n_test": {
    "unknown_sku": {"description": "A SKU that the catalog does not have.", "other": "El SKU {{.sku}} no existe."}
  }
}`)},
	"locales/es-MX.yaml": {Data: []byte(`
i18n_test.unknown_sku: "No tenemos el SKU {{.sku}}."
not_found: "No encontramos lo que buscaba."
`)},
}

// completeMessages supplies what appFiles lack, so that Check passes.
func completeMessages() []i18n.Option {
	return []i18n.Option{
		i18n.Messages(language.Spanish, map[string]string{
			errOnlyEnglish.Code():  "Solo en inglés.",
			errUntranslated.Code(): "Sin traducir.",
		}),
		i18n.Messages(language.English, map[string]string{errUntranslated.Code(): "Not translated."}),
		i18n.Files(shopLocales, "locales/*.toml"), // the example's code
	}
}

func newBundle(t testing.TB, opts ...i18n.Option) *i18n.Bundle {
	t.Helper()
	b, err := i18n.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// frameworkCodes are the codes that package errs itself defines.
func frameworkCodes() []*errs.Def {
	var defs []*errs.Def
	for _, d := range errs.Defs() {
		if _, ok := errs.KindFromCode(d.Code()); ok || d.Code() == "invalid_argument.fields" {
			defs = append(defs, d)
		}
	}
	return defs
}

func TestFrameworkMessages(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	if got := b.Languages(); !slices.Equal(got, []language.Tag{language.English, language.Spanish}) {
		t.Fatalf("Languages() = %v", got)
	}
	defs := frameworkCodes()
	if len(defs) != len(errs.Kinds())+1 {
		t.Fatalf("%d framework codes, want %d", len(defs), len(errs.Kinds())+1)
	}
	params := map[string]string{"fields": "qty must be at least 1"}
	var spanish strings.Builder
	for _, d := range defs {
		en, err := b.LocalizeID(d.Code(), params, "en")
		if err != nil {
			t.Errorf("%s: %v", d.Code(), err)
		}
		want := errs.Render(d.Message(), []errs.Param{{Key: "fields", Value: params["fields"]}})
		if en != want {
			t.Errorf("%s: English %q differs from the Def's message %q", d.Code(), en, want)
		}
		es, err := b.LocalizeID(d.Code(), params, "es")
		if err != nil || es == "" || es == en {
			t.Errorf("%s: Spanish %q, %v", d.Code(), es, err)
		}
		spanish.WriteString(es)
	}
	for _, accented := range []string{"válida", "autenticación", "está", "inténtelo", "canceló"} {
		if !strings.Contains(spanish.String(), accented) {
			t.Errorf("Spanish messages lack %q: %s", accented, spanish.String())
		}
	}
	// Only this test binary's codes are missing from the framework bundle.
	for _, m := range b.Missing() {
		if !strings.HasPrefix(m.Code, "i18n_test.") && !strings.HasPrefix(m.Code, "shop.") {
			t.Errorf("framework bundle misses %v", m)
		}
	}
	e := errs.InvalidArgument(errs.Field("qty", "must be at least 1"))
	if got := b.Localize(e, "es"); got != "Solicitud no válida: qty must be at least 1." {
		t.Errorf("invalid fields in Spanish: %q", got)
	}
	if got := b.Localize(e); got != e.Message() {
		t.Errorf("invalid fields in English: %q, want %q", got, e.Message())
	}
}

func TestDefault(t *testing.T) {
	t.Parallel()
	b := i18n.Default()
	if b != i18n.Default() {
		t.Error("Default() returned two bundles")
	}
	if got := b.Localize(errs.NotFound(), "es"); got != "No se encontró el recurso solicitado." {
		t.Errorf("Default().Localize = %q", got)
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	b := newBundle(t, append([]i18n.Option{i18n.Files(appFiles, "locales/*")}, completeMessages()...)...)
	if err := b.Check(); err != nil {
		t.Errorf("Check() = %v", err)
	}
	if m := b.Missing(); len(m) != 0 {
		t.Errorf("Missing() = %v", m)
	}
}

func TestCheckReportsMissing(t *testing.T) {
	t.Parallel()
	b := newBundle(t, i18n.Files(appFiles, "locales/*"), i18n.Files(shopLocales, "locales/*.toml"))
	want := []i18n.MissingMessage{
		// errUntranslated lacks nothing in English: its definition's text
		// is its English message.
		{Code: errOnlyEnglish.Code(), Language: language.Spanish},
		{Code: errUntranslated.Code(), Language: language.Spanish},
		// es-MX relies on es for the codes es has; it lacks what es lacks.
		{Code: errOnlyEnglish.Code(), Language: language.MustParse("es-MX")},
		{Code: errUntranslated.Code(), Language: language.MustParse("es-MX")},
	}
	got := b.Missing()
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("Missing() lacks %v: %v", w, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("Missing() = %v, want %v", got, want)
	}
	err := b.Check()
	if err == nil {
		t.Fatal("Check() = nil")
	}
	for _, s := range []string{"i18n_test.untranslated: es es-MX", "i18n_test.only_english: es es-MX"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("Check() = %q, want it to contain %q", err, s)
		}
	}
	if strings.Contains(err.Error(), errUnknownSKU.Code()) {
		t.Errorf("Check() names a translated code: %v", err)
	}
}

// The languages an application ships are the default one and those it adds
// messages in; the English text of a definition is its English message.
// A program with codes and no message files (the README's quick start)
// misses nothing.
func TestMissingCountsWhatTheApplicationShips(t *testing.T) {
	t.Parallel()
	codes := func(m []i18n.MissingMessage) []string {
		var out []string
		for _, x := range m {
			if strings.HasPrefix(x.Code, "i18n_test.") {
				out = append(out, x.String())
			}
		}
		return out
	}
	tests := []struct {
		name string
		opts []i18n.Option
		want []string
	}{
		{"no files", nil, nil},
		{"a British file", []i18n.Option{i18n.Messages(language.BritishEnglish, map[string]string{errUnknownSKU.Code(): "SKU {{.sku}} is unknown."})},
			nil},
		{"a Spanish file", []i18n.Option{i18n.Messages(language.Spanish, map[string]string{errUnknownSKU.Code(): "El SKU {{.sku}} no existe."})},
			[]string{"i18n_test.only_english (es)", "i18n_test.untranslated (es)"}},
		{"Spanish by default", []i18n.Option{i18n.DefaultLanguage(language.Spanish)},
			[]string{"i18n_test.only_english (es)", "i18n_test.unknown_sku (es)", "i18n_test.untranslated (es)"}},
	}
	for _, tt := range tests {
		b := newBundle(t, tt.opts...)
		if got := codes(b.Missing()); !slices.Equal(got, tt.want) {
			t.Errorf("%s: Missing() = %v, want %v", tt.name, got, tt.want)
		}
	}
	// The framework's own codes have messages in every framework language.
	b := newBundle(t, i18n.DefaultLanguage(language.Spanish))
	for _, m := range b.Missing() {
		if !strings.HasPrefix(m.Code, "i18n_test.") && !strings.HasPrefix(m.Code, "shop.") {
			t.Errorf("framework code without a Spanish message: %v", m)
		}
	}
}

func TestAcceptLanguage(t *testing.T) {
	t.Parallel()
	const (
		en = "The requested resource was not found."
		es = "No se encontró el recurso solicitado."
	)
	b := newBundle(t)
	tests := []struct {
		name   string
		accept []string
		want   string
	}{
		{"none", nil, en},
		{"empty", []string{""}, en},
		{"several empty", []string{"", ""}, en},
		{"regional before language", []string{"es-MX,es;q=0.9,en;q=0.8"}, es},
		{"unsupported first", []string{"fr, en;q=0.5"}, en},
		{"unsupported then spanish", []string{"fr;q=0.9, es;q=0.8, en;q=0.1"}, es},
		{"q-order, not text order", []string{"en;q=0.1, es"}, es},
		{"q zero is refused", []string{"es;q=0, en;q=0.2"}, en},
		{"case", []string{"ES"}, es},
		{"region only in header", []string{"es-AR"}, es},
		{"underscore", []string{"es_ES"}, es},
		{"wildcard", []string{"*"}, en},
		{"unsupported only", []string{"de-DE, fr;q=0.9"}, en},
		{"garbage", []string{"!!!@@@###"}, en},
		{"garbage q", []string{"es;q=abc"}, en},
		{"binary", []string{"\x00\xff\xfe"}, en},
		{"several values in q-order", []string{"en;q=0.2", "es;q=0.9"}, es},
		{"several values, first wins on ties", []string{"es", "en"}, es},
		// One bad entry does not spoil the others: it is skipped.
		{"one unknown tag", []string{"es, zz"}, es},
		{"unknown tag first", []string{"zz, es;q=0.5"}, es},
		{"malformed entry", []string{"x-!, es"}, es},
		{"bad weight skipped", []string{"es-MX;q=abc, es;q=0.3"}, es},
		{"unknown in another value", []string{"zz", "es"}, es},
		// Over 1 KiB: the entries within the first KiB count.
		{"huge", []string{"es," + strings.Repeat("x-", 1000)}, es},
		{"long and valid", []string{"es-ES,es;q=0.9," + strings.Repeat("en-GB;q=0.1,", 100)}, es},
		{"wanted tag beyond the bound", []string{strings.Repeat("fr;q=0.9,", 120) + "es"}, en},
		{"one entry longer than the bound", []string{"es-" + strings.Repeat("x", 1100)}, en},
		{"entries beyond the sixteenth", []string{strings.Repeat("zz,", 16) + "es"}, en},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for range 2 { // the second call is served from the cache
				if got := b.Localize(errs.NotFound(), tt.accept...); got != tt.want {
					t.Errorf("Localize(%q) = %q, want %q", tt.accept, got, tt.want)
				}
			}
		})
	}
}

func TestDefaultLanguage(t *testing.T) {
	t.Parallel()
	b := newBundle(t, i18n.DefaultLanguage(language.Spanish))
	if got := b.Languages(); !slices.Equal(got, []language.Tag{language.Spanish, language.English}) {
		t.Errorf("Languages() = %v", got)
	}
	for _, accept := range []string{"", "fr", "garbage!!"} {
		if got := b.Localize(errs.NotFound(), accept); got != "No se encontró el recurso solicitado." {
			t.Errorf("Localize(%q) = %q, want Spanish", accept, got)
		}
	}
	if got := b.Localize(errs.NotFound(), "en-GB"); got != "The requested resource was not found." {
		t.Errorf("Localize(en-GB) = %q", got)
	}
	// A default language without messages: English texts stand in, and
	// Check says what is missing.
	de := newBundle(t, i18n.DefaultLanguage(language.German))
	if got := de.Localize(errs.NotFound(), "de"); got != errs.NotFound().Message() {
		t.Errorf("German default = %q", got)
	}
	if got := de.Localize(errs.NotFound(), "es"); got != "No se encontró el recurso solicitado." {
		t.Errorf("German default, Spanish header = %q", got)
	}
	if err := de.Check(); err == nil || !strings.Contains(err.Error(), "not_found: de") {
		t.Errorf("Check() = %v", err)
	}
}

func TestRegionalFallback(t *testing.T) {
	t.Parallel()
	b := newBundle(t, i18n.Files(appFiles, "locales/*"))
	e := errUnknownSKU.New(errs.P("sku", "A-1"))
	tests := []struct {
		accept string
		e      *errs.Error
		want   string
	}{
		{"es-MX", e, "No tenemos el SKU A-1."},
		{"es", e, "El SKU A-1 no existe."},
		{"es-ES", e, "El SKU A-1 no existe."},
		{"en", e, "SKU A-1 is unknown."},
		{"es-MX", errs.NotFound(), "No encontramos lo que buscaba."},
		// es-MX lacks "conflict": its parent es has it.
		{"es-MX", errs.Conflict(), "La solicitud entra en conflicto con el estado actual."},
		// Nobody has it in Spanish: the default language.
		{"es-MX", errOnlyEnglish.New(), "Only in English."},
		{"es", errOnlyEnglish.New(), "Only in English."},
		// Nobody has it at all: the error's own message.
		{"es", errUntranslated.New(), "Not translated."},
	}
	for _, tt := range tests {
		if got := b.Localize(tt.e, tt.accept); got != tt.want {
			t.Errorf("Localize(%s, %q) = %q, want %q", tt.e.Code(), tt.accept, got, tt.want)
		}
	}
	langs := b.Languages()
	if !slices.Equal(langs, []language.Tag{language.English, language.Spanish, language.MustParse("es-MX")}) {
		t.Errorf("Languages() = %v", langs)
	}
}

func TestParams(t *testing.T) {
	t.Parallel()
	b := newBundle(t, i18n.Files(appFiles, "locales/*"), i18n.Messages(language.Spanish, map[string]string{
		"i18n_test.greeting": "Hola, {{.name}}. Tiene {{.count}} pedidos.",
	}))
	if got := b.Localize(errUnknownSKU.New(errs.P("sku", "ÑU-7")), "es"); got != "El SKU ÑU-7 no existe." {
		t.Errorf("Localize = %q", got)
	}
	// A missing parameter renders as nothing, as errs.Render renders it.
	if got := b.Localize(errUnknownSKU.New(), "es"); got != "El SKU  no existe." {
		t.Errorf("Localize without params = %q", got)
	}
	got, err := b.LocalizeID("i18n_test.greeting", map[string]string{"name": "Ana", "count": "2"}, "es")
	if err != nil || got != "Hola, Ana. Tiene 2 pedidos." {
		t.Errorf("LocalizeID = %q, %v", got, err)
	}
	// Not in English: the default language lacks it too, so an error.
	if got, err := b.LocalizeID("i18n_test.greeting", nil, "en"); !errors.Is(err, i18n.ErrMissingMessage) || got != "" {
		t.Errorf("LocalizeID in English = %q, %v", got, err)
	}
	if _, err := b.LocalizeID("i18n_test.nothing", nil); !errors.Is(err, i18n.ErrMissingMessage) ||
		!strings.Contains(err.Error(), "i18n_test.nothing") {
		t.Errorf("LocalizeID of an unknown ID: %v", err)
	}
	// Template values are not HTML-escaped nor evaluated.
	if got := b.Localize(errUnknownSKU.New(errs.P("sku", "<b>{{.x}}</b>")), "es"); got != "El SKU <b>{{.x}}</b> no existe." {
		t.Errorf("Localize with markup in a value = %q", got)
	}
}

func TestFileFormats(t *testing.T) {
	t.Parallel()
	const want = "El SKU A no existe."
	tests := []struct {
		name, file, data string
	}{
		{"toml string", "es.toml", `"i18n_test.unknown_sku" = "El SKU {{.sku}} no existe."`},
		{"toml nested", "active.es.toml", "[i18n_test]\nunknown_sku = \"El SKU {{.sku}} no existe.\""},
		{"toml table", "es.toml", "[\"i18n_test.unknown_sku\"]\ndescription = \"d\"\nother = \"El SKU {{.sku}} no existe.\""},
		{"toml plural forms", "es.toml", "[\"i18n_test.unknown_sku\"]\none = \"uno\"\nother = \"El SKU {{.sku}} no existe.\""},
		{"json", "es.json", `{"i18n_test.unknown_sku": "El SKU {{.sku}} no existe."}`},
		{"json nested", "active.es.json", `{"i18n_test": {"unknown_sku": {"other": "El SKU {{.sku}} no existe."}}}`},
		{"yaml", "es.yaml", `i18n_test.unknown_sku: "El SKU {{.sku}} no existe."`},
		{"yml nested", "app.es.yml", "i18n_test:\n  unknown_sku:\n    other: El SKU {{.sku}} no existe.\n"},
		{"upper-case extension", "es.TOML", `"i18n_test.unknown_sku" = "El SKU {{.sku}} no existe."`},
		{"language case", "ES.toml", `"i18n_test.unknown_sku" = "El SKU {{.sku}} no existe."`},
		{"custom delimiters", "es.toml", "[\"i18n_test.unknown_sku\"]\nleftDelim = \"<<\"\nrightDelim = \">>\"\nother = \"El SKU <<.sku>> no existe.\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fsys := fstest.MapFS{tt.file: {Data: []byte(tt.data)}}
			b := newBundle(t, i18n.Files(fsys, "*"))
			if got := b.Localize(errUnknownSKU.New(errs.P("sku", "A")), "es"); got != want {
				t.Errorf("Localize = %q, want %q", got, want)
			}
		})
	}
}

func TestFilesErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		opt      i18n.Option
		contains []string
	}{
		{"invalid toml", i18n.Files(fstest.MapFS{"loc/es.toml": {Data: []byte("not_found = \"sin cerrar\n")}}, "loc/*"),
			[]string{"loc/es.toml"}},
		{"invalid json", i18n.Files(fstest.MapFS{"es.json": {Data: []byte(`{"not_found": `)}}),
			[]string{"es.json"}},
		{"invalid yaml", i18n.Files(fstest.MapFS{"es.yaml": {Data: []byte("not_found: [unclosed\n")}}),
			[]string{"es.yaml"}},
		{"single value", i18n.Files(fstest.MapFS{"es.json": {Data: []byte(`"just a string"`)}}),
			[]string{"es.json"}},
		{"non-string value", i18n.Files(fstest.MapFS{"es.toml": {Data: []byte("not_found = 5")}}),
			[]string{"es.toml"}},
		{"malformed template", i18n.Files(fstest.MapFS{"es.toml": {Data: []byte(`not_found = "No {{.sku"`)}}),
			[]string{"es.toml", `"not_found"`}},
		{"unknown function", i18n.Files(fstest.MapFS{"es.toml": {Data: []byte(`not_found = "{{ secret .sku }}"`)}}),
			[]string{"es.toml", `"not_found"`}},
		{"no language in name", i18n.Files(fstest.MapFS{"messages.toml": {Data: []byte(`not_found = "x"`)}}),
			[]string{"messages.toml", "language tag"}},
		{"unknown language", i18n.Files(fstest.MapFS{"active.zz.toml": {Data: []byte(`not_found = "x"`)}}),
			[]string{"active.zz.toml", `"zz"`}},
		{"und", i18n.Files(fstest.MapFS{"und.toml": {Data: []byte(`not_found = "x"`)}}),
			[]string{"und.toml"}},
		{"unknown extension", i18n.Files(fstest.MapFS{"es.ini": {Data: []byte(`not_found = "x"`)}}, "*.ini"),
			[]string{"es.ini", "format"}},
		{"no file matches", i18n.Files(fstest.MapFS{"es.toml": {}}, "locales/*.toml"),
			[]string{`"locales/*.toml"`}},
		{"no file at all", i18n.Files(fstest.MapFS{}), []string{"no message file"}},
		{"bad pattern", i18n.Files(fstest.MapFS{"es.toml": {}}, "[x"), []string{`"[x"`}},
		{"nil fs", i18n.Files(nil), []string{"nil"}},
		{"no other form", i18n.Files(fstest.MapFS{"es.toml": {Data: []byte("[not_found]\none = \"uno\"")}}),
			[]string{"es.toml", `"not_found"`, "other"}},
		{"messages und", i18n.Messages(language.Und, map[string]string{"a": "b"}), []string{"und"}},
		{"messages bad template", i18n.Messages(language.Spanish, map[string]string{"a.b": "{{if}}"}),
			[]string{"Messages(es)", `"a.b"`}},
		{"messages empty id", i18n.Messages(language.Spanish, map[string]string{"": "x"}), []string{"no ID"}},
		{"default und", i18n.DefaultLanguage(language.Und), []string{"und"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := i18n.New(tt.opt)
			if err == nil {
				t.Fatalf("New succeeded: %v", b.Languages())
			}
			for _, s := range tt.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
		})
	}
}

func TestEmptyMessagesAreIgnored(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{
		"es.toml":       {Data: []byte(`not_found = ""`)}, // would hide the framework's text
		"empty.fr.toml": {Data: nil},
	}
	b := newBundle(t, i18n.Files(fsys))
	if got := b.Localize(errs.NotFound(), "es"); got != "No se encontró el recurso solicitado." {
		t.Errorf("an empty message replaced the framework's: %q", got)
	}
	if !slices.Contains(b.Languages(), language.French) {
		t.Errorf("an empty file did not add its language: %v", b.Languages())
	}
	if err := b.Check(); err == nil || !strings.Contains(err.Error(), "not_found: fr") {
		t.Errorf("Check() = %v", err)
	}
}

func TestOverride(t *testing.T) {
	t.Parallel()
	b := newBundle(t,
		i18n.Messages(language.Spanish, map[string]string{"not_found": "No existe."}),
		i18n.Files(fstest.MapFS{"en.yaml": {Data: []byte("not_found: Nothing here.\n")}}),
	)
	if got := b.Localize(errs.NotFound(), "es"); got != "No existe." {
		t.Errorf("Spanish override = %q", got)
	}
	if got := b.Localize(errs.NotFound()); got != "Nothing here." {
		t.Errorf("English override = %q", got)
	}
	// Later options win.
	b = newBundle(t,
		i18n.Messages(language.Spanish, map[string]string{"not_found": "Primero."}),
		i18n.Messages(language.Spanish, map[string]string{"not_found": "Segundo."}),
	)
	if got := b.Localize(errs.NotFound(), "es"); got != "Segundo." {
		t.Errorf("second override = %q", got)
	}
}

func TestFallbackToMessage(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	// A code that only the peer knows: its message is the one received.
	remote := errs.Remote(409, "billing.card_declined", "La tarjeta fue rechazada.", nil, nil)
	if got := b.Localize(remote, "en"); got != "La tarjeta fue rechazada." {
		t.Errorf("unknown remote code = %q", got)
	}
	// A code this process knows is localized here again, from its params.
	remote = errs.Remote(404, "not_found", "Not found over there.", nil, nil)
	if got := b.Localize(remote, "es"); got != "No se encontró el recurso solicitado." {
		t.Errorf("known remote code = %q", got)
	}
	remote = errs.Remote(400, "invalid_argument", "Invalid request: qty must be at least 1.",
		[]errs.Param{{Key: "fields", Value: "qty must be at least 1"}}, []errs.FieldViolation{{Field: "qty", Reason: "must be at least 1"}})
	if got := b.Localize(remote, "es"); got != "Solicitud no válida: qty must be at least 1." {
		t.Errorf("remote invalid fields = %q", got)
	}
	// An application code without messages in this bundle.
	e := errUnknownSKU.New(errs.P("sku", "Q"))
	if got := b.Localize(e, "es"); got != "SKU Q is unknown." {
		t.Errorf("code without messages = %q", got)
	}
}

func TestNeverTheCause(t *testing.T) {
	t.Parallel()
	b := newBundle(t, i18n.Files(appFiles, "locales/*"))
	secret := errors.New("pq: password authentication failed for user shop at 10.0.0.7")
	for _, e := range []*errs.Error{
		errs.From(secret),
		errs.From(fmt.Errorf("load: %w", secret)),
		errUnknownSKU.Wrap(secret, errs.P("sku", "A")),
		errs.NotFound().WithCause(secret),
		errUntranslated.Wrap(secret),
		errs.Remote(500, "peer.code", "", nil, nil).WithCause(secret),
	} {
		for _, accept := range []string{"", "es", "es-MX", "fr"} {
			got := b.Localize(e, accept)
			if got == "" || strings.Contains(got, "password") || strings.Contains(got, "10.0.0.7") {
				t.Errorf("Localize(%s, %q) = %q", e.Code(), accept, got)
			}
		}
	}
}

func TestNilSafety(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	if got := b.Localize(nil, "es"); got != "" {
		t.Errorf("Localize(nil) = %q", got)
	}
	var nb *i18n.Bundle
	if got := nb.Localize(errs.NotFound(), "es"); got != errs.NotFound().Message() {
		t.Errorf("nil bundle Localize = %q", got)
	}
	if _, err := i18n.New(nil); err != nil {
		t.Errorf("New(nil option) = %v", err)
	}
}

func TestConcurrentLocalize(t *testing.T) {
	t.Parallel()
	b := newBundle(t, i18n.Files(appFiles, "locales/*"))
	headers := []string{"es", "en", "es-MX", "fr, en;q=0.5", "", "garbage!!"}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 600 {
				// Many distinct headers, to fill and reset the cache.
				h := fmt.Sprintf("%s, x-%d;q=0.1", headers[(g+i)%len(headers)], i)
				if got := b.Localize(errUnknownSKU.New(errs.P("sku", "A")), h); got == "" {
					t.Errorf("Localize(%q) = empty", h)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestLocalizeDoesNotAllocate(t *testing.T) {
	// Not parallel: AllocsPerRun counts the allocations of every goroutine.
	b := newBundle(t, i18n.Files(appFiles, "locales/*"))
	remote := errs.Remote(409, "peer.code", "Peer text.", nil, nil)
	for _, tt := range []struct {
		name   string
		e      *errs.Error
		accept []string
	}{
		{"no header", errs.NotFound(), nil},
		{"header", errs.NotFound(), []string{"es-MX,es;q=0.9,en;q=0.8"}},
		{"fallback", remote, []string{"es"}},
	} {
		b.Localize(tt.e, tt.accept...) // fill the cache
		if n := testing.AllocsPerRun(100, func() { b.Localize(tt.e, tt.accept...) }); n != 0 {
			t.Errorf("%s: Localize allocates %v times", tt.name, n)
		}
	}
}

func FuzzLocalize(f *testing.F) {
	for _, s := range []string{
		"", "es", "es-MX,es;q=0.9,en;q=0.8", "fr, en;q=0.5", "*", "es;q=0", "en;q=1.0001",
		"garbage", ";;;", ",,,", "es;q=", "x-" + strings.Repeat("a", 300), "zh-Hant-TW-u-nu-hanidec",
	} {
		f.Add(s)
	}
	b := newBundle(f, i18n.Files(appFiles, "locales/*"))
	want := map[string]bool{
		"El SKU A no existe.":  true,
		"No tenemos el SKU A.": true,
		"SKU A is unknown.":    true,
	}
	f.Fuzz(func(t *testing.T, accept string) {
		got := b.Localize(errUnknownSKU.New(errs.P("sku", "A")), accept)
		if !want[got] {
			t.Errorf("Localize(%q) = %q", accept, got)
		}
		got2 := b.Localize(errUnknownSKU.New(errs.P("sku", "A")), accept, accept)
		if !want[got2] {
			t.Errorf("Localize(%q, %q) = %q", accept, accept, got2)
		}
		if got3 := b.Localize(errUnknownSKU.New(errs.P("sku", "A")), accept); got3 != got {
			t.Errorf("Localize(%q) = %q, then %q (cache)", accept, got, got3)
		}
	})
}

func BenchmarkLocalize(b *testing.B) {
	bundle := newBundle(b, i18n.Files(appFiles, "locales/*"))
	withParam := errUnknownSKU.New(errs.P("sku", "A-1"))
	cases := []struct {
		name   string
		e      *errs.Error
		accept []string
	}{
		{"NoHeader", errs.NotFound(), nil},
		{"Header", errs.NotFound(), []string{"es-MX,es;q=0.9,en;q=0.8"}},
		{"HeaderParam", withParam, []string{"es-MX,es;q=0.9,en;q=0.8"}},
		{"TwoHeaders", errs.NotFound(), []string{"fr", "es;q=0.5"}},
		{"Fallback", errs.Remote(409, "peer.code", "Peer text.", nil, nil), []string{"es"}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = bundle.Localize(c.e, c.accept...)
			}
		})
	}
	// Every header new: the cost without the cache.
	headers := make([]string, 4096)
	for i := range headers {
		headers[i] = fmt.Sprintf("es-MX,es;q=0.9,x-%d;q=0.1", i)
	}
	b.Run("HeaderUncached", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			_ = bundle.Localize(errs.NotFound(), headers[i%len(headers)])
			i++
		}
	})
}

func TestLocalizer(t *testing.T) {
	t.Parallel()
	b := newBundle(t, i18n.Files(fstest.MapFS{"es.toml": {Data: []byte(`
[i18n_test.items]
one = "{{.PluralCount}} artículo"
other = "{{.PluralCount}} artículos"
`)}}))
	l := b.Localizer("es-ES")
	for n, want := range map[int]string{1: "1 artículo", 3: "3 artículos"} {
		got, err := l.Localize(&goi18n.LocalizeConfig{MessageID: "i18n_test.items", PluralCount: n})
		if err != nil || got != want {
			t.Errorf("plural %d = %q, %v; want %q", n, got, err, want)
		}
	}
	// Localize uses the "other" form.
	if got, _ := b.LocalizeID("i18n_test.items", map[string]string{"PluralCount": "5"}, "es"); got != "5 artículos" {
		t.Errorf("LocalizeID of a plural message = %q", got)
	}
}
