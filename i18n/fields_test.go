package i18n_test

import (
	"reflect"
	"testing"
	"testing/fstest"

	"golang.org/x/text/language"

	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/i18n"
)

// minQty and emptySKU are violations as middleware/validate makes them.
var (
	minQty = errs.FieldViolation{Field: "qty", Reason: "must be at least 1",
		Key: "validate.min", Params: map[string]string{"min": "1"}}
	emptySKU = errs.FieldViolation{Field: "sku", Reason: "must not be empty", Key: "validate.not_empty"}
)

func TestLocalizeFieldViolations(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	tests := []struct {
		name   string
		e      *errs.Error
		lang   string
		want   string
		differ bool // the text differs from e.Message()
	}{
		{"one, Spanish", errs.InvalidArgument(minQty), "es",
			"Solicitud no válida: qty debe ser al menos 1.", true},
		{"two, Spanish", errs.InvalidArgument(emptySKU, minQty), "es-ES,es;q=0.9",
			"Solicitud no válida: sku no debe estar vacío; qty debe ser al menos 1.", true},
		{"regional variant", errs.InvalidArgument(minQty), "es-MX",
			"Solicitud no válida: qty debe ser al menos 1.", true},
		{"English", errs.InvalidArgument(emptySKU, minQty), "en",
			"Invalid request: sku must not be empty; qty must be at least 1.", false},
		{"unshipped language", errs.InvalidArgument(minQty), "fr",
			"Invalid request: qty must be at least 1.", false},
		// A violation without a key, or with a key no language has, reads
		// "field reason" in every language.
		{"without a key", errs.InvalidArgument(minQty, errs.Field("note", "is too long")), "es",
			"Solicitud no válida: qty debe ser al menos 1; note is too long.", true},
		{"unknown key", errs.InvalidArgument(errs.FieldViolation{Field: "x", Reason: "is odd", Key: "app.odd"}, minQty), "es",
			"Solicitud no válida: x is odd; qty debe ser al menos 1.", true},
		{"every parameter", errs.InvalidArgument(
			errs.FieldViolation{Field: "size", Reason: "must be one of S, M", Key: "validate.one_of", Params: map[string]string{"allowed": "S, M"}},
			errs.FieldViolation{Field: "note", Reason: "must be at most 5 characters long", Key: "validate.max_len", Params: map[string]string{"max": "5"}},
			errs.FieldViolation{Field: "qty", Reason: "must be at most 9", Key: "validate.max", Params: map[string]string{"max": "9"}},
			errs.FieldViolation{Field: "request", Reason: "is required", Key: "validate.required"}), "es",
			"Solicitud no válida: size debe ser uno de estos valores: S, M; note debe tener como máximo 5 caracteres; " +
				"qty debe ser como máximo 9; request es obligatorio.", true},
		// What a peer sends back: its text is final, but the error is
		// localized again from its fields.
		{"received from a peer", errs.Remote(400, "invalid_argument", "Invalid request: qty must be at least 1.", nil, []errs.FieldViolation{minQty}), "es",
			"Solicitud no válida: qty debe ser al menos 1.", true},
	}
	for _, tt := range tests {
		got := b.Localize(tt.e, tt.lang)
		if got != tt.want {
			t.Errorf("%s: Localize(%s) = %q, want %q", tt.name, tt.lang, got, tt.want)
		}
		if (got != tt.e.Message()) != tt.differ {
			t.Errorf("%s: Localize(%s) = %q, e.Message() = %q", tt.name, tt.lang, got, tt.e.Message())
		}
	}
}

// An application rewords a violation's message, or adds one for its own
// key, in its locale files; a parameter that a message names and the
// violation lacks renders as nothing.
func TestLocalizeFieldViolationsFromTheApplication(t *testing.T) {
	t.Parallel()
	b := newBundle(t,
		i18n.Messages(language.Spanish, map[string]string{"validate.min": "la cantidad {{.field}} es menor que {{.min}}"}),
		i18n.Files(fstest.MapFS{"fields.es.toml": {Data: []byte(`"shop.sku_format" = "{{.field}} no tiene el formato {{.format}}{{.hint}}"`)}}),
	)
	e := errs.InvalidArgument(minQty, errs.FieldViolation{Field: "sku", Reason: "must look like AAA-123",
		Key: "shop.sku_format", Params: map[string]string{"format": "AAA-123"}})
	want := "Solicitud no válida: la cantidad qty es menor que 1; sku no tiene el formato AAA-123."
	if got := b.Localize(e, "es"); got != want {
		t.Errorf("Localize(es) = %q, want %q", got, want)
	}
	// English has no message for shop.sku_format: its Reason is used.
	want = "Invalid request: qty must be at least 1; sku must look like AAA-123."
	if got := b.Localize(e, "en"); got != want {
		t.Errorf("Localize(en) = %q, want %q", got, want)
	}
}

// Only the message errs derives from the fields is rendered again: an
// application's own parameter named "fields" is left as it is.
func TestLocalizeKeepsOtherFieldsParameters(t *testing.T) {
	t.Parallel()
	// A code of a peer, received with its parameters (errs.Define would
	// add a code to this test binary's, which other tests count).
	b := newBundle(t, i18n.Messages(language.Spanish, map[string]string{"i18n_test.bad_batch": "Lote no válido: {{.fields}}."}))
	e := errs.Remote(400, "i18n_test.bad_batch", "Bad batch: a, b.", []errs.Param{errs.P("fields", "a, b")}, []errs.FieldViolation{minQty})
	if got := b.Localize(e, "es"); got != "Lote no válido: a, b." {
		t.Errorf("Localize(es) = %q", got)
	}
	// The violations are not changed by localizing them.
	f := errs.InvalidArgument(minQty)
	b.Localize(f, "es")
	if v, _ := f.Param("fields"); v != "qty must be at least 1" || f.Fields()[0].Params["min"] != "1" || len(f.Fields()[0].Params) != 1 {
		t.Errorf("Localize changed the error: fields %q, %v", v, f.Fields())
	}
}

// LocalizeFields gives each violation's reason in the client's language,
// the text of its message after the field's name, for the "fields" of an
// error body.
func TestLocalizeFields(t *testing.T) {
	t.Parallel()
	b := newBundle(t, i18n.Messages(language.Spanish, map[string]string{"shop.missing": "falta {{.field}}"}))
	noKey := errs.Field("note", "is too long")
	missing := errs.FieldViolation{Field: "sku", Reason: "is missing", Key: "shop.missing"}
	e := errs.InvalidArgument(minQty, emptySKU, noKey, missing)

	got := b.LocalizeFields(e, "es-ES,es;q=0.9")
	want := []errs.FieldViolation{
		{Field: "qty", Reason: "debe ser al menos 1", Key: "validate.min", Params: map[string]string{"min": "1"}},
		{Field: "sku", Reason: "no debe estar vacío", Key: "validate.not_empty"},
		noKey, // no key: as it is, in every language
		{Field: "sku", Reason: "falta sku", Key: "shop.missing"}, // the field is not first: the whole text
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("LocalizeFields(es) =\n%+v\nwant\n%+v", got, want)
	}
	if e.Fields()[0].Reason != "must be at least 1" {
		t.Errorf("LocalizeFields changed the error's violations: %+v", e.Fields())
	}
	// In English the reasons are the violations' own: the same slice.
	if en := b.LocalizeFields(e, "en"); &en[0] != &e.Fields()[0] {
		t.Errorf("LocalizeFields(en) = %+v, want e.Fields() itself", en)
	}
	// Regional variants and unknown tags find Spanish too.
	if got := b.LocalizeFields(errs.InvalidArgument(minQty), "zz, es-MX"); got[0].Reason != "debe ser al menos 1" {
		t.Errorf("LocalizeFields(zz, es-MX) = %+v", got)
	}
	var nilBundle *i18n.Bundle
	if got := nilBundle.LocalizeFields(e, "es"); &got[0] != &e.Fields()[0] {
		t.Errorf("nil bundle: %+v", got)
	}
	if got := b.LocalizeFields(nil, "es"); got != nil {
		t.Errorf("nil error: %+v", got)
	}
	if got := b.LocalizeFields(errs.NotFound(), "es"); got != nil {
		t.Errorf("no fields: %+v", got)
	}
}
