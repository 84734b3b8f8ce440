package log_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/slogtest"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/wegomesh/wego/log"
)

func TestSlogLevels(t *testing.T) {
	t.Parallel()
	tests := []struct {
		slog    slog.Level
		want    zapcore.Level
		enabled bool // with the core at info
	}{
		{slog.LevelDebug - 4, zapcore.DebugLevel, false},
		{slog.LevelDebug, zapcore.DebugLevel, false},
		{slog.LevelInfo, zapcore.InfoLevel, true},
		{slog.LevelInfo + 2, zapcore.InfoLevel, true},
		{slog.LevelWarn, zapcore.WarnLevel, true},
		{slog.LevelError, zapcore.ErrorLevel, true},
		{slog.LevelError + 8, zapcore.ErrorLevel, true},
	}
	for _, tt := range tests {
		t.Run(tt.slog.String(), func(t *testing.T) {
			t.Parallel()
			core, logs := observer.New(zapcore.InfoLevel)
			h := log.NewSlogHandler(core)
			if got := h.Enabled(context.Background(), tt.slog); got != tt.enabled {
				t.Errorf("Enabled(%v) = %t, want %t", tt.slog, got, tt.enabled)
			}
			slog.New(h).Log(context.Background(), tt.slog, "m")
			entries := logs.AllUntimed()
			if !tt.enabled {
				if len(entries) != 0 {
					t.Errorf("disabled level logged %v", entries)
				}
				return
			}
			if len(entries) != 1 || entries[0].Level != tt.want {
				t.Fatalf("entries = %v, want one at %v", entries, tt.want)
			}
		})
	}
}

func TestSlogFields(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zapcore.DebugLevel)
	l := log.Slog(zap.New(core).Named("billing"))
	errBoom := errors.New("boom")
	when := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

	l.With("service", "inventory").
		WithGroup("req").
		With("method", "Reserve").
		Warn("slow call",
			"ms", 250,
			"ok", false,
			slog.Group("item", "sku", "A-1", "qty", uint64(2)),
			slog.Duration("took", time.Second),
			slog.Time("at", when),
			slog.Any("err", errBoom),
			slog.Group("", "inlined", 1.5),
			slog.Group("empty"),
		)

	entries := logs.AllUntimed()
	if len(entries) != 1 {
		t.Fatalf("got %d entries, want 1", len(entries))
	}
	e := entries[0]
	if e.Level != zapcore.WarnLevel || e.Message != "slow call" || e.LoggerName != "billing" {
		t.Errorf("entry = %+v", e.Entry)
	}
	want := map[string]any{
		"service": "inventory",
		"req": map[string]any{
			"method":  "Reserve",
			"ms":      int64(250),
			"ok":      false,
			"item":    map[string]any{"sku": "A-1", "qty": uint64(2)},
			"took":    time.Second,
			"at":      when,
			"err":     "boom",
			"inlined": 1.5,
		},
	}
	got := e.ContextMap()
	gj, _ := json.Marshal(got)
	wj, _ := json.Marshal(want)
	if !bytes.Equal(gj, wj) {
		t.Errorf("fields =\n%s\nwant\n%s", gj, wj)
	}
}

func TestSlogContextFields(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zapcore.InfoLevel)
	l := slog.New(log.NewSlogHandler(core)).WithGroup("g")
	ctx := log.ContextWithCommand(context.Background(), mustParse(t, "req-3"), "a.B")
	l.InfoContext(ctx, "with attrs", "k", "v")
	l.InfoContext(ctx, "without attrs")
	entries := logs.AllUntimed()
	if len(entries) != 2 {
		t.Fatalf("got %d entries, want 2", len(entries))
	}
	for i, want := range []string{
		`{"command":"a.B","g":{"k":"v"},"request_id":"req-3"}`,
		`{"command":"a.B","request_id":"req-3"}`,
	} {
		got, _ := json.Marshal(entries[i].ContextMap())
		if string(got) != want {
			t.Errorf("entry %d fields = %s, want %s", i, got, want)
		}
	}
}

func TestSlogSource(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zapcore.InfoLevel)
	slog.New(log.NewSlogHandler(core, log.AddSource())).Info("here")
	slog.New(log.NewSlogHandler(core)).Info("no source")
	e := logs.AllUntimed()
	if len(e) != 2 {
		t.Fatalf("got %d entries", len(e))
	}
	if !e[0].Caller.Defined || !strings.HasSuffix(e[0].Caller.File, "slog_test.go") || e[0].Caller.Function == "" {
		t.Errorf("caller = %+v, want this file", e[0].Caller)
	}
	if e[1].Caller.Defined {
		t.Errorf("caller = %+v without AddSource", e[1].Caller)
	}
}

// TestSlogHandlerConformance runs the standard library's conformance tests
// for slog handlers against the JSON written by a real zap core.
func TestSlogHandlerConformance(t *testing.T) {
	t.Parallel()
	ec := log.EncoderConfig("json")
	ec.TimeKey, ec.LevelKey, ec.MessageKey = slog.TimeKey, slog.LevelKey, slog.MessageKey
	var outputs sync.Map // subtest name -> *bytes.Buffer
	newHandler := func(t *testing.T) slog.Handler {
		if strings.HasSuffix(t.Name(), "/zero-time") {
			t.Skip("zap entries always have a time: the handler stamps the current time")
		}
		buf := new(bytes.Buffer)
		outputs.Store(t.Name(), buf)
		return log.NewSlogHandler(zapcore.NewCore(zapcore.NewJSONEncoder(ec), zapcore.AddSync(buf), zapcore.DebugLevel))
	}
	result := func(t *testing.T) map[string]any {
		v, _ := outputs.Load(t.Name())
		out := v.(*bytes.Buffer).Bytes()
		var m map[string]any
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("output %q is not one JSON object: %v", out, err)
		}
		return m
	}
	slogtest.Run(t, newHandler, result)
}
