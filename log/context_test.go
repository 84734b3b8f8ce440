package log_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/wegomesh/wego/log"
)

func mustParse(t testing.TB, s string) log.RequestID {
	t.Helper()
	id, err := log.ParseRequestID(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestContextValues(t *testing.T) {
	t.Parallel()
	idA := mustParse(t, "req-a")
	idB := log.NewRequestID()
	bg := context.Background()
	tests := []struct {
		name    string
		ctx     context.Context
		wantID  log.RequestID // zero: none
		wantCmd string        // "": none
	}{
		{name: "none", ctx: bg},
		{name: "request id", ctx: log.ContextWithRequestID(bg, idA), wantID: idA},
		{name: "zero id is not stored", ctx: log.ContextWithRequestID(bg, log.RequestID{})},
		{name: "command", ctx: log.ContextWithCommand(bg, idA, "inventory.Reserve"), wantID: idA, wantCmd: "inventory.Reserve"},
		{name: "inner id wins", ctx: log.ContextWithRequestID(log.ContextWithRequestID(bg, idA), idB), wantID: idB},
		{
			name:    "command keeps the outer id when its own is zero",
			ctx:     log.ContextWithCommand(log.ContextWithRequestID(bg, idA), log.RequestID{}, "a.B"),
			wantID:  idA,
			wantCmd: "a.B",
		},
		{
			name:    "id keeps the outer command",
			ctx:     log.ContextWithRequestID(log.ContextWithCommand(bg, idA, "a.B"), idB),
			wantID:  idB,
			wantCmd: "a.B",
		},
		{
			name:    "through other contexts",
			ctx:     context.WithValue(log.WithLogger(log.ContextWithCommand(bg, idB, "c.D"), zap.NewNop()), otherKey{}, 1),
			wantID:  idB,
			wantCmd: "c.D",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			id, ok := log.RequestIDFrom(tt.ctx)
			if ok == tt.wantID.IsZero() || id != tt.wantID {
				t.Errorf("RequestIDFrom = %q, %t; want %q, %t", id, ok, tt.wantID, !tt.wantID.IsZero())
			}
			cmd, ok := log.CommandFrom(tt.ctx)
			if ok != (tt.wantCmd != "") || cmd != tt.wantCmd {
				t.Errorf("CommandFrom = %q, %t; want %q", cmd, ok, tt.wantCmd)
			}
		})
	}
}

func TestContextString(t *testing.T) {
	t.Parallel()
	ctx := log.ContextWithCommand(context.Background(), mustParse(t, "r1"), "a.B")
	got := fmt.Sprint(ctx)
	want := "context.Background.WithRequestID(r1).WithCommand(a.B)"
	if got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestContextAllocs(t *testing.T) {
	// Not parallel: AllocsPerRun measures the whole process.
	bg := context.Background()
	id := log.NewRequestID()
	var ctx context.Context
	if n := testing.AllocsPerRun(1000, func() { ctx = log.ContextWithRequestID(bg, id) }); n != 1 {
		t.Errorf("ContextWithRequestID: %v allocs, want 1", n)
	}
	if n := testing.AllocsPerRun(1000, func() { ctx = log.ContextWithCommand(bg, id, "a.B") }); n != 1 {
		t.Errorf("ContextWithCommand: %v allocs, want 1", n)
	}
	deep := log.WithLogger(ctx, zap.NewNop())
	if n := testing.AllocsPerRun(1000, func() { _, _ = log.RequestIDFrom(deep) }); n != 0 {
		t.Errorf("RequestIDFrom: %v allocs, want 0", n)
	}
	if n := testing.AllocsPerRun(1000, func() { _, _ = log.CommandFrom(deep) }); n != 0 {
		t.Errorf("CommandFrom: %v allocs, want 0", n)
	}
	if n := testing.AllocsPerRun(1000, func() { _ = log.FromContext(deep) }); n != 0 {
		t.Errorf("FromContext: %v allocs, want 0", n)
	}
	var buf [4]zap.Field
	parsed := log.ContextWithCommand(bg, mustParse(t, "req-1"), "a.B")
	if n := testing.AllocsPerRun(1000, func() { _ = log.AppendFields(parsed, buf[:0]) }); n != 0 {
		t.Errorf("AppendFields with a parsed id: %v allocs, want 0", n)
	}
	if n := testing.AllocsPerRun(1000, func() { _ = log.AppendFields(deep, buf[:0]) }); n != 0 {
		t.Errorf("AppendFields with a generated id: %v allocs, want 0", n)
	}
}

func TestDefaultLogger(t *testing.T) {
	// Not parallel: replaces the process default.
	if log.L() == nil {
		t.Fatal("L() = nil")
	}
	if log.L().Core().Enabled(zapcore.ErrorLevel) {
		t.Fatal("the initial default logger is not a no-op")
	}
	core, logs := observer.New(zapcore.InfoLevel)
	l := zap.New(core)
	undo := log.ReplaceDefault(l)
	if log.L() != l {
		t.Error("L() did not return the replacement")
	}
	if log.FromContext(context.Background()) != l {
		t.Error("FromContext without a logger did not return L()")
	}
	log.For(context.Background()).Info("hello")
	if logs.Len() != 1 {
		t.Errorf("got %d entries through the default logger, want 1", logs.Len())
	}
	undoNil := log.ReplaceDefault(nil)
	if log.L() == nil || log.L().Core().Enabled(zapcore.ErrorLevel) {
		t.Error("ReplaceDefault(nil) did not restore a no-op logger")
	}
	undoNil()
	if log.L() != l {
		t.Error("undo of ReplaceDefault(nil) did not restore the replacement")
	}
	undo()
	if log.L() == l {
		t.Error("undo did not restore the previous logger")
	}
}

func TestFromContext(t *testing.T) {
	t.Parallel()
	l := zap.NewExample()
	ctx := log.WithLogger(context.Background(), l)
	if got := log.FromContext(ctx); got != l {
		t.Error("FromContext did not return the logger of the context")
	}
	if got := log.FromContext(log.WithLogger(ctx, nil)); got != log.L() {
		t.Error("FromContext with a nil logger did not return L()")
	}
}

func TestFor(t *testing.T) {
	t.Parallel()
	gen := log.NewRequestID()
	tests := []struct {
		name   string
		ctx    func(context.Context) context.Context
		fields map[string]any
	}{
		{name: "nothing", ctx: func(ctx context.Context) context.Context { return ctx }, fields: map[string]any{}},
		{
			name:   "parsed id",
			ctx:    func(ctx context.Context) context.Context { return log.ContextWithRequestID(ctx, mustParse(t, "req-7")) },
			fields: map[string]any{"request_id": "req-7"},
		},
		{
			name: "generated id and command",
			ctx: func(ctx context.Context) context.Context {
				return log.ContextWithCommand(ctx, gen, "inventory.Reserve")
			},
			fields: map[string]any{"request_id": gen.String(), "command": "inventory.Reserve"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			core, logs := observer.New(zapcore.DebugLevel)
			ctx := tt.ctx(log.WithLogger(context.Background(), zap.New(core)))
			log.For(ctx).Info("done", zap.Int("n", 1))
			entries := logs.AllUntimed()
			if len(entries) != 1 {
				t.Fatalf("got %d entries, want 1", len(entries))
			}
			got := entries[0].ContextMap()
			if got["n"] != int64(1) {
				t.Errorf("field n = %v, want 1", got["n"])
			}
			delete(got, "n")
			if fmt.Sprint(got) != fmt.Sprint(tt.fields) {
				t.Errorf("fields = %v, want %v", got, tt.fields)
			}
		})
	}
}

func TestRequestIDField(t *testing.T) {
	t.Parallel()
	gen := log.NewRequestID()
	for _, id := range []log.RequestID{gen, mustParse(t, "abc")} {
		enc := zapcore.NewMapObjectEncoder()
		log.RequestIDField(id).AddTo(enc)
		if got := enc.Fields[log.RequestIDKey]; got != id.String() {
			t.Errorf("RequestIDField(%q) encodes %v", id, got)
		}
	}
	// A generated id is only formatted when the entry is written.
	core, logs := observer.New(zapcore.InfoLevel)
	l := zap.New(core)
	l.Debug("dropped", log.RequestIDField(gen))
	l.Info("kept", log.RequestIDField(gen))
	if e := logs.All(); len(e) != 1 || e[0].ContextMap()["request_id"] != gen.String() {
		t.Errorf("entries = %+v", e)
	}
	if !strings.Contains(fmt.Sprint(log.RequestIDField(gen).Interface), "-") {
		t.Error("generated id field is not a Stringer of the id")
	}
}

var sinkCtx context.Context

func BenchmarkContextWithRequestID(b *testing.B) {
	bg := context.Background()
	id := log.NewRequestID()
	b.ReportAllocs()
	for b.Loop() {
		sinkCtx = log.ContextWithRequestID(bg, id)
	}
}

func BenchmarkContextWithCommand(b *testing.B) {
	bg := context.Background()
	id := log.NewRequestID()
	b.ReportAllocs()
	for b.Loop() {
		sinkCtx = log.ContextWithCommand(bg, id, "inventory.Reserve")
	}
}

func BenchmarkRequestIDFrom(b *testing.B) {
	// Three levels deep, as behind a logger and a deadline.
	ctx := log.ContextWithRequestID(context.Background(), log.NewRequestID())
	ctx = log.WithLogger(ctx, zap.NewNop())
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	b.ReportAllocs()
	for b.Loop() {
		sinkID, _ = log.RequestIDFrom(ctx)
	}
}

func BenchmarkFor(b *testing.B) {
	ctx := log.ContextWithCommand(context.Background(), log.NewRequestID(), "inventory.Reserve")
	ctx = log.WithLogger(ctx, zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(log.EncoderConfig("json")), zapcore.AddSync(discard{}), zapcore.InfoLevel)))
	b.ReportAllocs()
	for b.Loop() {
		log.For(ctx).Info("done")
	}
}

func BenchmarkCheckAndAppendFields(b *testing.B) {
	ctx := log.ContextWithCommand(context.Background(), log.NewRequestID(), "inventory.Reserve")
	ctx = log.WithLogger(ctx, zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(log.EncoderConfig("json")), zapcore.AddSync(discard{}), zapcore.InfoLevel)))
	b.ReportAllocs()
	for b.Loop() {
		if ce := log.FromContext(ctx).Check(zapcore.InfoLevel, "done"); ce != nil {
			var buf [4]zap.Field
			ce.Write(log.AppendFields(ctx, buf[:0])...)
		}
	}
}

func BenchmarkCheckAndAppendFieldsDisabled(b *testing.B) {
	ctx := log.ContextWithCommand(context.Background(), log.NewRequestID(), "inventory.Reserve")
	ctx = log.WithLogger(ctx, zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(log.EncoderConfig("json")), zapcore.AddSync(discard{}), zapcore.InfoLevel)))
	b.ReportAllocs()
	for b.Loop() {
		if ce := log.FromContext(ctx).Check(zapcore.DebugLevel, "done"); ce != nil {
			var buf [4]zap.Field
			ce.Write(log.AppendFields(ctx, buf[:0])...)
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// otherKey is a context key of another package's.
type otherKey struct{}
