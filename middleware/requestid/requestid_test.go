package requestid_test

import (
	"context"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/log"
	"github.com/wegomesh/wego/middleware"
	"github.com/wegomesh/wego/middleware/requestid"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type seen struct {
	ID      string
	Command string
}

// observe registers a command that reports the request id and command name
// its context carries.
func observe(t testing.TB, c *catalog.Catalog, name string) *catalog.Command[string, seen] {
	t.Helper()
	cmd, err := catalog.RegisterIn(c, name, func(ctx context.Context, _ string) (seen, error) {
		var s seen
		if id, ok := log.RequestIDFrom(ctx); ok {
			s.ID = id.String()
		}
		s.Command, _ = log.CommandFrom(ctx)
		return s, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return cmd
}

func newMW(t testing.TB, opts ...requestid.Option) middleware.Middleware {
	t.Helper()
	mw, err := requestid.New(requestid.DefaultConfig(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return mw
}

func TestServerGeneratesWhenAbsent(t *testing.T) {
	t.Parallel()
	c := catalog.New()
	c.UseServerSide(newMW(t))
	cmd := observe(t, c, "svc.Echo")

	first, err := cmd.Call(context.Background(), "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := log.ParseRequestID(first.ID); err != nil || len(first.ID) != 36 {
		t.Fatalf("generated id %q is not a UUID: %v", first.ID, err)
	}
	if first.Command != "svc.Echo" {
		t.Errorf("command in context = %q, want svc.Echo", first.Command)
	}
	second, _ := cmd.Call(context.Background(), "x")
	if second.ID == first.ID {
		t.Errorf("two calls got the same id %q", first.ID)
	}
}

func TestKeepsIncomingID(t *testing.T) {
	t.Parallel()
	c := catalog.New()
	c.UseServerSide(newMW(t))
	cmd := observe(t, c, "svc.Echo")

	id, ok := requestid.FromHeader(" req-42 ")
	if !ok {
		t.Fatal("FromHeader rejected a valid id")
	}
	got, err := cmd.Call(log.ContextWithRequestID(context.Background(), id), "x")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "req-42" {
		t.Errorf("id = %q, want the incoming req-42", got.ID)
	}
	if got.Command != "" {
		t.Errorf("command = %q: the middleware must not touch a context that has an id", got.Command)
	}
}

// routeFunc is a remote route that records what a transport client would
// send: the request id in the context.
type routeFunc func(ctx context.Context, c *middleware.Call) error

func (r routeFunc) Bind(*middleware.Spec) (middleware.Handler, error) {
	return middleware.Handler(r), nil
}

func TestClientSidePropagatesToRemoteRoute(t *testing.T) {
	t.Parallel()
	c := catalog.New()
	c.UseClientSide(newMW(t))
	var sent string
	cmd, err := catalog.DeclareIn[string, string](c, "remote.Echo")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetRoute("remote.*", routeFunc(func(ctx context.Context, call *middleware.Call) error {
		id, ok := log.RequestIDFrom(ctx)
		if !ok {
			t.Error("the route got no request id")
		}
		sent = id.String()
		*call.Response.(*string) = "pong"
		return nil
	})); err != nil {
		t.Fatal(err)
	}
	if _, err := cmd.Call(context.Background(), "ping"); err != nil {
		t.Fatal(err)
	}
	if len(sent) != 36 {
		t.Errorf("route sent id %q, want a generated UUID", sent)
	}
}

func TestClientAndServerShareOneID(t *testing.T) {
	t.Parallel()
	c := catalog.New()
	mw := newMW(t)
	var client string
	c.UseClientSide(mw, middleware.Func(func(next middleware.Handler) middleware.Handler {
		return func(ctx context.Context, call *middleware.Call) error {
			id, _ := log.RequestIDFrom(ctx)
			client = id.String()
			return next(ctx, call)
		}
	}))
	c.UseServerSide(mw)
	cmd := observe(t, c, "svc.Echo")
	got, err := cmd.Call(context.Background(), "x")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID == "" || got.ID != client {
		t.Errorf("server saw %q, client %q: want one id", got.ID, client)
	}
}

func TestWithGenerator(t *testing.T) {
	t.Parallel()
	c := catalog.New()
	fixed, _ := log.ParseRequestID("fixed-1")
	c.UseServerSide(newMW(t, requestid.WithGenerator(func() log.RequestID { return fixed })))
	cmd := observe(t, c, "svc.Echo")
	got, _ := cmd.Call(context.Background(), "x")
	if got.ID != "fixed-1" {
		t.Errorf("id = %q, want fixed-1", got.ID)
	}
}

func TestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	h := newMW(t).Wrap(&middleware.Spec{Name: "svc.Echo"}, func(context.Context, *middleware.Call) error { return nil })
	call := &middleware.Call{}
	bg := context.Background()
	withID := log.ContextWithRequestID(bg, log.NewRequestID())
	if n := testing.AllocsPerRun(1000, func() { _ = h(withID, call) }); n != 0 {
		t.Errorf("id present: %v allocs per call, want 0", n)
	}
	if n := testing.AllocsPerRun(1000, func() { _ = h(bg, call) }); n > 1 {
		t.Errorf("id absent: %v allocs per call, want at most 1", n)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = requestid.FromHeader("req-1") }); n != 0 {
		t.Errorf("FromHeader of a valid id: %v allocs, want 0", n)
	}
}

func TestFromHeader(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want string
		ok   bool
	}{
		{"abc-123", "abc-123", true},
		{"  9b2c:1.x_y  ", "9b2c:1.x_y", true},
		{"", "", false},
		{"   ", "", false},
		{"a b", "", false},
		{"evil\nline", "", false},
		{`"quoted"`, "", false},
		{strings.Repeat("a", log.MaxRequestIDLen), strings.Repeat("a", log.MaxRequestIDLen), true},
		{strings.Repeat("a", log.MaxRequestIDLen+1), "", false},
		{"héllo", "", false},
	} {
		id, ok := requestid.FromHeader(tc.in)
		if ok != tc.ok || id.String() != tc.want {
			t.Errorf("FromHeader(%q) = %q, %v; want %q, %v", tc.in, id, ok, tc.want, tc.ok)
		}
	}
}

func FuzzFromHeader(f *testing.F) {
	for _, s := range []string{"", "req-1", " a ", "a\x00b", strings.Repeat("z", 200)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, ok := requestid.FromHeader(s)
		if !ok {
			if !id.IsZero() {
				t.Fatalf("rejected %q but returned %q", s, id)
			}
			return
		}
		got := id.String()
		if got == "" || len(got) > log.MaxRequestIDLen || got != strings.TrimSpace(s) {
			t.Fatalf("FromHeader(%q) = %q", s, got)
		}
		for i := 0; i < len(got); i++ {
			if b := got[i]; b <= ' ' || b >= 0x7f || b == '"' || b == '\\' {
				t.Fatalf("FromHeader(%q) accepted byte %q", s, b)
			}
		}
	})
}

func TestEnsure(t *testing.T) {
	t.Parallel()
	ctx, id := requestid.Ensure(context.Background())
	if id.IsZero() {
		t.Fatal("Ensure returned no id")
	}
	if got, _ := log.RequestIDFrom(ctx); got != id {
		t.Errorf("context carries %q, want %q", got, id)
	}
	ctx2, id2 := requestid.Ensure(ctx)
	if ctx2 != ctx || id2 != id {
		t.Error("Ensure replaced an id that was there")
	}
}

func TestConfig(t *testing.T) {
	t.Parallel()
	if err := requestid.DefaultConfig().Validate(); err != nil {
		t.Errorf("default config: %v", err)
	}
	if got := (requestid.Config{}).HeaderName(); got != requestid.DefaultHeader {
		t.Errorf("zero config header = %q", got)
	}
	_, err := requestid.New(requestid.Config{Header: "X Bad"})
	if err == nil || !strings.HasPrefix(err.Error(), "config: middleware.requestid.header: ") {
		t.Errorf("bad header: err = %v, want one naming middleware.requestid.header", err)
	}
}
