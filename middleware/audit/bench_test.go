package audit_test

import (
	"context"
	"io"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/log"
	"github.com/wegomesh/wego/middleware/audit"
)

type plainRequest struct {
	Account string
	Amount  int
}

type taggedRequest struct {
	Account string `json:"account" audit:"include"`
	Amount  int    `json:"amount" audit:"include"`
	OTP     string `json:"otp" audit:"secret"`
}

// BenchmarkAudit compares an audited call writing one line to the zap
// sink with a bare zap line of the same fields to the same core (JSON to
// io.Discard), and with a call through an empty catalog.
func BenchmarkAudit(b *testing.B) {
	ctx := audit.ContextWithPrincipal(log.ContextWithRequestID(context.Background(), log.NewRequestID()), "alice")
	core := zapcore.NewCore(zapcore.NewJSONEncoder(log.EncoderConfig("json")), zapcore.AddSync(io.Discard), zapcore.InfoLevel)
	logger := zap.New(core)
	fn := func(context.Context, plainRequest) (int, error) { return 1, nil }
	tfn := func(context.Context, taggedRequest) (int, error) { return 1, nil }

	base := catalog.New()
	direct, _ := catalog.RegisterIn(base, "bank.Transfer", fn)
	b.Run("baseline=empty-catalog", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = direct.Call(ctx, plainRequest{"A", 1})
		}
	})
	named := logger.Named("audit")
	b.Run("baseline=bare-zap-line", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			start := time.Now()
			named.Info("audit", zap.Time("time", start.UTC()), zap.String("command", "bank.Transfer"),
				zap.String("side", "server"), zap.String("phase", "after"), zap.String("outcome", "ok"),
				zap.Duration("duration", time.Since(start)), zap.String("request_id", "0b3c6c1e-7a5e-4a51-8d0c-4b1b2b6f8a9e"),
				zap.String("principal", "alice"))
		}
	})

	a, _ := audit.New(audit.Config{All: true}, audit.WithLogger(logger))
	c := catalog.New()
	c.UseServerSide(a)
	cmd, _ := catalog.RegisterIn(c, "bank.Transfer", fn)
	tagged, _ := catalog.RegisterIn(c, "bank.Tagged", tfn)
	b.Run("audit=zap-sink", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = cmd.Call(ctx, plainRequest{"A", 1})
		}
	})
	b.Run("audit=zap-sink,3-request-fields", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = tagged.Call(ctx, taggedRequest{"A", 1, "x"})
		}
	})

	fa, err := audit.New(audit.Config{All: true, Sink: audit.SinkFile,
		File: audit.FileConfig{Path: filepath.Join(b.TempDir(), "a.jsonl"), Sync: audit.SyncNever}})
	if err != nil {
		b.Fatal(err)
	}
	defer fa.Close()
	fc := catalog.New()
	fc.UseServerSide(fa)
	fcmd, _ := catalog.RegisterIn(fc, "bank.Transfer", fn)
	b.Run("audit=file-sink,sync=never", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = fcmd.Call(ctx, plainRequest{"A", 1})
		}
	})
}
