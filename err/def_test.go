package errs_test

import (
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"testing"

	errs "github.com/wegomesh/wego/err"
)

// Codes defined by these tests. The registry is global, so every test uses
// its own codes; identical redefinition is allowed, so -count=N works.
var (
	errTestUnknownSKU = errs.Define("errs_test.unknown_sku", errs.KindNotFound, "SKU {{.sku}} is unknown")
	errTestMediaType  = errs.Define("errs_test.media_type", errs.KindInvalidArgument,
		"Unsupported media type {{.type}}.", errs.WithHTTPStatus(http.StatusUnsupportedMediaType))
	errTestConflicted = errs.Define("errs_test.conflicted", errs.KindConflict, "First message.")
)

// recoverPanic runs f and returns the text of its panic, or "" if it did
// not panic.
func recoverPanic(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
			if msg == "" {
				msg = "(empty panic)"
			}
		}
	}()
	f()
	return ""
}

func TestDefine(t *testing.T) {
	t.Parallel()
	d := errTestUnknownSKU
	if d.Code() != "errs_test.unknown_sku" || d.Kind() != errs.KindNotFound ||
		d.Status() != http.StatusNotFound || d.Message() != "SKU {{.sku}} is unknown" || d.Error() != d.Code() {
		t.Errorf("Def = %q %v %d %q %q", d.Code(), d.Kind(), d.Status(), d.Message(), d.Error())
	}
	if !strings.Contains(d.Site(), "def_test.go:") {
		t.Errorf("Site() = %q, want this file", d.Site())
	}
	if got, ok := errs.Lookup(d.Code()); !ok || got != d {
		t.Errorf("Lookup(%q) = %p, %v, want %p", d.Code(), got, ok, d)
	}
	if _, ok := errs.Lookup("errs_test.never_defined"); ok {
		t.Error("Lookup of an undefined code succeeded")
	}
	if errTestMediaType.Status() != http.StatusUnsupportedMediaType || errTestMediaType.New().Status() != 415 {
		t.Errorf("WithHTTPStatus: status %d", errTestMediaType.Status())
	}
}

func TestDefineIdempotent(t *testing.T) {
	t.Parallel()
	again := errs.Define("errs_test.unknown_sku", errs.KindNotFound, "SKU {{.sku}} is unknown")
	if again != errTestUnknownSKU {
		t.Errorf("identical redefinition returned a new *Def %p, want %p", again, errTestUnknownSKU)
	}
	again = errs.Define("errs_test.media_type", errs.KindInvalidArgument,
		"Unsupported media type {{.type}}.", errs.WithHTTPStatus(http.StatusUnsupportedMediaType))
	if again != errTestMediaType {
		t.Error("identical redefinition with a status returned a new *Def")
	}
}

func TestDefineConflict(t *testing.T) {
	t.Parallel()
	first := errTestConflicted.Site()
	tests := []struct {
		name string
		def  func()
	}{
		{"message", func() { errs.Define("errs_test.conflicted", errs.KindConflict, "Second message.") }},
		{"kind", func() { errs.Define("errs_test.conflicted", errs.KindNotFound, "First message.") }},
		{"status", func() {
			errs.Define("errs_test.conflicted", errs.KindConflict, "First message.", errs.WithHTTPStatus(412))
		}},
	}
	for _, tt := range tests {
		msg := recoverPanic(tt.def)
		if msg == "" {
			t.Errorf("%s: conflicting redefinition did not panic", tt.name)
			continue
		}
		if !strings.Contains(msg, first) {
			t.Errorf("%s: panic %q does not name the first site %q", tt.name, msg, first)
		}
		// Both sites are in this file: the package-level var and the closure.
		if strings.Count(msg, "def_test.go:") != 2 {
			t.Errorf("%s: panic %q does not name two sites in def_test.go", tt.name, msg)
		}
		if !strings.Contains(msg, `"errs_test.conflicted"`) {
			t.Errorf("%s: panic %q does not name the code", tt.name, msg)
		}
	}
	// An exact second site: Define called directly on a known line.
	_, file, line, _ := runtime.Caller(0)
	msg := recoverPanic(func() { errs.Define("errs_test.conflicted", errs.KindConflict, "Third message.") })
	want := fmt.Sprintf("%s:%d", file, line+1)
	if !strings.Contains(msg, want) || !strings.Contains(msg, first) {
		t.Errorf("panic %q, want both %q and %q", msg, first, want)
	}
	// The registry keeps the first definition.
	if d, _ := errs.Lookup("errs_test.conflicted"); d != errTestConflicted || d.Message() != "First message." {
		t.Errorf("Lookup after a conflict = %+v", d)
	}
}

func TestDefineInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		code   string
		kind   errs.Kind
		opts   []errs.DefOption
		inText string
	}{
		{"empty code", "", errs.KindNotFound, nil, "invalid code"},
		{"upper case", "Errs_test.Bad", errs.KindNotFound, nil, "invalid code"},
		{"space", "errs_test.bad code", errs.KindNotFound, nil, "invalid code"},
		{"dash", "errs_test.bad-code", errs.KindNotFound, nil, "invalid code"},
		{"leading dot", ".errs_test", errs.KindNotFound, nil, "invalid code"},
		{"trailing dot", "errs_test.", errs.KindNotFound, nil, "invalid code"},
		{"too long", strings.Repeat("a", 129), errs.KindNotFound, nil, "invalid code"},
		{"zero kind", "errs_test.zero_kind", 0, nil, "invalid kind"},
		{"unknown kind", "errs_test.unknown_kind", 99, nil, "invalid kind"},
		{"status 200", "errs_test.ok_status", errs.KindInternal, []errs.DefOption{errs.WithHTTPStatus(200)}, "status"},
		{"status 600", "errs_test.big_status", errs.KindInternal, []errs.DefOption{errs.WithHTTPStatus(600)}, "status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			msg := recoverPanic(func() { errs.Define(tt.code, tt.kind, "Message.", tt.opts...) })
			if msg == "" {
				t.Fatalf("Define(%q, %d) did not panic", tt.code, tt.kind)
			}
			if !strings.Contains(msg, tt.inText) || !strings.Contains(msg, "def_test.go:") {
				t.Errorf("panic %q: want %q and the site", msg, tt.inText)
			}
			if _, ok := errs.Lookup(tt.code); ok {
				t.Errorf("invalid code %q was registered", tt.code)
			}
		})
	}
}

func TestValidCode(t *testing.T) {
	t.Parallel()
	for _, c := range []string{"a", "not_found", "inventory.unknown_sku", "v2.x_1", strings.Repeat("a", 128)} {
		if !errs.ValidCode(c) {
			t.Errorf("ValidCode(%q) = false", c)
		}
	}
	for _, c := range []string{"", ".", "a.", ".a", "A", "a b", "é", "a/b", strings.Repeat("a", 129)} {
		if errs.ValidCode(c) {
			t.Errorf("ValidCode(%q) = true", c)
		}
	}
}

func TestDefs(t *testing.T) {
	t.Parallel()
	defs := errs.Defs()
	codes := make([]string, len(defs))
	for i, d := range defs {
		codes[i] = d.Code()
	}
	if !slices.IsSorted(codes) {
		t.Errorf("Defs() not sorted: %v", codes)
	}
	for _, want := range []string{"invalid_argument.fields", "errs_test.unknown_sku", "not_found", "internal"} {
		if !slices.Contains(codes, want) {
			t.Errorf("Defs() lacks %q", want)
		}
	}
	for _, k := range errs.Kinds() {
		if !slices.Contains(codes, k.Code()) {
			t.Errorf("Defs() lacks the kind code %q", k.Code())
		}
	}
}

func TestDefNewWrap(t *testing.T) {
	t.Parallel()
	e := errTestUnknownSKU.New(errs.P("sku", "A-1"))
	if e.Code() != "errs_test.unknown_sku" || e.Kind() != errs.KindNotFound || e.Status() != 404 ||
		e.MessageKey() != e.Code() || e.DefaultMessage() != "SKU {{.sku}} is unknown" ||
		e.Message() != "SKU A-1 is unknown" || e.Cause() != nil {
		t.Errorf("New: %q %v %d %q %q %q", e.Code(), e.Kind(), e.Status(), e.MessageKey(), e.DefaultMessage(), e.Message())
	}
	if e.Error() != "errs_test.unknown_sku: SKU A-1 is unknown" {
		t.Errorf("Error() = %q", e.Error())
	}
	cause := fmt.Errorf("sql: no rows")
	w := errTestUnknownSKU.Wrap(cause, errs.P("sku", "B-2"))
	if w.Cause() != cause || w.Unwrap() != cause {
		t.Errorf("Wrap: Cause() = %v", w.Cause())
	}
	if w.Error() != "errs_test.unknown_sku: SKU B-2 is unknown: sql: no rows" {
		t.Errorf("Wrap: Error() = %q", w.Error())
	}
	if strings.Contains(w.Message(), "sql") {
		t.Errorf("Message() %q contains the cause", w.Message())
	}
}
