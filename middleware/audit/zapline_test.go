package audit_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/wegomesh/wego/log"
	"github.com/wegomesh/wego/middleware"
	"github.com/wegomesh/wego/middleware/audit"
)

// jsonLogger returns a logger writing JSON lines, without the entry's own
// timestamp, to the returned buffer.
func jsonLogger() (*zap.Logger, *bytes.Buffer) {
	ec := log.EncoderConfig("json")
	ec.TimeKey = ""
	var buf bytes.Buffer
	return zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(ec), zapcore.AddSync(&buf), zapcore.InfoLevel)), &buf
}

// The line of the zap sink keeps its bytes whatever room the middleware
// gives it: the request id's text in the same place, for generated ids
// and for parsed ones up to the longest, with and without a principal and
// request fields. ZapSink.Write, called by hand without that room, writes
// the same line.
func TestZapLineIsUnchanged(t *testing.T) {
	t.Parallel()
	long, _ := log.ParseRequestID(strings.Repeat("a.b_c:d-", log.MaxRequestIDLen/8))
	short, _ := log.ParseRequestID("req-1")
	const (
		head    = `{"level":"info","logger":"audit","msg":"audit","time":"2025-03-04T05:06:07.000000008Z","command":"accounts.Close","side":"server","phase":"after","outcome":"ok","duration":0`
		request = `,"request":{"account":"A-1","amount":12,"otp":"[REDACTED]","pin":"[REDACTED]"}`
	)
	for _, tc := range []struct {
		name      string
		id        log.RequestID
		principal string
		fields    bool
	}{
		{"generated", log.NewRequestID(), "alice", true},
		{"generated, no fields", log.NewRequestID(), "alice", false},
		{"generated, no principal", log.NewRequestID(), "", false},
		{"parsed", short, "alice", true},
		{"parsed, longest", long, "bob", false},
		{"none", log.RequestID{}, "alice", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want := head
			if !tc.id.IsZero() {
				want += `,"request_id":"` + tc.id.String() + `"`
			}
			if tc.principal != "" {
				want += `,"principal":"` + tc.principal + `"`
			}
			rec := &audit.Record{Time: clock(), RequestID: tc.id, Principal: tc.principal,
				Command: "accounts.Close", Side: "server", Phase: audit.PhaseAfter, Outcome: audit.OutcomeOK}
			if tc.fields {
				want += request
				rec.Request = audit.Fields{{Name: "account", Value: "A-1"}, {Name: "amount", Value: 12},
					{Name: "otp", Value: audit.Redacted}, {Name: "pin", Value: audit.Redacted}}
			}
			want += "}\n"

			l, buf := jsonLogger()
			a := newAuditor(t, audit.Config{All: true}, audit.WithLogger(l), audit.WithClock(clock))
			ctx := audit.ContextWithPrincipal(log.ContextWithRequestID(context.Background(), tc.id), tc.principal)
			if tc.fields {
				f := setup(t, a)
				if _, err := f.close.Call(ctx, closeReq("A-1")); err != nil {
					t.Fatal(err)
				}
			} else {
				h := a.Wrap(&middleware.Spec{Name: "accounts.Close", Side: middleware.ServerSide}, func(context.Context, *middleware.Call) error { return nil })
				if err := h(ctx, &middleware.Call{}); err != nil {
					t.Fatal(err)
				}
			}
			if got := buf.String(); got != want {
				t.Errorf("audited line\n got %s\nwant %s", got, want)
			}

			l, buf = jsonLogger()
			if err := audit.NewZapSink(l).Write(context.Background(), rec); err != nil {
				t.Fatal(err)
			}
			if got := buf.String(); got != want {
				t.Errorf("ZapSink.Write\n got %s\nwant %s", got, want)
			}
		})
	}
}

// A zap core may keep the fields of a line after Write returns, as the
// observer does: each kept line must still show its own call, so the
// memory of a record and its line is never reused. The request id is a
// string, in a field with its usual key.
func TestZapLinesKeepTheirOwnMemory(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zapcore.InfoLevel)
	f := setup(t, newAuditor(t, audit.Config{All: true}, audit.WithLogger(zap.New(core))))
	const n = 64
	ids := make(map[string]string, n) // request id → account
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range n {
		id := log.NewRequestID()
		if i%2 == 1 {
			id, _ = log.ParseRequestID(fmt.Sprintf("client-%d", i))
		}
		account := fmt.Sprintf("A-%d", i)
		mu.Lock()
		ids[id.String()] = account
		mu.Unlock()
		wg.Go(func() {
			ctx := ctxFor("", "p-"+account)
			ctx = log.ContextWithRequestID(ctx, id)
			if i%4 < 2 {
				_, _ = f.close.Call(ctx, closeReq(account))
			} else {
				var out string
				in := account
				_ = f.cat.Call(ctx, "accounts.Get", &in, &out)
			}
		})
	}
	wg.Wait()
	entries := logs.AllUntimed()
	if len(entries) != n {
		t.Fatalf("%d lines, want %d", len(entries), n)
	}
	if keyed := logs.FilterFieldKey(log.RequestIDKey).Len(); keyed != n {
		t.Errorf("%d lines with a field keyed %q, want %d", keyed, log.RequestIDKey, n)
	}
	enc := zapcore.NewJSONEncoder(log.EncoderConfig("json"))
	seen := make(map[string]bool, n)
	for _, e := range entries {
		m := e.ContextMap()
		id, ok := m["request_id"].(string)
		if !ok {
			t.Fatalf("request_id = %#v, want a string", m["request_id"])
		}
		account, ok := ids[id]
		if !ok || seen[id] {
			t.Fatalf("request_id %q: unknown or seen twice", id)
		}
		seen[id] = true
		if m["principal"] != "p-"+account {
			t.Errorf("request %s: principal %v, want p-%s", id, m["principal"], account)
		}
		if req, ok := m["request"].(map[string]any); ok && req["account"] != account {
			t.Errorf("request %s: account %v, want %s", id, req["account"], account)
		}
		line, err := enc.EncodeEntry(e.Entry, e.Context)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(line.String(), `"request_id":"`+id+`","principal":"p-`+account+`"`) {
			t.Errorf("line %s does not show request %s of %s", line, id, account)
		}
	}
}

// With the real clock, an audited call to the zap sink takes one
// allocation: the record with the room for its line.
func TestZapSinkAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	l := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(log.EncoderConfig("json")), zapcore.AddSync(io.Discard), zapcore.InfoLevel))
	a := newAuditor(t, audit.Config{All: true}, audit.WithLogger(l))
	h := a.Wrap(&middleware.Spec{Name: "a.B", Side: middleware.ServerSide}, func(context.Context, *middleware.Call) error { return nil })
	ctx := audit.ContextWithPrincipal(log.ContextWithRequestID(context.Background(), log.NewRequestID()), "alice")
	call := &middleware.Call{}
	if n := testing.AllocsPerRun(100, func() { _ = h(ctx, call) }); n != 1 {
		t.Errorf("%v allocs, want 1", n)
	}
	if a.Failures() != 0 {
		t.Errorf("%d failures", a.Failures())
	}
}

// An injected clock measures durations too.
func TestWithClockMeasuresDuration(t *testing.T) {
	t.Parallel()
	var ticks atomic.Int64
	now := func() time.Time { return clock().Add(time.Duration(ticks.Add(1)) * time.Millisecond) }
	sink := &memSink{}
	f := setup(t, newAuditor(t, audit.DefaultConfig(), audit.WithSink(sink), audit.WithClock(now)))
	if _, err := f.close.Call(context.Background(), closeReq("A")); err != nil {
		t.Fatal(err)
	}
	recs := sink.all()
	if len(recs) != 1 || recs[0].Duration != time.Millisecond || !recs[0].Time.Equal(clock().Add(time.Millisecond)) {
		t.Errorf("records = %+v, want one of 1ms from the clock", recs)
	}
}
