package errs_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	errs "github.com/wegomesh/wego/err"
)

var errTestOpen = errs.Define("errs_test.open", errs.KindUnavailable, "The service is unavailable.")

func TestInternalParams(t *testing.T) {
	t.Parallel()
	cause := errors.New("gobreaker: circuit breaker is open")
	e := errTestOpen.Wrap(cause, errs.InternalParam("command", "inventory.Reserve"),
		errs.InternalParam("node", "127.0.0.1:8081"), errs.P("retry_after", "5"))

	if got := e.Message(); got != "The service is unavailable." {
		t.Errorf("Message() = %q", got)
	}
	if got := e.ParamMap(); len(got) != 1 || got["retry_after"] != "5" {
		t.Errorf("ParamMap() = %v, want only the client-safe retry_after", got)
	}
	if got := e.WireParams(); len(got) != 1 || got["retry_after"] != "5" {
		t.Errorf("WireParams() = %v, want only the client-safe retry_after", got)
	}
	want := "errs_test.open: The service is unavailable. [command=inventory.Reserve node=127.0.0.1:8081]: gobreaker: circuit breaker is open"
	if got := e.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if v, ok := e.Param("node"); !ok || v != "127.0.0.1:8081" {
		t.Errorf("Param(node) = %q, %v", v, ok)
	}
	if ps := e.Params(); len(ps) != 3 || !ps[0].Internal || !ps[1].Internal || ps[2].Internal {
		t.Errorf("Params() = %+v", ps)
	}
	// Internal parameters stay internal through WithParams and copies.
	w := errs.NotFound().WithParams(errs.InternalParam("dependency", "db"))
	if w.WireParams() != nil || !strings.Contains(w.Error(), "[dependency=db]") {
		t.Errorf("WithParams: wire %v, text %q", w.WireParams(), w.Error())
	}
}

func TestInternalParamFillsNoClientText(t *testing.T) {
	t.Parallel()
	d := errs.Define("errs_test.no_route", errs.KindUnavailable, "Command {{.command}} is not available here.")
	e := d.New(errs.InternalParam("command", "inventory.Reserve"))
	if got := e.Message(); strings.Contains(got, "inventory") {
		t.Errorf("Message() = %q reveals an internal parameter", got)
	}
	if got := e.MissingParams(); len(got) != 1 || got[0] != "command" {
		t.Errorf("MissingParams() = %v, want [command]: clients read a gap", got)
	}
	if got := errs.Render("{{.a}}-{{.b}}", []errs.Param{errs.P("a", "1"), errs.InternalParam("b", "2")}); got != "1-" {
		t.Errorf("Render = %q, want %q", got, "1-")
	}
}

func TestTruncate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"abcdefghijk", 10, "abcdefg…"},
		{"ééééé", 8, "éé…"},  // 10 bytes: 5 fit before the ellipsis, one é is cut
		{"ab€cde", 7, "ab…"}, // € is 3 bytes: it does not fit in 4
		{"abcdef", 2, "ab"},  // no room for the ellipsis
		{"€€", 2, ""},        // no character fits
		{"abc", 0, ""},
		{"abc", -1, ""},
	}
	for _, tt := range tests {
		got := errs.Truncate(tt.in, tt.max)
		if got != tt.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
		if len(got) > max(tt.max, 0) || (utf8.ValidString(tt.in) && !utf8.ValidString(got)) {
			t.Errorf("Truncate(%q, %d) = %q: too long or not valid UTF-8", tt.in, tt.max, got)
		}
	}
}

// TestParamValuesAreCut: a value a client sent, however long, costs at most
// MaxParamBytes in the message, the parameters, the fields and the log
// text of an error, wherever it enters the error.
func TestParamValuesAreCut(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("ñ", 1<<20) // 2 MiB, two bytes a character
	cut := errs.Truncate(huge, errs.MaxParamBytes)
	if len(cut) > errs.MaxParamBytes || !strings.HasSuffix(cut, "…") || !utf8.ValidString(cut) {
		t.Fatalf("the cut value is %d bytes, %q…", len(cut), cut[:10])
	}
	fv := errs.FieldViolation{Field: huge, Reason: "is not a known field", Params: map[string]string{"v": huge}}
	cases := map[string]*errs.Error{
		"Def.New":      errTestUnknownSKU.New(errs.P("sku", huge)),
		"Def.Wrap":     errTestUnknownSKU.Wrap(errors.New("x"), errs.P("sku", huge)),
		"kind":         errs.NotFound(errs.P("sku", huge)),
		"WithParams":   errs.NotFound().WithParams(errs.P("sku", huge)),
		"internal":     errs.NotFound(errs.InternalParam("sku", huge)),
		"Remote":       errs.Remote(404, "not_found", "", []errs.Param{errs.P("sku", huge)}, nil),
		"fields":       errs.InvalidArgument(fv),
		"WithFields":   errs.InvalidArgument().WithFields(fv),
		"Remote field": errs.Remote(400, "invalid_argument", "", nil, []errs.FieldViolation{fv}),
	}
	for name, e := range cases {
		for _, p := range e.Params() {
			if p.Key != "fields" && p.Value != cut {
				t.Errorf("%s: parameter %s is %d bytes, want the cut value", name, p.Key, len(p.Value))
			}
		}
		for _, f := range e.Fields() {
			if f.Field != cut || f.Params["v"] != cut {
				t.Errorf("%s: field violation of %d bytes, parameter of %d", name, len(f.Field), len(f.Params["v"]))
			}
		}
		if n := len(e.Message()); n > 2*errs.MaxParamBytes {
			t.Errorf("%s: message of %d bytes", name, n)
		}
		if n := len(e.Error()); n > 3*errs.MaxParamBytes {
			t.Errorf("%s: log text of %d bytes", name, n)
		}
	}
	// The caller's values are not changed.
	if fv.Field != huge || fv.Params["v"] != huge {
		t.Error("cutting changed the caller's field violation")
	}
	ps := []errs.Param{errs.P("a", "short"), errs.P("b", huge)}
	_ = errTestUnknownSKU.New(ps...)
	if ps[1].Value != huge {
		t.Error("cutting changed the caller's parameters")
	}
}

func TestShortParamsDoNotAllocate(t *testing.T) {
	ps := []errs.Param{errs.P("sku", "apple")}
	if n := testing.AllocsPerRun(100, func() { _ = errTestUnknownSKU.New(ps...) }); n > 1 {
		t.Errorf("Def.New allocates %v times, want 1 (the error)", n)
	}
}
