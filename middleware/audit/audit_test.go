package audit_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/log"
	"github.com/wegomesh/wego/middleware"
	"github.com/wegomesh/wego/middleware/audit"
	"github.com/wegomesh/wego/middleware/logging"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type CloseRequest struct {
	Account string `json:"account" audit:"include"`
	Amount  int    `json:"amount" audit:"include"`
	OTP     string `json:"otp" audit:"secret"`
	PIN     string `json:"pin" audit:"include" wego:"secret"`
	Note    string `json:"note"`
}

type CloseResponse struct {
	Closed bool `json:"closed"`
}

var ErrFrozen = errs.Define("accounts.frozen", errs.KindConflict, "The account is frozen.")

// memSink keeps records; it fails while fail is set.
type memSink struct {
	mu      sync.Mutex
	records []*audit.Record
	fail    atomic.Bool
	closed  atomic.Bool
}

func (s *memSink) Write(_ context.Context, r *audit.Record) error {
	if s.fail.Load() {
		return errors.New("disk full")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records = append(s.records, r)
	return nil
}

func (s *memSink) Close() error { s.closed.Store(true); return nil }

func (s *memSink) all() []*audit.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*audit.Record(nil), s.records...)
}

type fixture struct {
	cat   *catalog.Catalog
	close *catalog.Command[CloseRequest, CloseResponse]
	ran   *atomic.Int32
}

// setup registers accounts.Close (auditable) and accounts.Get (not) in a
// catalog whose server chain is mws.
func setup(t testing.TB, mws ...middleware.Middleware) fixture {
	t.Helper()
	c := catalog.New()
	c.UseServerSide(mws...)
	ran := new(atomic.Int32)
	cl, err := catalog.RegisterIn(c, "accounts.Close", func(_ context.Context, r CloseRequest) (CloseResponse, error) {
		ran.Add(1)
		if r.Account == "frozen" {
			return CloseResponse{}, ErrFrozen.New()
		}
		return CloseResponse{Closed: true}, nil
	}, catalog.With(audit.Auditable.Value(true)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := catalog.RegisterIn(c, "accounts.Get", func(context.Context, string) (string, error) {
		return "acct", nil
	}); err != nil {
		t.Fatal(err)
	}
	return fixture{cat: c, close: cl, ran: ran}
}

func newAuditor(t testing.TB, cfg audit.Config, opts ...audit.Option) *audit.Auditor {
	t.Helper()
	a, err := audit.New(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}

func closeReq(account string) CloseRequest {
	return CloseRequest{Account: account, Amount: 12, OTP: "otp-SECRET", PIN: "pin-SECRET", Note: "note-not-audited"}
}

func ctxFor(id, principal string) context.Context {
	rid, _ := log.ParseRequestID(id)
	return audit.ContextWithPrincipal(log.ContextWithRequestID(context.Background(), rid), principal)
}

func TestRecordContents(t *testing.T) {
	t.Parallel()
	sink := &memSink{}
	f := setup(t, newAuditor(t, audit.DefaultConfig(), audit.WithSink(sink)))
	before := time.Now()
	if _, err := f.close.Call(ctxFor("req-1", "alice"), closeReq("A-1")); err != nil {
		t.Fatal(err)
	}
	_, err := f.close.Call(ctxFor("req-2", "bob"), closeReq("frozen"))
	if errs.CodeOf(err) != "accounts.frozen" {
		t.Fatalf("err = %v", err)
	}
	recs := sink.all()
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2", len(recs))
	}
	r := recs[0]
	if r.Time.Location() != time.UTC || r.Time.Before(before.Add(-time.Second)) || r.Time.After(time.Now()) {
		t.Errorf("time = %v, want now in UTC", r.Time)
	}
	if r.RequestID.String() != "req-1" || r.Principal != "alice" || r.Command != "accounts.Close" ||
		r.Side != "server" || r.Phase != "after" || r.Outcome != "ok" || r.Duration <= 0 {
		t.Errorf("record = %+v", r)
	}
	want := audit.Fields{{Name: "account", Value: "A-1"}, {Name: "amount", Value: 12},
		{Name: "otp", Value: audit.Redacted}, {Name: "pin", Value: audit.Redacted}}
	if len(r.Request) != len(want) {
		t.Fatalf("request fields = %v, want %v", r.Request, want)
	}
	for i := range want {
		if r.Request[i] != want[i] {
			t.Errorf("field %d = %v, want %v", i, r.Request[i], want[i])
		}
	}
	if recs[1].Outcome != "accounts.frozen" || recs[1].Principal != "bob" {
		t.Errorf("second record = %+v", recs[1])
	}

	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	ts, _ := m["time"].(string)
	if _, err := time.Parse(time.RFC3339Nano, ts); err != nil || !strings.HasSuffix(ts, "Z") {
		t.Errorf("time %q is not RFC 3339 in UTC", ts)
	}
	if m["request_id"] != "req-1" || m["outcome"] != "ok" {
		t.Errorf("JSON = %s", b)
	}
	if req, _ := m["request"].(map[string]any); req["account"] != "A-1" || req["amount"] != 12.0 || req["otp"] != audit.Redacted {
		t.Errorf("JSON request = %v", m["request"])
	}
	if strings.Contains(string(b), "SECRET") || strings.Contains(string(b), "note") {
		t.Errorf("JSON has secret or not-audited data: %s", b)
	}
}

func TestWhichCommands(t *testing.T) {
	t.Parallel()
	yes, no := true, false
	for _, tc := range []struct {
		name       string
		cfg        audit.Config
		close, get bool
	}{
		{"attribute", audit.Config{}, true, false},
		{"all", audit.Config{All: true}, true, true},
		{"config off wins over attribute", audit.Config{Commands: map[string]audit.CommandConfig{"accounts.close": {Audit: &no}}}, false, false},
		{"service on", audit.Config{Commands: map[string]audit.CommandConfig{"accounts.*": {Audit: &yes}}}, true, true},
		{"name beats service", audit.Config{Commands: map[string]audit.CommandConfig{
			"accounts.*": {Audit: &yes}, "accounts.Get": {Audit: &no}}}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sink := &memSink{}
			f := setup(t, newAuditor(t, tc.cfg, audit.WithSink(sink)))
			_, _ = f.close.Call(context.Background(), closeReq("A"))
			var out string
			_ = f.cat.Call(context.Background(), "accounts.Get", new(string), &out)
			var gotClose, gotGet bool
			for _, r := range sink.all() {
				gotClose = gotClose || r.Command == "accounts.Close"
				gotGet = gotGet || r.Command == "accounts.Get"
			}
			if gotClose != tc.close || gotGet != tc.get {
				t.Errorf("audited Close %v, Get %v; want %v, %v", gotClose, gotGet, tc.close, tc.get)
			}
		})
	}
}

func TestZapSink(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zapcore.InfoLevel)
	f := setup(t, newAuditor(t, audit.DefaultConfig(), audit.WithLogger(zap.New(core))))
	if _, err := f.close.Call(ctxFor("req-7", "carol"), closeReq("A-7")); err != nil {
		t.Fatal(err)
	}
	entries := logs.AllUntimed()
	if len(entries) != 1 {
		t.Fatalf("%d lines, want 1", len(entries))
	}
	e := entries[0]
	if e.LoggerName != "audit" || e.Message != "audit" || e.Level != zapcore.InfoLevel {
		t.Errorf("logger %q, message %q, level %v", e.LoggerName, e.Message, e.Level)
	}
	m := e.ContextMap()
	if m["command"] != "accounts.Close" || m["request_id"] != "req-7" || m["principal"] != "carol" ||
		m["outcome"] != "ok" || m["side"] != "server" || m["phase"] != "after" {
		t.Errorf("fields = %v", m)
	}
	if tm, _ := m["time"].(time.Time); tm.Location() != time.UTC {
		t.Errorf("time = %v, want UTC", m["time"])
	}
	req, _ := m["request"].(map[string]any)
	if req["account"] != "A-7" || req["amount"] != 12 || req["otp"] != audit.Redacted || req["pin"] != audit.Redacted {
		t.Errorf("request = %v", req)
	}
	if _, ok := req["note"]; ok {
		t.Error("a field without audit:\"include\" was recorded")
	}
}

// The same secrets stay out of both the logging middleware's bodies and
// the audit record.
func TestRedactionInLogsAndAudit(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zapcore.DebugLevel)
	l := zap.New(core)
	lmw, err := logging.New(logging.Config{Bodies: true}, logging.WithLogger(l))
	if err != nil {
		t.Fatal(err)
	}
	f := setup(t, lmw, newAuditor(t, audit.DefaultConfig(), audit.WithLogger(l)))
	if _, err := f.close.Call(context.Background(), closeReq("A-1")); err != nil {
		t.Fatal(err)
	}
	enc := zapcore.NewJSONEncoder(log.EncoderConfig("json"))
	var audited, logged bool
	for _, e := range logs.AllUntimed() {
		buf, err := enc.EncodeEntry(e.Entry, e.Context)
		if err != nil {
			t.Fatal(err)
		}
		line := buf.String()
		if strings.Contains(line, "SECRET") {
			t.Errorf("secret in %s", line)
		}
		audited = audited || e.LoggerName == "audit"
		logged = logged || e.Message == logging.Message
	}
	if !audited || !logged {
		t.Errorf("audit line %v, logging line %v: want both", audited, logged)
	}
}

func TestFailOpen(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zapcore.InfoLevel)
	sink := &memSink{}
	sink.fail.Store(true)
	a := newAuditor(t, audit.DefaultConfig(), audit.WithSink(sink), audit.WithLogger(zap.New(core)))
	f := setup(t, a)
	resp, err := f.close.Call(ctxFor("req-3", ""), closeReq("A"))
	if err != nil || !resp.Closed {
		t.Fatalf("= %v, %v; want the command's result", resp, err)
	}
	if a.Failures() != 1 {
		t.Errorf("Failures() = %d, want 1", a.Failures())
	}
	lines := logs.FilterLevelExact(zapcore.ErrorLevel).AllUntimed()
	if len(lines) != 1 || lines[0].ContextMap()["request_id"] != "req-3" || lines[0].ContextMap()["error"] != "disk full" {
		t.Errorf("error lines = %v", lines)
	}
}

func TestFailClosedAfter(t *testing.T) {
	t.Parallel()
	sink := &memSink{}
	sink.fail.Store(true)
	a := newAuditor(t, audit.Config{FailClosed: true}, audit.WithSink(sink), audit.WithLogger(zap.NewNop()))
	f := setup(t, a)
	resp, err := f.close.Call(context.Background(), closeReq("A"))
	if !errors.Is(err, audit.ErrWriteFailed) || errs.KindOf(err) != errs.KindInternal {
		t.Fatalf("err = %v, want audit.write_failed (internal)", err)
	}
	if resp.Closed {
		t.Error("the result went back although the call was not audited")
	}
	if f.ran.Load() != 1 {
		t.Errorf("command ran %d times, want 1 (after: it runs, then the record fails)", f.ran.Load())
	}
	if e, _ := errs.As(err); strings.Contains(e.Message(), "disk full") {
		t.Errorf("client message %q shows the cause", e.Message())
	}
	if a.Failures() != 1 {
		t.Errorf("Failures() = %d", a.Failures())
	}
	// The sink recovers: calls succeed again.
	sink.fail.Store(false)
	if _, err := f.close.Call(context.Background(), closeReq("A")); err != nil {
		t.Errorf("after recovery: %v", err)
	}
}

func TestPhaseBefore(t *testing.T) {
	t.Parallel()
	sink := &memSink{}
	cfg := audit.Config{Commands: map[string]audit.CommandConfig{"accounts.Close": {Phase: "before"}}}
	f := setup(t, newAuditor(t, cfg, audit.WithSink(sink)))
	_, _ = f.close.Call(context.Background(), closeReq("frozen"))
	recs := sink.all()
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2", len(recs))
	}
	if recs[0].Phase != "before" || recs[0].Outcome != "started" || recs[0].Duration != 0 {
		t.Errorf("first = %+v", recs[0])
	}
	if recs[1].Phase != "after" || recs[1].Outcome != "accounts.frozen" || !recs[1].Time.Equal(recs[0].Time) {
		t.Errorf("second = %+v", recs[1])
	}
}

func TestFailClosedBeforeDoesNotRun(t *testing.T) {
	t.Parallel()
	sink := &memSink{}
	sink.fail.Store(true)
	yes := true
	cfg := audit.Config{Phase: "before", Commands: map[string]audit.CommandConfig{"accounts.*": {FailClosed: &yes}}}
	a := newAuditor(t, cfg, audit.WithSink(sink), audit.WithLogger(zap.NewNop()))
	f := setup(t, a)
	_, err := f.close.Call(context.Background(), closeReq("A"))
	if !errors.Is(err, audit.ErrUnavailable) || errs.KindOf(err) != errs.KindUnavailable {
		t.Fatalf("err = %v, want audit.unavailable", err)
	}
	if f.ran.Load() != 0 {
		t.Error("the command ran although it could not be audited")
	}
}

func TestClientSide(t *testing.T) {
	t.Parallel()
	sink := &memSink{}
	c := catalog.New()
	c.UseClientSide(newAuditor(t, audit.Config{All: true}, audit.WithSink(sink)))
	cmd, _ := catalog.RegisterIn(c, "x.Y", func(context.Context, int) (int, error) { return 1, nil })
	_, _ = cmd.Call(context.Background(), 1)
	if recs := sink.all(); len(recs) != 1 || recs[0].Side != "client" {
		t.Errorf("records = %v", recs)
	}
}

func TestPrincipal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	if p, ok := audit.PrincipalFrom(ctx); ok || p != "" {
		t.Error("principal in an empty context")
	}
	if audit.ContextWithPrincipal(ctx, "") != ctx {
		t.Error("empty principal changed the context")
	}
	ctx = audit.ContextWithPrincipal(ctx, "alice")
	ctx = context.WithValue(ctx, struct{ k int }{1}, "x")
	if p, ok := audit.PrincipalFrom(ctx); !ok || p != "alice" {
		t.Errorf("PrincipalFrom = %q, %v", p, ok)
	}
}

func TestCloseClosesSink(t *testing.T) {
	t.Parallel()
	sink := &memSink{}
	a, _ := audit.New(audit.DefaultConfig(), audit.WithSink(sink))
	if err := a.Close(); err != nil || !sink.closed.Load() {
		t.Errorf("Close: %v, sink closed %v", err, sink.closed.Load())
	}
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	t.Parallel()
	if err := audit.DefaultConfig().Validate(); err != nil {
		t.Errorf("default: %v", err)
	}
	for _, tc := range []struct {
		cfg audit.Config
		key string
	}{
		{audit.Config{Phase: "during"}, "middleware.audit.phase: "},
		{audit.Config{Sink: "kafka"}, "middleware.audit.sink: "},
		{audit.Config{Sink: "file"}, "middleware.audit.file.path: "},
		{audit.Config{Sink: "file", File: audit.FileConfig{Path: "x", Sync: "sometimes"}}, "middleware.audit.file.sync: "},
		{audit.Config{File: audit.FileConfig{SyncInterval: -1}}, "middleware.audit.file.sync_interval: "},
		{audit.Config{File: audit.FileConfig{MaxFiles: -1}}, "middleware.audit.file.max_files: "},
		{audit.Config{Commands: map[string]audit.CommandConfig{"a.B": {Phase: "x"}}}, `middleware.audit.commands["a.B"].phase: `},
		{audit.Config{Commands: map[string]audit.CommandConfig{"": {}}}, `middleware.audit.commands[""]: not a command pattern`},
		{audit.Config{Sink: "file", File: audit.FileConfig{Path: "/nonexistent-dir/x/audit.jsonl"}}, "middleware.audit.file.path: "},
	} {
		_, err := audit.New(tc.cfg)
		if err == nil || !strings.HasPrefix(err.Error(), "config: "+tc.key) {
			t.Errorf("%+v: err = %v, want prefix %q", tc.cfg, err, tc.key)
		}
	}
}

func TestNoAllocsForCommandsNotAudited(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	a, _ := audit.New(audit.DefaultConfig(), audit.WithSink(&memSink{}))
	next := func(context.Context, *middleware.Call) error { return nil }
	if h := a.Wrap(&middleware.Spec{Name: "a.B"}, next); h != nil {
		t.Fatal("Wrap added a handler for a command that is not audited; want nil")
	}
}

// A zap sink whose logger drops info-level lines fails instead of losing
// the record silently.
func TestZapSinkRefusesADisabledLevel(t *testing.T) {
	t.Parallel()
	core, _ := observer.New(zap.ErrorLevel)
	s := audit.NewZapSink(zap.New(core))
	if err := s.Write(context.Background(), &audit.Record{Command: "a.B"}); !errors.Is(err, audit.ErrLevelDisabled) {
		t.Fatalf("Write = %v, want ErrLevelDisabled", err)
	}
}
