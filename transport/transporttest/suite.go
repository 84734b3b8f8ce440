// Package transporttest is the contract that every WeGO transport passes:
// one suite of tests, run against a transport through a small [Harness],
// that checks what callers of any transport rely on — the request id
// echoed, the caller's deadline honoured, typed errors that survive the
// trip with errors.Is, and bad input (an unsupported content type, an
// oversized or malformed body, a malformed request id or timeout, a peer
// that answers garbage) refused with a typed error, the right status and
// no internal detail.
//
// A transport package runs it from a test:
//
//	func TestContract(t *testing.T) { transporttest.Run(t, harness{}) }
package transporttest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/log"
	"github.com/wegomesh/wego/transport"
)

// Harness starts the transport under test and talks to it.
type Harness interface {
	// Serve starts a server of the transport for host (host.Catalog holds
	// the suite's commands) that accepts request bodies of at most
	// maxBody bytes and stops it when t ends.
	Serve(t *testing.T, host transport.Host, maxBody int64) Server
	// BadPeer returns a remote route of the transport to a peer that is
	// not a WeGO server: it answers every request with a failure whose
	// body is body, which is not a WeGO error body.
	BadPeer(t *testing.T, body []byte) catalog.Route
}

// Server is a started server of the transport under test.
type Server interface {
	// Do sends one request for the named command as any client of the
	// transport could: md is the request's metadata, sent as it is (the
	// suite sets [transport.HeaderContentType] itself), body its body.
	// The error is for a request that got no answer.
	Do(ctx context.Context, command string, md transport.MD, body []byte) (Answer, error)
	// Route returns a remote route to the server, as the transport's
	// route factory would build it from configuration.
	Route(t *testing.T) catalog.Route
}

// Answer is a server's answer to [Server.Do].
type Answer struct {
	// Failed reports an error answer; Body is then an error body.
	Failed bool
	// Status is the transport's status of the answer, in HTTP's terms,
	// or 0 for a transport that has none.
	Status int
	// Metadata is the answer's metadata.
	Metadata transport.MD
	// Body is the answer's body.
	Body []byte
}

// The suite's commands.
const (
	echoName = "contract.Echo"
	failName = "contract.Fail"
	slowName = "contract.Slow"
	leakName = "contract.Leak"
)

// EchoRequest is the request of the suite's echo command.
type EchoRequest struct {
	Text string `json:"text"`
}

// EchoResponse is what the echo command saw of its call.
type EchoResponse struct {
	Text        string `json:"text"`
	RequestID   string `json:"request_id"`
	HadDeadline bool   `json:"had_deadline"`
	DeadlineMs  int64  `json:"deadline_ms"`
}

// ErrOutOfStock is the typed error of the suite's failing command.
var ErrOutOfStock = errs.Define("contract.out_of_stock", errs.KindConflict,
	"Only {{.left}} of {{.item}} left.")

// sentinel is internal detail that must never reach a caller.
const sentinel = "SENTINEL-7f3a at /srv/app/db.go:42"

type fixture struct {
	cat   *catalog.Catalog
	calls atomic.Int64
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{cat: catalog.New()}
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(catalog.RegisterIn(f.cat, echoName, func(ctx context.Context, r EchoRequest) (EchoResponse, error) {
		f.calls.Add(1)
		id, _ := log.RequestIDFrom(ctx)
		resp := EchoResponse{Text: r.Text, RequestID: id.String()}
		if dl, ok := ctx.Deadline(); ok {
			resp.HadDeadline, resp.DeadlineMs = true, time.Until(dl).Milliseconds()
		}
		return resp, nil
	}))
	must(catalog.RegisterIn(f.cat, failName, func(_ context.Context, r EchoRequest) (EchoResponse, error) {
		f.calls.Add(1)
		return EchoResponse{}, ErrOutOfStock.New(errs.P("left", 2), errs.P("item", r.Text))
	}))
	must(catalog.RegisterIn(f.cat, slowName, func(ctx context.Context, r EchoRequest) (EchoResponse, error) {
		f.calls.Add(1)
		select {
		case <-ctx.Done():
			return EchoResponse{}, ctx.Err()
		case <-time.After(10 * time.Second):
			return EchoResponse{Text: r.Text}, nil
		}
	}))
	must(catalog.RegisterIn(f.cat, leakName, func(context.Context, EchoRequest) (EchoResponse, error) {
		f.calls.Add(1)
		return EchoResponse{}, errs.Internal().WithCause(errors.New(sentinel))
	}))
	return f
}

// maxBody is the body limit of the suite's servers.
const maxBody = 1024

// Run runs the contract suite against the transport of h.
func Run(t *testing.T, h Harness) {
	start := func(t *testing.T) (*fixture, Server) {
		f := newFixture(t)
		host := transport.Host{Name: "contract", Catalog: f.cat, Logger: zap.NewNop()}
		return f, h.Serve(t, host, maxBody)
	}
	ctx := context.Background()

	t.Run("RequestIDEchoed", func(t *testing.T) {
		_, s := start(t)
		a := do(t, s, echoName, transport.MD{transport.HeaderRequestID: {"contract-id-1"}}, `{"text":"hi"}`)
		if got := a.Metadata.Get(transport.HeaderRequestID); got != "contract-id-1" {
			t.Errorf("answer's request id %q, want the request's", got)
		}
		if r := echoOf(t, a); r.RequestID != "contract-id-1" || r.Text != "hi" {
			t.Errorf("the command saw %+v, want request id contract-id-1 and text hi", r)
		}
	})

	t.Run("MalformedRequestIDReplaced", func(t *testing.T) {
		_, s := start(t)
		for _, bad := range []string{strings.Repeat("x", log.MaxRequestIDLen+1), "id with spaces", "id/with/slashes"} {
			a := do(t, s, echoName, transport.MD{transport.HeaderRequestID: {bad}}, `{}`)
			got := a.Metadata.Get(transport.HeaderRequestID)
			if _, err := log.ParseRequestID(got); err != nil || got == bad {
				t.Errorf("request id %.20q: answer's id %q, want a new valid one", bad, got)
			}
			if r := echoOf(t, a); r.RequestID != got {
				t.Errorf("request id %.20q: the command saw id %q, the answer echoes %q", bad, r.RequestID, got)
			}
		}
	})

	t.Run("DeadlineHonoured", func(t *testing.T) {
		_, s := start(t)
		a := do(t, s, echoName, transport.MD{transport.HeaderTimeout: {"1500"}}, `{}`)
		if r := echoOf(t, a); !r.HadDeadline || r.DeadlineMs <= 0 || r.DeadlineMs > 1500 {
			t.Errorf("the command saw deadline %v in %d ms, want one within 1500 ms", r.HadDeadline, r.DeadlineMs)
		}
		began := time.Now()
		a = do(t, s, slowName, transport.MD{transport.HeaderTimeout: {"50"}}, `{}`)
		wantError(t, a, errs.KindDeadlineExceeded, "")
		if d := time.Since(began); d > 5*time.Second {
			t.Errorf("a command with 50 ms left ran %v", d)
		}
	})

	t.Run("ExpiredDeadlineNotSent", func(t *testing.T) {
		f, s := start(t)
		echo := remote[EchoRequest, EchoResponse](t, s.Route(t), echoName)
		c, cancel := context.WithDeadline(ctx, time.Now().Add(-time.Second))
		defer cancel()
		_, err := echo.Call(c, EchoRequest{})
		if errs.KindOf(err) != errs.KindDeadlineExceeded {
			t.Errorf("call with an expired deadline: %v, want deadline_exceeded", err)
		}
		if n := f.calls.Load(); n != 0 {
			t.Errorf("the command ran %d times, want 0", n)
		}
	})

	t.Run("InvalidTimeout", func(t *testing.T) {
		f, s := start(t)
		for _, bad := range []string{"soon", "0", "-5", "1.5", "123456789"} {
			a := do(t, s, echoName, transport.MD{transport.HeaderTimeout: {bad}}, `{}`)
			e := wantError(t, a, errs.KindInvalidArgument, "")
			if e != nil && (len(e.Fields()) != 1 || e.Fields()[0].Field != transport.HeaderTimeout) {
				t.Errorf("timeout %q: fields %+v, want one on %s", bad, e.Fields(), transport.HeaderTimeout)
			}
		}
		if n := f.calls.Load(); n != 0 {
			t.Errorf("the command ran %d times, want 0", n)
		}
	})

	t.Run("TypedErrorRoundTrip", func(t *testing.T) {
		_, s := start(t)
		fail := remote[EchoRequest, EchoResponse](t, s.Route(t), failName)
		_, err := fail.Call(ctx, EchoRequest{Text: "widget"})
		if !errors.Is(err, ErrOutOfStock) {
			t.Fatalf("error %v, want errors.Is ErrOutOfStock", err)
		}
		e, _ := errs.As(err)
		if e.Kind() != errs.KindConflict {
			t.Errorf("kind %v, want conflict", e.Kind())
		}
		if v, _ := e.Param("item"); v != "widget" {
			t.Errorf("param item %q, want widget", v)
		}
		if got := e.Message(); got != "Only 2 of widget left." {
			t.Errorf("message %q", got)
		}
	})

	t.Run("RemoteCallCarriesRequestID", func(t *testing.T) {
		_, s := start(t)
		echo := remote[EchoRequest, EchoResponse](t, s.Route(t), echoName)
		id, _ := log.ParseRequestID("caller-id-7")
		c, cancel := context.WithTimeout(log.ContextWithRequestID(ctx, id), 5*time.Second)
		defer cancel()
		r, err := echo.Call(c, EchoRequest{Text: "x"})
		if err != nil {
			t.Fatal(err)
		}
		if r.RequestID != "caller-id-7" || r.Text != "x" || !r.HadDeadline {
			t.Errorf("the server saw %+v, want the caller's id, text and deadline", r)
		}
	})

	t.Run("UnsupportedMediaType", func(t *testing.T) {
		f, s := start(t)
		for _, ct := range []string{"text/plain", "application/json; charset=latin1", "application/xml"} {
			a := do(t, s, echoName, transport.MD{transport.HeaderContentType: {ct}}, `{"text":"hi"}`)
			e := wantError(t, a, errs.KindInvalidArgument, transport.ErrUnsupportedMediaType.Code())
			if e != nil && a.Status != 0 && a.Status != 415 {
				t.Errorf("content type %q: status %d, want 415", ct, a.Status)
			}
		}
		if n := f.calls.Load(); n != 0 {
			t.Errorf("the command ran %d times, want 0", n)
		}
	})

	t.Run("BodyTooLarge", func(t *testing.T) {
		f, s := start(t)
		big := `{"text":"` + strings.Repeat("a", maxBody) + `"}`
		a := do(t, s, echoName, nil, big)
		wantError(t, a, errs.KindInvalidArgument, transport.ErrBodyTooLarge.Code())
		if a.Status != 0 && a.Status != 413 {
			t.Errorf("status %d, want 413", a.Status)
		}
		if n := f.calls.Load(); n != 0 {
			t.Errorf("the command ran %d times, want 0", n)
		}
		ok := `{"text":"` + strings.Repeat("a", maxBody-len(`{"text":""}`)) + `"}`
		if a := do(t, s, echoName, nil, ok); a.Failed {
			t.Errorf("a body of exactly the limit failed: %s", a.Body)
		}
	})

	t.Run("MalformedBody", func(t *testing.T) {
		f, s := start(t)
		for _, body := range []string{`{"text":`, `{"text":1}`, `{"text":"a","text":"b"}`, `{"txt":"a"}`, `{"text":"a"} x`, "{\"text\":\"\xff\"}"} {
			a := do(t, s, echoName, nil, body)
			if e := wantError(t, a, errs.KindInvalidArgument, ""); e != nil && len(e.Fields()) == 0 {
				t.Errorf("body %q: no field violation named what is wrong", body)
			}
		}
		if n := f.calls.Load(); n != 0 {
			t.Errorf("the command ran %d times, want 0", n)
		}
	})

	t.Run("NoInternalDetail", func(t *testing.T) {
		_, s := start(t)
		a := do(t, s, leakName, nil, `{}`)
		wantError(t, a, errs.KindInternal, "")
		if bytes.Contains(a.Body, []byte("SENTINEL")) {
			t.Errorf("the answer carries internal detail: %s", a.Body)
		}
		_, err := remote[EchoRequest, EchoResponse](t, s.Route(t), leakName).Call(ctx, EchoRequest{})
		if e, ok := errs.As(err); !ok || e.Kind() != errs.KindInternal || strings.Contains(e.Message(), "SENTINEL") {
			t.Errorf("remote call: %v, want internal without detail", err)
		}
	})

	t.Run("PeerAnswersGarbage", func(t *testing.T) {
		for _, body := range []string{"<html>oops SENTINEL</html>", "", `{"code":"Bad Code!"}`, "\xff\xfe"} {
			r := h.BadPeer(t, []byte(body))
			_, err := remote[EchoRequest, EchoResponse](t, r, echoName).Call(ctx, EchoRequest{})
			e, ok := errs.As(err)
			if !ok {
				t.Errorf("body %q: error %v is not typed", body, err)
				continue
			}
			if k := e.Kind(); k != errs.KindInternal && k != errs.KindUnavailable {
				t.Errorf("body %q: kind %v, want internal or unavailable", body, k)
			}
			if strings.Contains(e.Message(), "SENTINEL") || strings.Contains(e.Code(), "Bad") {
				t.Errorf("body %q: the peer's text reached the error: %s %s", body, e.Code(), e.Message())
			}
		}
	})
}

// do sends body as JSON to command and fails t when no answer comes.
func do(t *testing.T, s Server, command string, md transport.MD, body string) Answer {
	t.Helper()
	if md == nil {
		md = transport.MD{}
	}
	if md.Get(transport.HeaderContentType) == "" {
		md.Set(transport.HeaderContentType, transport.ContentTypeJSON)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, err := s.Do(ctx, command, md, []byte(body))
	if err != nil {
		t.Fatalf("%s: no answer: %v", command, err)
	}
	return a
}

// echoOf decodes a successful answer of the echo command.
func echoOf(t *testing.T, a Answer) EchoResponse {
	t.Helper()
	if a.Failed {
		t.Fatalf("error answer: %s", a.Body)
	}
	var r EchoResponse
	if err := json.Unmarshal(a.Body, &r); err != nil {
		t.Fatalf("answer %q: %v", a.Body, err)
	}
	return r
}

// wantError checks that a is an error answer of kind (and code, when not
// ""), with a WeGO error body whose status, when the transport has one,
// is the error's.
func wantError(t *testing.T, a Answer, kind errs.Kind, code string) *errs.Error {
	t.Helper()
	if !a.Failed {
		t.Errorf("answer %s, want an error of kind %v", a.Body, kind)
		return nil
	}
	e, ok := transport.DecodeError(a.Status, a.Body)
	if !ok {
		t.Errorf("error answer %q is not a WeGO error body", a.Body)
		return nil
	}
	if e.Kind() != kind || code != "" && e.Code() != code {
		t.Errorf("error %s (kind %v), want kind %v code %q", e.Code(), e.Kind(), kind, code)
	}
	if a.Status != 0 && a.Status != e.Status() {
		t.Errorf("status %d, want %d for %s", a.Status, e.Status(), e.Code())
	}
	var eb transport.ErrorBody
	if json.Unmarshal(a.Body, &eb) == nil && (eb.RequestID != a.Metadata.Get(transport.HeaderRequestID) || eb.RequestID == "") {
		t.Errorf("error body's request id %q, the answer's %q", eb.RequestID, a.Metadata.Get(transport.HeaderRequestID))
	}
	return e
}

// remote declares command in a catalog of its own whose route is r, the
// way a caller in another process would, and returns its handle.
func remote[Req, Resp any](t *testing.T, r catalog.Route, command string) *catalog.Command[Req, Resp] {
	t.Helper()
	cat := catalog.New()
	cmd, err := catalog.DeclareIn[Req, Resp](cat, command)
	if err != nil {
		t.Fatal(err)
	}
	if err := cat.SetRoute(command, r); err != nil {
		t.Fatal(err)
	}
	return cmd
}
