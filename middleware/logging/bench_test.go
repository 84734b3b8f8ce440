package logging_test

import (
	"context"
	"io"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/log"
	"github.com/wegomesh/wego/middleware/logging"
)

// BenchmarkLogging compares a call through a catalog with the logging
// middleware with a call through an empty catalog, and the line it writes
// with a bare zap line of the same fields to the same core (JSON to
// io.Discard).
func BenchmarkLogging(b *testing.B) {
	ctx := log.ContextWithRequestID(context.Background(), log.NewRequestID())
	core := zapcore.NewCore(zapcore.NewJSONEncoder(log.EncoderConfig("json")), zapcore.AddSync(io.Discard), zapcore.InfoLevel)
	logger := zap.New(core)
	req := request("ann")

	base := catalog.New()
	direct, _ := catalog.RegisterIn(base, "pay.Charge", payFn)
	b.Run("baseline=empty-catalog", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = direct.Call(ctx, req)
		}
	})
	b.Run("baseline=bare-zap-line", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			start := time.Now()
			logger.Info(logging.Message, zap.String("command", "pay.Charge"), zap.String("side", "server"),
				zap.Duration("duration", time.Since(start)), zap.String("code", "ok"), zap.String("request_id", "0b3c6c1e-7a5e-4a51-8d0c-4b1b2b6f8a9e"))
		}
	})

	run := func(name string, cfg logging.Config) {
		mw, err := logging.New(cfg, logging.WithLogger(logger))
		if err != nil {
			b.Fatal(err)
		}
		c := catalog.New()
		c.UseServerSide(mw)
		pay, _ := catalog.RegisterIn(c, "pay.Charge", payFn)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _ = pay.Call(ctx, req)
			}
		})
	}
	run("logging/level=disabled", logging.DefaultConfig()) // success at debug, logger at info
	run("logging/level=disabled,bodies", logging.Config{Bodies: true})
	run("logging/level=enabled", logging.Config{SuccessLevel: "info"})
	run("logging/level=enabled,bodies", logging.Config{SuccessLevel: "info", Bodies: true})
	run("logging/level=enabled,sampled-out", logging.Config{SuccessLevel: "info",
		Sampling: &log.SamplingConfig{Initial: 1, Thereafter: 0, Tick: time.Hour}})

	// A client error (warn): every line logged, or sampled per code as by
	// default (after the first 10 of a second, 1 in 100).
	declined := request("declined")
	runErr := func(name string, cfg logging.Config) {
		mw, err := logging.New(cfg, logging.WithLogger(logger))
		if err != nil {
			b.Fatal(err)
		}
		c := catalog.New()
		c.UseServerSide(mw)
		pay, _ := catalog.RegisterIn(c, "pay.Charge", payFn)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _ = pay.Call(ctx, declined)
			}
		})
	}
	runErr("client-error/every-line", logging.Config{ClientErrors: &log.SamplingConfig{Initial: 1, Thereafter: 1}})
	runErr("client-error/sampled", logging.DefaultConfig())
}
