package validate_test

import (
	"context"
	"testing"

	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/i18n"
	"github.com/wegomesh/wego/middleware/validate"
)

// Every violation the package reports has a message key; the framework's
// bundle renders it in English exactly as the violation's Reason reads,
// and in Spanish as below.
func TestViolationsAreLocalized(t *testing.T) {
	t.Parallel()
	cat := catalog.New()
	mw, _ := validate.New(validate.DefaultConfig())
	cat.UseServerSide(mw)
	byPtr, _ := catalog.RegisterIn(cat, "p.Pointer", func(_ context.Context, r *ptrReq) (int, error) { return r.N, nil })
	_, nilRequest := byPtr.Call(context.Background(), nil)

	tests := []struct {
		err     error
		key     string
		spanish string
	}{
		{validate.Check().NotEmpty("sku", " ").Err(), validate.KeyNotEmpty, "sku no debe estar vacío"},
		{validate.Check().Min("qty", 0, 1).Err(), validate.KeyMin, "qty debe ser al menos 1"},
		{validate.Check().Max("qty", 101, 100).Err(), validate.KeyMax, "qty debe ser como máximo 100"},
		{validate.Check().MaxLen("note", "héllo!", 5).Err(), validate.KeyMaxLen, "note debe tener como máximo 5 caracteres"},
		{validate.Check().OneOf("size", "XL", "S", "M").Err(), validate.KeyOneOf, "size debe ser uno de estos valores: S, M"},
		{nilRequest, validate.KeyRequired, "request es obligatorio"},
	}
	b := i18n.Default()
	for _, tt := range tests {
		e, ok := errs.As(tt.err)
		if !ok || len(e.Fields()) != 1 {
			t.Fatalf("%s: err = %v", tt.key, tt.err)
		}
		f := e.Fields()[0]
		if f.Key != tt.key {
			t.Errorf("%s: violation %+v has key %q", tt.key, f, f.Key)
		}
		english := "Invalid request: " + f.Field + " " + f.Reason + "."
		if e.Message() != english {
			t.Errorf("%s: Message() = %q, want %q", tt.key, e.Message(), english)
		}
		if got := b.Localize(e, "en"); got != english {
			t.Errorf("%s: the English message %q differs from the Reason's %q", tt.key, got, english)
		}
		if got, want := b.Localize(e, "es"), "Solicitud no válida: "+tt.spanish+"."; got != want {
			t.Errorf("%s: Spanish %q, want %q", tt.key, got, want)
		}
	}
}

// The violations of one request, in the order of the rules, in Spanish.
func TestSpanishMessageOfSeveralViolations(t *testing.T) {
	t.Parallel()
	cat, _ := newCatalog(t, validate.DefaultConfig())
	h, _ := catalog.HandleOf[reserveReq, reserveResp](cat, "inventory.Reserve")
	_, err := h.Call(context.Background(), reserveReq{Qty: -2, Note: "demasiado"})
	e, ok := errs.As(err)
	if !ok {
		t.Fatalf("err = %v", err)
	}
	want := "Solicitud no válida: sku no debe estar vacío; qty debe ser al menos 1; note debe tener como máximo 5 caracteres."
	if got := i18n.Default().Localize(e, "es-AR,es;q=0.9"); got != want {
		t.Errorf("Localize(es) = %q, want %q", got, want)
	}
	// Converted errors keep their text, which is the application's.
	_, err = h.Call(context.Background(), reserveReq{Fail: errsPlain("sku y qty no concuerdan")})
	if e, _ := errs.As(err); e == nil || i18n.Default().Localize(e, "es") != "Solicitud no válida: request sku y qty no concuerdan." {
		t.Errorf("converted error in Spanish: %v", err)
	}
}

type errsPlain string

func (e errsPlain) Error() string { return string(e) }
