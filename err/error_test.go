package errs_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	errs "github.com/wegomesh/wego/err"
)

var errTestOther = errs.Define("errs_test.other", errs.KindNotFound, "Other.")

func TestIsAs(t *testing.T) {
	t.Parallel()
	e := errTestUnknownSKU.New(errs.P("sku", "A"))
	wrapped := fmt.Errorf("reserve: %w", e)
	twice := fmt.Errorf("handler: %w", wrapped)
	tests := []struct {
		name   string
		err    error
		target error
		want   bool
	}{
		{"def target", e, errTestUnknownSKU, true},
		{"wrapped def target", wrapped, errTestUnknownSKU, true},
		{"twice wrapped def target", twice, errTestUnknownSKU, true},
		{"other def", e, errTestOther, false},
		{"error target same code", e, errTestUnknownSKU.New(errs.P("sku", "B")), true},
		{"wrapped error target", twice, errTestUnknownSKU.New(), true},
		{"error target other code", e, errTestOther.New(), false},
		{"kind code target", errs.NotFound(), errs.NotFound(), true},
		{"kind vs app code of same kind", e, errs.NotFound(), false},
		{"kind def target", errs.NotFound(), mustLookup(t, "not_found"), true},
		{"nil *Def target", e, (*errs.Def)(nil), false},
		{"nil *Error target", e, (*errs.Error)(nil), false},
		{"plain target", e, io.EOF, false},
		{"cause through Unwrap", errs.Internal().WithCause(io.EOF), io.EOF, true},
		{"cause through wrapping", fmt.Errorf("x: %w", errTestOther.Wrap(io.EOF)), io.EOF, true},
		{"plain error vs def", io.EOF, errTestUnknownSKU, false},
	}
	for _, tt := range tests {
		if got := errors.Is(tt.err, tt.target); got != tt.want {
			t.Errorf("%s: errors.Is = %v, want %v", tt.name, got, tt.want)
		}
	}

	var got *errs.Error
	if !errors.As(twice, &got) || got != e {
		t.Errorf("errors.As through two %%w = %p, want %p", got, e)
	}
	if g, ok := errs.As(twice); !ok || g != e {
		t.Errorf("errs.As through two %%w = %p, %v", g, ok)
	}
	if g, ok := errs.As(e); !ok || g != e {
		t.Errorf("errs.As(e) = %p, %v", g, ok)
	}
	for _, err := range []error{nil, io.EOF, fmt.Errorf("x: %w", io.EOF)} {
		if g, ok := errs.As(err); ok || g != nil {
			t.Errorf("errs.As(%v) = %v, %v", err, g, ok)
		}
	}
	// errors.Join trees work too.
	if !errors.Is(errors.Join(io.EOF, wrapped), errTestUnknownSKU) {
		t.Error("errors.Is through errors.Join failed")
	}
}

func mustLookup(t *testing.T, code string) *errs.Def {
	t.Helper()
	d, ok := errs.Lookup(code)
	if !ok {
		t.Fatalf("Lookup(%q) failed", code)
	}
	return d
}

type stringer struct{ s string }

func (s *stringer) String() string { return s.s }

func TestP(t *testing.T) {
	t.Parallel()
	var nilStringer *stringer
	tests := []struct {
		value any
		want  string
	}{
		{"text", "text"},
		{42, "42"},
		{3.5, "3.5"},
		{true, "true"},
		{nil, "<nil>"},
		{&stringer{"str"}, "str"},
		{time.Second, "1s"},
		{nilStringer, "<nil>"}, // a nil pointer whose String would panic
	}
	for _, tt := range tests {
		if p := errs.P("k", tt.value); p.Key != "k" || p.Value != tt.want {
			t.Errorf("P(k, %#v) = %+v, want %q", tt.value, p, tt.want)
		}
	}
}

func TestFrom(t *testing.T) {
	t.Parallel()
	if errs.From(nil) != nil {
		t.Error("From(nil) != nil")
	}
	e := errTestUnknownSKU.New()
	if errs.From(e) != e {
		t.Error("From(*Error) is not the same error")
	}
	if errs.From(fmt.Errorf("ctx: %w", e)) != e {
		t.Error("From(wrapped *Error) is not the wrapped error")
	}
	plain := errors.New("dial tcp 10.0.0.7:5432: connection refused")
	tests := []struct {
		name string
		err  error
		kind errs.Kind
	}{
		{"canceled", context.Canceled, errs.KindCanceled},
		{"wrapped canceled", fmt.Errorf("query: %w", context.Canceled), errs.KindCanceled},
		{"deadline", context.DeadlineExceeded, errs.KindDeadlineExceeded},
		{"wrapped deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), errs.KindDeadlineExceeded},
		{"plain", plain, errs.KindInternal},
		{"wrapped plain", fmt.Errorf("store: %w", plain), errs.KindInternal},
	}
	for _, tt := range tests {
		got := errs.From(tt.err)
		if got.Kind() != tt.kind || got.Code() != tt.kind.Code() || got.Status() != tt.kind.Status() {
			t.Errorf("%s: From = kind %v code %q status %d", tt.name, got.Kind(), got.Code(), got.Status())
		}
		if got.Cause() != tt.err || !errors.Is(got, tt.err) {
			t.Errorf("%s: cause %v, want %v", tt.name, got.Cause(), tt.err)
		}
		if errs.KindOf(tt.err) != tt.kind || errs.CodeOf(tt.err) != tt.kind.Code() {
			t.Errorf("%s: KindOf %v CodeOf %q", tt.name, errs.KindOf(tt.err), errs.CodeOf(tt.err))
		}
	}
	// The cause reaches the logs (Error) but never the client (Message).
	internal := errs.From(plain)
	if strings.Contains(internal.Message(), "connection refused") || strings.Contains(internal.Message(), "10.0.0.7") {
		t.Errorf("Message() %q leaks the cause", internal.Message())
	}
	if !strings.Contains(internal.Error(), "connection refused") {
		t.Errorf("Error() %q lacks the cause", internal.Error())
	}
	if internal.Message() != mustLookup(t, "internal").Message() {
		t.Errorf("Message() = %q, want the internal default", internal.Message())
	}
}

func TestKindOfCodeOf(t *testing.T) {
	t.Parallel()
	e := errTestMediaType.New()
	if errs.KindOf(nil) != 0 || errs.CodeOf(nil) != "" {
		t.Error("KindOf/CodeOf(nil) not zero")
	}
	if errs.KindOf(e) != errs.KindInvalidArgument || errs.CodeOf(e) != "errs_test.media_type" {
		t.Errorf("KindOf/CodeOf(*Error) = %v %q", errs.KindOf(e), errs.CodeOf(e))
	}
	w := fmt.Errorf("x: %w", e)
	if errs.KindOf(w) != errs.KindInvalidArgument || errs.CodeOf(w) != "errs_test.media_type" {
		t.Errorf("KindOf/CodeOf(wrapped) = %v %q", errs.KindOf(w), errs.CodeOf(w))
	}
}

func TestKindOfCodeOfDoNotAllocate(t *testing.T) {
	// Not parallel: AllocsPerRun counts the allocations of every goroutine.
	e := errTestUnknownSKU.New()
	wrapped := fmt.Errorf("x: %w", e)
	plain := errors.New("plain")
	var sink string
	var kind errs.Kind
	for _, tt := range []struct {
		name string
		err  error
	}{
		{"*Error", e},
		{"nil", nil},
		{"wrapped *Error", wrapped},
		{"plain", plain},
		{"context", context.Canceled},
	} {
		if n := testing.AllocsPerRun(100, func() { sink = errs.CodeOf(tt.err) }); n != 0 {
			t.Errorf("CodeOf(%s) allocates %v times", tt.name, n)
		}
		if n := testing.AllocsPerRun(100, func() { kind = errs.KindOf(tt.err) }); n != 0 {
			t.Errorf("KindOf(%s) allocates %v times", tt.name, n)
		}
	}
	_, _ = sink, kind
}

func TestRemote(t *testing.T) {
	t.Parallel()
	params := []errs.Param{{Key: "sku", Value: "A-1"}}
	tests := []struct {
		name    string
		status  int
		code    string
		message string
		kind    errs.Kind
		wantMsg string
		status2 int // Status() of the result
	}{
		{"kind code", 404, "not_found", "No está.", errs.KindNotFound, "No está.", 404},
		{"kind code overrides status", 500, "not_found", "x", errs.KindNotFound, "x", 500},
		{"kind code without message", 404, "not_found", "", errs.KindNotFound, "The requested resource was not found.", 404},
		{"local code", 404, "errs_test.unknown_sku", "SKU A-1 is unknown", errs.KindNotFound, "SKU A-1 is unknown", 404},
		{"local code without message", 404, "errs_test.unknown_sku", "", errs.KindNotFound, "SKU A-1 is unknown", 404},
		{"local code with own status", 415, "errs_test.media_type", "m", errs.KindInvalidArgument, "m", 415},
		{"local code, no status", 0, "errs_test.media_type", "m", errs.KindInvalidArgument, "m", 415},
		{"unknown code 4xx", 418, "billing.teapot", "Teapot.", errs.KindInvalidArgument, "Teapot.", 418},
		{"unknown code 404", 404, "billing.no_invoice", "No invoice.", errs.KindNotFound, "No invoice.", 404},
		{"unknown code 5xx", 500, "billing.broken", "Broken.", errs.KindInternal, "Broken.", 500},
		{"unknown code without message", 500, "billing.broken", "", errs.KindInternal, "An internal error occurred.", 500},
		{"unknown code 502", 502, "billing.gateway", "Gateway.", errs.KindUnavailable, "Gateway.", 502},
		{"unknown code 503", 503, "billing.down", "Down.", errs.KindUnavailable, "Down.", 503},
		{"no code", 429, "", "Slow down.", errs.KindResourceExhausted, "Slow down.", 429},
		{"no code, no message", 503, "", "", errs.KindUnavailable, "The service is unavailable; try again later.", 503},
		{"status not an error", 200, "billing.odd", "Odd.", errs.KindInternal, "Odd.", 500},
		{"received text is not a template", 404, "billing.x", "Literal {{.sku}}", errs.KindNotFound, "Literal {{.sku}}", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := errs.Remote(tt.status, tt.code, tt.message, params, nil)
			wantCode := tt.code
			if wantCode == "" {
				wantCode = tt.kind.Code()
			}
			if e.Kind() != tt.kind || e.Code() != wantCode || e.Status() != tt.status2 {
				t.Errorf("Remote = kind %v code %q status %d, want %v %q %d", e.Kind(), e.Code(), e.Status(), tt.kind, wantCode, tt.status2)
			}
			if e.Message() != tt.wantMsg {
				t.Errorf("Message() = %q, want %q", e.Message(), tt.wantMsg)
			}
			if !slices.Equal(e.Params(), params) {
				t.Errorf("Params() = %v", e.Params())
			}
			if wantCode == tt.code && tt.code != "" {
				if d, ok := errs.Lookup(tt.code); ok && !errors.Is(e, d) {
					t.Errorf("errors.Is(remote, %q def) = false", tt.code)
				}
			}
		})
	}
}

func TestRemoteRoundTrip(t *testing.T) {
	t.Parallel()
	orig := []*errs.Error{
		errTestUnknownSKU.New(errs.P("sku", "Z-9")),
		errTestMediaType.New(errs.P("type", "text/csv")),
		errs.InvalidArgument(errs.Field("qty", "must be at least 1")),
		errs.InvalidArgument(errs.FieldViolation{Field: "qty", Reason: "must be at least 1",
			Key: "validate.min", Params: map[string]string{"min": "1"}}),
		errs.NotFound(),
		errs.Unavailable().WithStatus(http.StatusBadGateway),
	}
	for _, o := range orig {
		r := errs.Remote(o.Status(), o.Code(), o.Message(), o.Params(), o.Fields())
		if r.Code() != o.Code() || r.Kind() != o.Kind() || r.Status() != o.Status() ||
			r.Message() != o.Message() || r.MessageKey() != o.MessageKey() ||
			!slices.Equal(r.Params(), o.Params()) || !reflect.DeepEqual(r.Fields(), o.Fields()) {
			t.Errorf("%s: round trip gave code %q kind %v status %d key %q message %q params %v fields %v",
				o.Code(), r.Code(), r.Kind(), r.Status(), r.MessageKey(), r.Message(), r.Params(), r.Fields())
		}
		if !errors.Is(r, o) {
			t.Errorf("%s: errors.Is(remote, original) = false", o.Code())
		}
	}
}

func TestRender(t *testing.T) {
	t.Parallel()
	p := []errs.Param{{Key: "sku", Value: "A-1"}, {Key: "qty", Value: "3"}, {Key: "_x1", Value: "u"}}
	tests := []struct {
		name, tmpl, want string
	}{
		{"no template", "Plain text.", "Plain text."},
		{"empty", "", ""},
		{"one", "SKU {{.sku}} is unknown", "SKU A-1 is unknown"},
		{"two", "{{.qty}} of {{.sku}}", "3 of A-1"},
		{"repeated", "{{.sku}}{{.sku}}", "A-1A-1"},
		{"spaces", "{{ .sku }}!", "A-1!"},
		{"underscore and digit", "{{._x1}}", "u"},
		{"missing key", "{{.nope}} here", " here"},
		{"missing key beside a given one", "{{.sku}}/{{.nope}}/{{.qty}}", "A-1//3"},
		{"unclosed", "SKU {{.sku", "SKU {{.sku"},
		{"unclosed after one", "{{.sku}} and {{.qty", "A-1 and {{.qty"},
		{"not a field", "{{sku}}", "{{sku}}"},
		{"dot only", "{{.}}", "{{.}}"},
		{"nested field", "{{.sku.x}}", "{{.sku.x}}"},
		{"pipeline", "{{.sku | printf}}", "{{.sku | printf}}"},
		{"leading digit", "{{.1a}}", "{{.1a}}"},
		{"triple brace", "{{{.sku}}}", "{A-1}"},
		{"stray open before", "{{ oops {{.sku}}", "{{ oops A-1"},
		{"single braces", "{sku} {.sku}", "{sku} {.sku}"},
		{"close only", "}} {{.sku}}", "}} A-1"},
		{"unicode", "¿{{.sku}}? ñ", "¿A-1? ñ"},
	}
	for _, tt := range tests {
		if got := errs.Render(tt.tmpl, p); got != tt.want {
			t.Errorf("%s: Render(%q) = %q, want %q", tt.name, tt.tmpl, got, tt.want)
		}
	}
	if got := errs.Render("SKU {{.a}} is unknown.", nil); got != "SKU  is unknown." {
		t.Errorf("Render with no params = %q", got)
	}
	// The first of duplicate keys wins.
	if got := errs.Render("{{.a}}", []errs.Param{{Key: "a", Value: "1"}, {Key: "a", Value: "2"}}); got != "1" {
		t.Errorf("duplicate keys: %q", got)
	}
	// A value is not rendered again.
	if got := errs.Render("{{.a}}", []errs.Param{{Key: "a", Value: "{{.b}}"}, {Key: "b", Value: "x"}}); got != "{{.b}}" {
		t.Errorf("value rendered twice: %q", got)
	}
}

func TestInvalidArgument(t *testing.T) {
	t.Parallel()
	e := errs.InvalidArgument(errs.Field("qty", "must be at least 1"), errs.Field("sku", "is required"), errs.Field("note", ""))
	if e.Code() != "invalid_argument" || e.Kind() != errs.KindInvalidArgument || e.Status() != 400 {
		t.Errorf("code %q kind %v status %d", e.Code(), e.Kind(), e.Status())
	}
	if e.MessageKey() != "invalid_argument.fields" {
		t.Errorf("MessageKey() = %q", e.MessageKey())
	}
	want := "Invalid request: qty must be at least 1; sku is required; note."
	if e.Message() != want {
		t.Errorf("Message() = %q, want %q", e.Message(), want)
	}
	if v, _ := e.Param("fields"); v != "qty must be at least 1; sku is required; note" {
		t.Errorf(`Param("fields") = %q`, v)
	}
	if m := e.ParamMap(); len(m) != 1 || m["fields"] == "" {
		t.Errorf("ParamMap() = %v", m)
	}
	wantFields := []errs.FieldViolation{{Field: "qty", Reason: "must be at least 1"}, {Field: "sku", Reason: "is required"}, {Field: "note"}}
	if !reflect.DeepEqual(e.Fields(), wantFields) {
		t.Errorf("Fields() = %v", e.Fields())
	}
	if d := mustLookup(t, "invalid_argument.fields"); d.Message() != "Invalid request: {{.fields}}." || d.Kind() != errs.KindInvalidArgument {
		t.Errorf("invalid_argument.fields def = %q %v", d.Message(), d.Kind())
	}
	if !errors.Is(e, errs.InvalidArgument()) {
		t.Error("errors.Is(fields error, InvalidArgument()) = false")
	}
	plain := errs.InvalidArgument()
	if plain.MessageKey() != "invalid_argument" || plain.Fields() != nil || plain.Message() != "The request is not valid." {
		t.Errorf("InvalidArgument() = key %q message %q", plain.MessageKey(), plain.Message())
	}
}

func TestWithReturnsCopies(t *testing.T) {
	t.Parallel()
	orig := errTestUnknownSKU.New(errs.P("sku", "A"))
	snapshot := func(e *errs.Error) string {
		return fmt.Sprintf("%s|%d|%v|%v|%v|%s", e.Code(), e.Status(), e.Params(), e.Fields(), e.Cause(), e.Message())
	}
	before := snapshot(orig)
	cause := io.ErrUnexpectedEOF

	c := orig.WithCause(cause)
	if c == orig || c.Cause() != cause || orig.Cause() != nil {
		t.Error("WithCause did not copy")
	}
	p := orig.WithParams(errs.P("qty", 2))
	if p == orig || len(p.Params()) != 2 || len(orig.Params()) != 1 {
		t.Errorf("WithParams: %v / %v", p.Params(), orig.Params())
	}
	// Appending twice to the same original must not share a backing array.
	p2 := orig.WithParams(errs.P("qty", 3))
	if v, _ := p.Param("qty"); v != "2" {
		t.Errorf("WithParams shares storage: first copy's qty = %q", v)
	}
	if v, _ := p2.Param("qty"); v != "3" {
		t.Errorf("second copy's qty = %q", v)
	}
	f := orig.WithFields(errs.Field("sku", "bad"))
	if f == orig || len(f.Fields()) != 1 || orig.Fields() != nil {
		t.Error("WithFields did not copy")
	}
	f2 := f.WithFields(errs.Field("qty", "bad"))
	if len(f2.Fields()) != 2 || len(f.Fields()) != 1 {
		t.Error("WithFields on a copy changed it")
	}
	s := orig.WithStatus(http.StatusGone)
	if s == orig || s.Status() != http.StatusGone || orig.Status() != 404 || s.Kind() != orig.Kind() {
		t.Errorf("WithStatus: %d / %d", s.Status(), orig.Status())
	}
	if after := snapshot(orig); after != before {
		t.Errorf("original changed: %s -> %s", before, after)
	}
	for _, e := range []*errs.Error{c, p, f, s} {
		if !errors.Is(e, orig) || e.Code() != orig.Code() {
			t.Errorf("copy %q lost its code", e.Code())
		}
	}
}

func TestErrorText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		e    *errs.Error
		want string
	}{
		{errs.NotFound(), "not_found: The requested resource was not found."},
		{errs.Internal().WithCause(io.EOF), "internal: An internal error occurred.: EOF"},
		{errs.Remote(404, "x.y", "", nil, nil), "x.y: The requested resource was not found."},
		// A received error reads as it was received, whatever cause a
		// transport attaches to it.
		{errs.Remote(404, "x.y", "SKU 7 is unknown.", nil, nil).WithCause(errors.New("node 10.0.0.5:8080 answered 404")),
			"x.y: SKU 7 is unknown."},
		{errs.Remote(400, "invalid_argument", "", nil, []errs.FieldViolation{errs.Field("qty", "must be at least 1")}).WithCause(io.EOF),
			"invalid_argument: Invalid request: qty must be at least 1."},
		// Wrapping a received error keeps its own text and only that.
		{errs.Internal().WithCause(errs.Remote(404, "x.y", "Gone.", nil, nil).WithCause(io.EOF)),
			"internal: An internal error occurred.: x.y: Gone."},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	e := errs.NotFound(errs.P("a", "1"), errs.P("b", "2"))
	if v, ok := e.Param("c"); ok || v != "" {
		t.Errorf(`Param("c") = %q, %v`, v, ok)
	}
	if m := e.ParamMap(); len(m) != 2 || m["a"] != "1" || m["b"] != "2" {
		t.Errorf("ParamMap() = %v", m)
	}
	if errs.NotFound().ParamMap() != nil {
		t.Error("ParamMap() of no params is not nil")
	}
}

// The cause of a received error is not in its text but stays reachable.
func TestRemoteCauseReachable(t *testing.T) {
	t.Parallel()
	cause := &net404{node: "10.0.0.5:8080"}
	e := errs.Remote(404, "errs_test.unknown_sku", "SKU 7 is unknown", nil, nil).WithCause(cause)
	if strings.Contains(e.Error(), cause.node) {
		t.Errorf("Error() = %q shows the cause", e.Error())
	}
	if errors.Unwrap(e) != cause || e.Cause() != cause || !errors.Is(e, cause) {
		t.Error("the cause is not reachable")
	}
	var n *net404
	if !errors.As(fmt.Errorf("relayed: %w", e), &n) || n != cause {
		t.Error("errors.As does not find the cause through a wrapper")
	}
	if !errors.Is(e, errTestUnknownSKU) {
		t.Error("errors.Is(received, def) = false")
	}
}

type net404 struct{ node string }

func (e *net404) Error() string { return e.node + " answered 404" }

func TestMissingParams(t *testing.T) {
	t.Parallel()
	p := []errs.Param{{Key: "sku", Value: "A-1"}, {Key: "empty", Value: ""}}
	tests := []struct {
		name, tmpl string
		want       []string
	}{
		{"none", "Plain.", nil},
		{"all given", "SKU {{.sku}}", nil},
		{"given empty", "{{.empty}}", nil},
		{"one missing", "SKU {{.sku}} in {{.store}}", []string{"store"}},
		{"in order, once each", "{{.b}} {{ .a }} {{.b}} {{.sku}}", []string{"b", "a"}},
		{"not placeholders", "{{sku}} {{.}} {{.a.b}} {{.x | printf}} {{.a", nil},
		{"innermost action", "{{ oops {{.zone}}", []string{"zone"}},
	}
	for _, tt := range tests {
		if got := errs.MissingParams(tt.tmpl, p); !slices.Equal(got, tt.want) {
			t.Errorf("%s: MissingParams(%q) = %q, want %q", tt.name, tt.tmpl, got, tt.want)
		}
	}
	if got := errTestUnknownSKU.New().MissingParams(); !slices.Equal(got, []string{"sku"}) {
		t.Errorf("Def.New() without its parameter: MissingParams() = %q", got)
	}
	if got := errTestUnknownSKU.New(errs.P("sku", "x")).MissingParams(); got != nil {
		t.Errorf("Def.New with its parameter: MissingParams() = %q", got)
	}
	if got := errs.InvalidArgument(errs.Field("qty", "must be at least 1")).MissingParams(); got != nil {
		t.Errorf("InvalidArgument: MissingParams() = %q", got)
	}
	if got := errs.Remote(404, "x.y", "Literal {{.sku}}", nil, nil).MissingParams(); got != nil {
		t.Errorf("received text: MissingParams() = %q", got)
	}
	if got := errTestUnknownSKU.New().Message(); strings.Contains(got, "<no value>") || got != "SKU  is unknown" {
		t.Errorf("Message() without its parameter = %q", got)
	}
}

func TestWireParams(t *testing.T) {
	t.Parallel()
	qty := errs.Field("qty", "must be at least 1")
	tests := []struct {
		name string
		e    *errs.Error
		want map[string]string
	}{
		{"no params", errs.NotFound(), nil},
		{"application params", errTestUnknownSKU.New(errs.P("sku", "A-1")), map[string]string{"sku": "A-1"}},
		{"derived fields param dropped", errs.InvalidArgument(qty), nil},
		{"others kept", errs.InvalidArgument(qty).WithParams(errs.P("hint", "h")), map[string]string{"hint": "h"}},
		{"received, derived again", errs.Remote(400, "invalid_argument", "m", nil, []errs.FieldViolation{qty}), nil},
		{"received with the param", errs.Remote(400, "invalid_argument", "m", []errs.Param{{Key: "fields", Value: "qty must be at least 1"}}, []errs.FieldViolation{qty}), nil},
		// An application's own parameter named fields is not derived.
		{"application param named fields", errTestOther.New(errs.P("fields", "a, b")).WithFields(qty), map[string]string{"fields": "a, b"}},
	}
	for _, tt := range tests {
		if got := tt.e.WireParams(); !maps.Equal(got, tt.want) || (got == nil) != (tt.want == nil) {
			t.Errorf("%s: WireParams() = %v, want %v", tt.name, got, tt.want)
		}
	}
	// What the wire carries rebuilds the same error.
	o := errs.InvalidArgument(qty)
	r := errs.Remote(o.Status(), o.Code(), "", nil, o.Fields())
	if r.Message() != o.Message() || !maps.Equal(r.ParamMap(), o.ParamMap()) || r.MessageKey() != o.MessageKey() {
		t.Errorf("rebuilt from the wire: message %q params %v key %q; want %q %v %q",
			r.Message(), r.ParamMap(), r.MessageKey(), o.Message(), o.ParamMap(), o.MessageKey())
	}
}
