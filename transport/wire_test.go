package transport_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/i18n"
	"github.com/wegomesh/wego/log"
	"github.com/wegomesh/wego/middleware/idempotency"
	"github.com/wegomesh/wego/transport"
)

func TestParseTimeout(t *testing.T) {
	for _, c := range []struct {
		in   []string
		want time.Duration
		ok   bool
	}{
		{[]string{"1"}, time.Millisecond, true},
		{[]string{"99999999"}, transport.MaxTimeout, true},
		{[]string{"1500"}, 1500 * time.Millisecond, true},
		{[]string{"0"}, 0, false},
		{[]string{"123456789"}, 0, false},
		{[]string{""}, 0, false},
		{[]string{"-1"}, 0, false},
		{[]string{"+1"}, 0, false},
		{[]string{"1.5"}, 0, false},
		{[]string{"1s"}, 0, false},
		{[]string{" 1"}, 0, false},
		{[]string{"1", "2"}, 0, false},
		{nil, 0, false},
	} {
		got, ok := transport.ParseTimeout(c.in)
		if ok != c.ok || ok && got != c.want {
			t.Errorf("ParseTimeout(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestFormatTimeout(t *testing.T) {
	for _, c := range []struct {
		left time.Duration
		want string
	}{
		{time.Nanosecond, "1"},
		{time.Millisecond, "1"},
		{1500*time.Millisecond + 1, "1501"},
		{48 * time.Hour, "99999999"},
	} {
		if got := transport.FormatTimeout(c.left); got != c.want {
			t.Errorf("FormatTimeout(%v) = %q, want %q", c.left, got, c.want)
		}
		if d, ok := transport.ParseTimeout([]string{transport.FormatTimeout(c.left)}); !ok || d < min(c.left, transport.MaxTimeout) {
			t.Errorf("FormatTimeout(%v) parses back to %v, %v", c.left, d, ok)
		}
	}
}

func TestRequestIDOf(t *testing.T) {
	id, ok := transport.RequestIDOf(transport.MD{"X-Request-Id": {"abc-1"}})
	if !ok || id.String() != "abc-1" {
		t.Errorf("valid id: %q, %v", id, ok)
	}
	for _, md := range []transport.MD{nil, {"X-Request-Id": {"bad id"}}, {"X-Request-Id": {strings.Repeat("a", 200)}}} {
		id, ok := transport.RequestIDOf(md)
		if ok || id.IsZero() {
			t.Errorf("%v: %q, %v; want a new id and false", md, id, ok)
		}
	}
}

func TestOutgoing(t *testing.T) {
	id, _ := log.ParseRequestID("call-9")
	ctx := idempotency.WithKey(log.ContextWithRequestID(context.Background(), id), "key-1")
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	md := transport.MD{}
	var injected bool
	p := propagator{inject: func(context.Context, transport.Metadata) { injected = true }}
	if err := transport.Outgoing(ctx, md, []transport.Propagator{p}); err != nil {
		t.Fatal(err)
	}
	if !injected || md.Get("x-request-id") != "call-9" || md.Get("idempotency-key") != "key-1" {
		t.Errorf("metadata %v (propagator ran: %v)", md, injected)
	}
	if d, ok := transport.ParseTimeout(md.Values(transport.HeaderTimeout)); !ok || d > 2*time.Second || d < time.Second {
		t.Errorf("timeout %q", md.Values(transport.HeaderTimeout))
	}

	md = transport.MD{}
	if err := transport.Outgoing(context.Background(), md, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := log.ParseRequestID(md.Get(transport.HeaderRequestID)); err != nil || md.Get(transport.HeaderTimeout) != "" {
		t.Errorf("without a request id or deadline: %v", md)
	}

	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Millisecond))
	defer cancel2()
	md = transport.MD{}
	if err := transport.Outgoing(expired, md, []transport.Propagator{p}); errs.KindOf(err) != errs.KindDeadlineExceeded || len(md) != 0 {
		t.Errorf("expired: %v, metadata %v; want deadline_exceeded and nothing written", err, md)
	}
}

type propagator struct {
	inject func(context.Context, transport.Metadata)
}

func (p propagator) Inject(ctx context.Context, md transport.Metadata) { p.inject(ctx, md) }
func (p propagator) Extract(ctx context.Context, _ transport.Metadata) context.Context {
	return ctx
}

func TestContextError(t *testing.T) {
	if k := errs.KindOf(transport.ContextError(context.DeadlineExceeded, nil)); k != errs.KindDeadlineExceeded {
		t.Errorf("deadline: %v", k)
	}
	if k := errs.KindOf(transport.ContextError(context.Canceled, nil)); k != errs.KindCanceled {
		t.Errorf("canceled: %v", k)
	}
}

var errWireTest = errs.Define("wiretest.out_of_stock", errs.KindConflict, "Only {{.left}} left.")

func TestErrorRoundTrip(t *testing.T) {
	e := errWireTest.New(errs.P("left", 2), errs.InternalParam("db", "SENTINEL"))
	body := transport.EncodeError(e, "rid-1", nil)
	if strings.Contains(string(body), "SENTINEL") {
		t.Fatalf("internal parameter in body %s", body)
	}
	for _, status := range []int{409, 0} {
		got, ok := transport.DecodeError(status, body)
		if !ok || !errors.Is(got, errWireTest) || got.Kind() != errs.KindConflict || got.Message() != "Only 2 left." {
			t.Errorf("status %d: %v, %v", status, got, ok)
		}
	}
}

// A code that the caller does not know keeps the kind the server sent,
// whether or not the transport has statuses.
func TestDecodeErrorUnknownCode(t *testing.T) {
	body := []byte(`{"code":"elsewhere.locked","kind":"permission_denied","message":"Locked."}`)
	for _, status := range []int{0, 403} {
		e, ok := transport.DecodeError(status, body)
		if !ok || e.Kind() != errs.KindPermissionDenied || e.Code() != "elsewhere.locked" || e.Message() != "Locked." {
			t.Errorf("status %d: %v (kind %v), %v", status, e, e.Kind(), ok)
		}
	}
	e, ok := transport.DecodeError(0, []byte(`{"code":"elsewhere.locked","kind":"bogus","message":"x"}`))
	if !ok || e.Kind() != errs.KindInternal {
		t.Errorf("bogus kind: %v, %v; want internal", e, ok)
	}
	for _, bad := range []string{"", "<html>", `{"code":"Bad Code"}`, `{"message":"x"}`, "\xff"} {
		if e, ok := transport.DecodeError(500, []byte(bad)); ok || e != nil {
			t.Errorf("%q: %v, %v; want not a WeGO body", bad, e, ok)
		}
	}
}

// The English text of the timeout violation is the locale file's.
func TestReasonTimeoutLocalized(t *testing.T) {
	b, err := i18n.New()
	if err != nil {
		t.Fatal(err)
	}
	e := transport.ReasonTimeout.Invalid(transport.HeaderTimeout)
	for _, lang := range []string{"en", "es"} {
		fs := b.LocalizeFields(e, lang)
		if len(fs) != 1 || fs[0].Field != transport.HeaderTimeout {
			t.Fatalf("%s: %+v", lang, fs)
		}
		if lang == "en" && fs[0].Reason != transport.ReasonTimeout.Text {
			t.Errorf("en: %q, want %q", fs[0].Reason, transport.ReasonTimeout.Text)
		}
		if lang == "es" && fs[0].Reason == transport.ReasonTimeout.Text {
			t.Errorf("es: not translated: %q", fs[0].Reason)
		}
	}
}

func TestMDFrom(t *testing.T) {
	md := transport.MDFrom(map[string][]string{"x-request-id": {"a"}, "X-REQUEST-ID": {"b"}, "Nats-Msg-Id": {"c"}})
	if got := md.Values(transport.HeaderRequestID); !slices.Equal(got, []string{"b", "a"}) {
		t.Errorf("joined values %q", got)
	}
	if md.Get("nats-msg-id") != "c" || !slices.Equal(md.Keys(), []string{"Nats-Msg-Id", "X-Request-Id"}) {
		t.Errorf("md %v", md)
	}
	if transport.MDFrom(nil) != nil {
		t.Error("MDFrom(nil) is not nil")
	}
}
