package logging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/log"
	"github.com/wegomesh/wego/middleware"
	"github.com/wegomesh/wego/middleware/logging"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type Card struct {
	Holder string `json:"holder"`
	Number string `json:"card_number"`
	CVV    string `json:"cvv,omitempty"`
}

type Meta struct {
	Trace string `json:"trace"`
}

type PayRequest struct {
	Meta                       // embedded: its fields are inlined
	User     string            `json:"user"`
	Password string            `json:"pw"` // redacted by its Go name
	PIN      string            `json:"pin" wego:"secret"`
	IBAN     string            `json:"iban"`
	Card     *Card             `json:"card"`
	Headers  map[string]string `json:"headers"`
	Amount   int               `json:"amount"`
	Note     string            `json:"note,omitempty"`
	internal string
}

type PayResponse struct {
	Receipt string `json:"receipt"`
	Token   string `json:"token"`
}

var ErrDeclined = errs.Define("pay.declined", errs.KindConflict, "The card was declined.")

func payFn(_ context.Context, r PayRequest) (PayResponse, error) {
	switch r.User {
	case "declined":
		return PayResponse{}, ErrDeclined.New()
	case "broken":
		return PayResponse{}, errs.Unavailable()
	case "plain":
		return PayResponse{}, errors.New("disk on fire")
	}
	return PayResponse{Receipt: "r-1", Token: "tok-SECRET"}, nil
}

func request(user string) PayRequest {
	return PayRequest{
		Meta:     Meta{Trace: "t-1"},
		User:     user,
		Password: "hunter2-SECRET",
		PIN:      "1234-SECRET",
		IBAN:     "DE00-SECRET",
		Card:     &Card{Holder: "Ann", Number: "4111-SECRET", CVV: "999-SECRET"},
		Headers:  map[string]string{"Authorization": "Bearer SECRET", "Accept": "json"},
		Amount:   42,
		internal: "x",
	}
}

type fixture struct {
	pay  *catalog.Command[PayRequest, PayResponse]
	logs *observer.ObservedLogs
	cat  *catalog.Catalog
}

func setup(t testing.TB, cfg logging.Config, level zapcore.Level) fixture {
	t.Helper()
	core, logs := observer.New(level)
	mw, err := logging.New(cfg, logging.WithLogger(zap.New(core)))
	if err != nil {
		t.Fatal(err)
	}
	c := catalog.New()
	c.UseServerSide(mw)
	pay, err := catalog.RegisterIn(c, "pay.Charge", payFn)
	if err != nil {
		t.Fatal(err)
	}
	return fixture{pay: pay, logs: logs, cat: c}
}

func reqCtx(id string) context.Context {
	rid, _ := log.ParseRequestID(id)
	return log.ContextWithRequestID(context.Background(), rid)
}

// encode renders an entry as the production JSON encoder would.
func encode(t testing.TB, e observer.LoggedEntry) string {
	t.Helper()
	enc := zapcore.NewJSONEncoder(log.EncoderConfig("json"))
	buf, err := enc.EncodeEntry(e.Entry, e.Context)
	if err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func only(t testing.TB, logs *observer.ObservedLogs) observer.LoggedEntry {
	t.Helper()
	all := logs.TakeAll()
	if len(all) != 1 {
		t.Fatalf("%d lines, want 1: %v", len(all), all)
	}
	return all[0]
}

func TestOneLinePerCall(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		user   string
		level  zapcore.Level
		code   string
		status int64 // 0: none logged
	}{
		{"ann", zapcore.DebugLevel, "ok", 0},
		{"declined", zapcore.WarnLevel, "pay.declined", 409},
		{"broken", zapcore.ErrorLevel, "unavailable", 503},
		{"plain", zapcore.ErrorLevel, "internal", 500},
	} {
		t.Run(tc.user, func(t *testing.T) {
			t.Parallel()
			f := setup(t, logging.DefaultConfig(), zapcore.DebugLevel)
			_, _ = f.pay.Call(reqCtx("req-9"), request(tc.user))
			e := only(t, f.logs)
			if e.Level != tc.level || e.Message != logging.Message {
				t.Errorf("level, msg = %v, %q; want %v, %q", e.Level, e.Message, tc.level, logging.Message)
			}
			m := e.ContextMap()
			if m["command"] != "pay.Charge" || m["side"] != "server" || m["code"] != tc.code || m["request_id"] != "req-9" {
				t.Errorf("fields = %v", m)
			}
			if _, ok := m["duration"]; !ok {
				t.Error("no duration")
			}
			if st, ok := m["status"]; ok != (tc.status != 0) || (ok && st != tc.status) {
				t.Errorf("status field = %v (present %v), want %d", st, ok, tc.status)
			}
			if _, ok := m["node"]; ok {
				t.Error("node set for a local call")
			}
			if _, ok := m["error"]; ok != (tc.code != "ok") {
				t.Errorf("error field present = %v for code %s", ok, tc.code)
			}
			if _, ok := m["request"]; ok {
				t.Error("request body logged without bodies: true")
			}
		})
	}
}

func TestSuccessLevel(t *testing.T) {
	t.Parallel()
	f := setup(t, logging.Config{SuccessLevel: "info"}, zapcore.InfoLevel)
	_, _ = f.pay.Call(context.Background(), request("ann"))
	if e := only(t, f.logs); e.Level != zapcore.InfoLevel {
		t.Errorf("level = %v, want info", e.Level)
	}

	// At info, the default debug success line is not written, failures are.
	f = setup(t, logging.DefaultConfig(), zapcore.InfoLevel)
	_, _ = f.pay.Call(context.Background(), request("ann"))
	if n := f.logs.Len(); n != 0 {
		t.Errorf("%d lines for a success at debug with the logger at info", n)
	}
	_, _ = f.pay.Call(context.Background(), request("declined"))
	if e := only(t, f.logs); e.Level != zapcore.WarnLevel {
		t.Errorf("level = %v, want warn", e.Level)
	}
}

func TestBodiesRedacted(t *testing.T) {
	t.Parallel()
	cfg := logging.DefaultConfig()
	cfg.Bodies = true
	cfg.Redact = []string{"IBAN"}
	f := setup(t, cfg, zapcore.DebugLevel)
	if _, err := f.pay.Call(context.Background(), request("ann")); err != nil {
		t.Fatal(err)
	}
	e := only(t, f.logs)
	line := encode(t, e)
	if strings.Contains(line, "SECRET") {
		t.Fatalf("a secret reached the log line: %s", line)
	}
	var parsed struct {
		Request  map[string]any `json:"request"`
		Response map[string]any `json:"response"`
	}
	if err := json.Unmarshal([]byte(line), &parsed); err != nil {
		t.Fatalf("line is not JSON: %v\n%s", err, line)
	}
	req := parsed.Request
	for _, k := range []string{"pw", "pin", "iban"} {
		if req[k] != logging.Redacted {
			t.Errorf("request.%s = %v, want %s", k, req[k], logging.Redacted)
		}
	}
	card, _ := req["card"].(map[string]any)
	if card["card_number"] != logging.Redacted || card["cvv"] != logging.Redacted || card["holder"] != "Ann" {
		t.Errorf("card = %v", card)
	}
	headers, _ := req["headers"].(map[string]any)
	if headers["Authorization"] != logging.Redacted || headers["Accept"] != "json" {
		t.Errorf("headers = %v", headers)
	}
	if req["user"] != "ann" || req["amount"] != 42.0 || req["trace"] != "t-1" {
		t.Errorf("plain fields = %v", req)
	}
	if _, ok := req["note"]; ok {
		t.Error("omitempty field logged")
	}
	if _, ok := req["internal"]; ok {
		t.Error("unexported field logged")
	}
	if parsed.Response["receipt"] != "r-1" || parsed.Response["token"] != logging.Redacted {
		t.Errorf("response = %v", parsed.Response)
	}

	// A failed call logs the request but no response.
	_, _ = f.pay.Call(context.Background(), request("declined"))
	m := only(t, f.logs).ContextMap()
	if _, ok := m["response"]; ok {
		t.Error("response logged for a failed call")
	}
	if _, ok := m["request"]; !ok {
		t.Error("request not logged for a failed call")
	}
}

func TestMaxBodyBytes(t *testing.T) {
	t.Parallel()
	f := setup(t, logging.Config{Bodies: true, MaxBodyBytes: 20}, zapcore.DebugLevel)
	_, _ = f.pay.Call(context.Background(), request("ann"))
	s, ok := only(t, f.logs).ContextMap()["request"].(string)
	if !ok || !strings.HasSuffix(s, "…") || len(s) > 20+len("…") {
		t.Errorf("request = %q, want a string cut at 20 bytes", s)
	}
}

func TestPerCommandOverrides(t *testing.T) {
	t.Parallel()
	yes, no := true, false
	cfg := logging.Config{
		Commands: map[string]logging.CommandConfig{
			"pay.*":        {SuccessLevel: "info", Bodies: &yes},
			"pay.refund":   {Bodies: &no}, // lower case, as a config file may give it
			"health.Check": {Skip: true},
		},
	}
	f := setup(t, cfg, zapcore.DebugLevel)
	refund, _ := catalog.RegisterIn(f.cat, "pay.Refund", payFn)
	var health int
	check, _ := catalog.RegisterIn(f.cat, "health.Check", func(context.Context, struct{}) (int, error) {
		health++
		return health, nil
	})

	_, _ = f.pay.Call(context.Background(), request("ann"))
	e := only(t, f.logs)
	if _, ok := e.ContextMap()["request"]; !ok || e.Level != zapcore.InfoLevel {
		t.Errorf("pay.Charge: level %v, fields %v; want info with bodies (from pay.*)", e.Level, e.ContextMap())
	}
	_, _ = refund.Call(context.Background(), request("ann"))
	e = only(t, f.logs)
	if _, ok := e.ContextMap()["request"]; ok || e.Level != zapcore.InfoLevel {
		t.Errorf("pay.Refund: level %v, fields %v; want info without bodies", e.Level, e.ContextMap())
	}
	if n, _ := check.Call(context.Background(), struct{}{}); n != 1 || f.logs.Len() != 0 {
		t.Errorf("health.Check: %d lines, want none", f.logs.Len())
	}
}

func TestSkipReturnsNext(t *testing.T) {
	t.Parallel()
	mw, _ := logging.New(logging.Config{Commands: map[string]logging.CommandConfig{"*": {Skip: true}}})
	var called bool
	next := func(context.Context, *middleware.Call) error { called = true; return nil }
	if h := mw.Wrap(&middleware.Spec{Name: "a.B"}, next); h != nil {
		t.Fatal("Wrap added a handler for a skipped command; want nil")
	}
	h := middleware.Build(&middleware.Spec{Name: "a.B"}, next, mw)
	_ = h(context.Background(), &middleware.Call{})
	// The chain is next itself: it logs nothing even with a logger in the
	// context.
	core, logs := observer.New(zapcore.DebugLevel)
	_ = h(log.WithLogger(context.Background(), zap.New(core)), &middleware.Call{})
	if !called || logs.Len() != 0 {
		t.Errorf("called %v, lines %d", called, logs.Len())
	}
}

type routeFunc func(ctx context.Context, c *middleware.Call) error

func (r routeFunc) Bind(*middleware.Spec) (middleware.Handler, error) {
	return middleware.Handler(r), nil
}

func TestClientSideWithNode(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zapcore.DebugLevel)
	mw, _ := logging.New(logging.DefaultConfig(), logging.WithLogger(zap.New(core)))
	c := catalog.New()
	c.UseClientSide(mw)
	cmd, _ := catalog.DeclareIn[string, string](c, "remote.Echo")
	_ = c.SetRoute("remote.*", routeFunc(func(_ context.Context, call *middleware.Call) error {
		call.Node = "node-b:8080"
		*call.Response.(*string) = "pong"
		return nil
	}))
	if _, err := cmd.Call(context.Background(), "ping"); err != nil {
		t.Fatal(err)
	}
	m := only(t, logs).ContextMap()
	if m["side"] != "client" || m["node"] != "node-b:8080" {
		t.Errorf("fields = %v, want side client and node node-b:8080", m)
	}
}

func TestLoggerFromContext(t *testing.T) {
	t.Parallel()
	mw, _ := logging.New(logging.DefaultConfig())
	c := catalog.New()
	c.UseServerSide(mw)
	pay, _ := catalog.RegisterIn(c, "pay.Charge", payFn)
	core, logs := observer.New(zapcore.DebugLevel)
	// The context's command (a caller's) must not replace this command's.
	ctx := log.ContextWithCommand(context.Background(), log.NewRequestID(), "outer.Cmd")
	_, _ = pay.Call(log.WithLogger(ctx, zap.New(core)), request("ann"))
	e := only(t, logs)
	if e.ContextMap()["command"] != "pay.Charge" {
		t.Errorf("command = %v, want pay.Charge", e.ContextMap()["command"])
	}
	n := 0
	for _, f := range e.Context {
		if f.Key == "command" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d command fields, want 1", n)
	}
	if id, _ := e.ContextMap()["request_id"].(string); len(id) != 36 {
		t.Errorf("request_id = %q, want the context's generated id", id)
	}
}

func TestSampling(t *testing.T) {
	t.Parallel()
	cfg := logging.Config{Sampling: &log.SamplingConfig{Initial: 2, Thereafter: 0}}
	f := setup(t, cfg, zapcore.DebugLevel)
	other, _ := catalog.RegisterIn(f.cat, "pay.Other", payFn)
	for range 10 {
		_, _ = f.pay.Call(context.Background(), request("ann"))
	}
	for range 3 {
		_, _ = other.Call(context.Background(), request("ann"))
	}
	var charge, oth int
	for _, e := range f.logs.AllUntimed() {
		switch e.ContextMap()["command"] {
		case "pay.Charge":
			charge++
		case "pay.Other":
			oth++
		}
	}
	if charge != 2 || oth != 2 {
		t.Errorf("lines: %d for pay.Charge, %d for pay.Other; want 2 each (sampled per command)", charge, oth)
	}
}

func TestNoAllocsAtDisabledLevel(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	for _, bodies := range []bool{false, true} {
		core, _ := observer.New(zapcore.InfoLevel)
		mw, _ := logging.New(logging.Config{Bodies: bodies}, logging.WithLogger(zap.New(core)))
		h := mw.Wrap(&middleware.Spec{Name: "pay.Charge"}, func(context.Context, *middleware.Call) error { return nil })
		req, resp := request("ann"), PayResponse{}
		call := &middleware.Call{Request: &req, Response: &resp}
		ctx := log.ContextWithRequestID(context.Background(), log.NewRequestID())
		if n := testing.AllocsPerRun(1000, func() { _ = h(ctx, call) }); n != 0 {
			t.Errorf("bodies=%v: %v allocs per call at a disabled level, want 0", bodies, n)
		}
	}
	// Also with the logger taken from the context.
	mw, _ := logging.New(logging.DefaultConfig())
	h := mw.Wrap(&middleware.Spec{Name: "pay.Charge"}, func(context.Context, *middleware.Call) error { return nil })
	core, _ := observer.New(zapcore.InfoLevel)
	ctx := log.WithLogger(log.ContextWithRequestID(context.Background(), log.NewRequestID()), zap.New(core))
	call := &middleware.Call{}
	if n := testing.AllocsPerRun(1000, func() { _ = h(ctx, call) }); n != 0 {
		t.Errorf("context logger: %v allocs per call at a disabled level, want 0", n)
	}
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	t.Parallel()
	if err := logging.DefaultConfig().Validate(); err != nil {
		t.Errorf("default config: %v", err)
	}
	for _, tc := range []struct {
		cfg logging.Config
		key string
	}{
		{logging.Config{SuccessLevel: "loud"}, "middleware.logging.success_level: "},
		{logging.Config{MaxBodyBytes: -1}, "middleware.logging.max_body_bytes: "},
		{logging.Config{Redact: []string{"a", " "}}, "middleware.logging.redact[1]: "},
		{logging.Config{Sampling: &log.SamplingConfig{}}, "middleware.logging.sampling.initial: "},
		{logging.Config{Sampling: &log.SamplingConfig{Initial: 1, Thereafter: -1}}, "middleware.logging.sampling.thereafter: "},
		{logging.Config{Commands: map[string]logging.CommandConfig{"a.B": {SuccessLevel: "x"}}}, `middleware.logging.commands["a.B"].success_level: `},
		{logging.Config{Commands: map[string]logging.CommandConfig{"a*": {}}}, `middleware.logging.commands["a*"]: not a command pattern`},
	} {
		_, err := logging.New(tc.cfg)
		if err == nil || !strings.HasPrefix(err.Error(), "config: "+tc.key) {
			t.Errorf("%+v: err = %v, want prefix %q", tc.cfg, err, tc.key)
		}
	}
}

// The line the JSON encoder writes for a call with bodies is valid JSON,
// whatever the strings hold.
func TestBodiesEscaping(t *testing.T) {
	t.Parallel()
	f := setup(t, logging.Config{Bodies: true}, zapcore.DebugLevel)
	r := request("ann")
	r.Note = "quote \" backslash \\ newline \n tab \t nul \x00 bad \xff utf8 é \u2028"
	_, _ = f.pay.Call(context.Background(), r)
	line := encode(t, only(t, f.logs))
	var parsed struct{ Request PayRequest }
	dec := json.NewDecoder(bytes.NewReader([]byte(line)))
	if err := dec.Decode(&parsed); err != nil {
		t.Fatalf("%v\n%s", err, line)
	}
	want := strings.ReplaceAll(r.Note, "\xff", "\ufffd")
	if parsed.Request.Note != want {
		t.Errorf("note = %q, want %q", parsed.Request.Note, want)
	}
}
