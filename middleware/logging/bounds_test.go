package logging_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/log"
	"github.com/wegomesh/wego/middleware/logging"
)

// One request of 1 MiB makes a line of about 1 KiB, not 2 MiB: the error's
// text is cut, whatever its cause holds; so are the parameters (by errs).
func TestLoggedErrorIsCut(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("é", 1<<19) // 1 MiB
	core, logs := observer.New(zapcore.DebugLevel)
	mw, err := logging.New(logging.DefaultConfig(), logging.WithLogger(zap.New(core)))
	if err != nil {
		t.Fatal(err)
	}
	cat := catalog.New()
	cat.UseServerSide(mw)
	unknown := errs.Define("logging_test.unknown_sku", errs.KindNotFound, "SKU {{.sku}} is unknown.")
	cmd, err := catalog.RegisterIn(cat, "shop.Get", func(_ context.Context, sku string) (int, error) {
		if sku == "param" {
			return 0, unknown.New(errs.P("sku", huge))
		}
		return 0, errs.Internal().WithCause(errors.New("query " + huge + " failed"))
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, sku := range []string{"param", "cause"} {
		_, _ = cmd.Call(context.Background(), sku)
		line := only(t, logs)
		text, _ := line.ContextMap()["error"].(string)
		if len(text) > logging.DefaultMaxErrorBytes || !strings.Contains(text, "…") || !utf8.ValidString(text) {
			t.Errorf("%s: error field of %d bytes: %.80q", sku, len(text), text)
		}
		if n := len(encode(t, line)); n > 2*logging.DefaultMaxErrorBytes {
			t.Errorf("%s: a line of %d bytes", sku, n)
		}
	}
}

// Client errors are sampled per code; server faults are not.
func TestClientErrorsAreSampled(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zapcore.DebugLevel)
	cfg := logging.DefaultConfig()
	cfg.ClientErrors = &log.SamplingConfig{Initial: 10, Thereafter: 100, Tick: time.Hour}
	mw, err := logging.New(cfg, logging.WithLogger(zap.New(core)))
	if err != nil {
		t.Fatal(err)
	}
	cat := catalog.New()
	cat.UseServerSide(mw)
	cmd, err := catalog.RegisterIn(cat, "shop.Get", func(_ context.Context, code string) (int, error) {
		switch code {
		case "not_found":
			return 0, errs.NotFound()
		case "invalid":
			return 0, errs.InvalidArgument(errs.Field("sku", "is odd"))
		}
		return 0, errs.Unavailable()
	})
	if err != nil {
		t.Fatal(err)
	}
	for range 1000 {
		for _, code := range []string{"not_found", "invalid", "unavailable"} {
			_, _ = cmd.Call(context.Background(), code)
		}
	}
	count := map[string]int{}
	for _, e := range logs.All() {
		count[e.ContextMap()["code"].(string)]++
	}
	// 10, then the 110th, 210th, ..., 910th: 19 of each client code.
	want := map[string]int{"not_found": 19, "invalid_argument": 19, "unavailable": 1000}
	for code, n := range want {
		if count[code] != n {
			t.Errorf("%s: %d lines, want %d (all: %v)", code, count[code], n, count)
		}
	}

	// Thereafter 1 logs every line.
	core, logs = observer.New(zapcore.DebugLevel)
	cfg.ClientErrors = &log.SamplingConfig{Initial: 1, Thereafter: 1}
	mw, _ = logging.New(cfg, logging.WithLogger(zap.New(core)))
	cat = catalog.New()
	cat.UseServerSide(mw)
	cmd, _ = catalog.RegisterIn(cat, "shop.Get", func(context.Context, string) (int, error) { return 0, errs.NotFound() })
	for range 50 {
		_, _ = cmd.Call(context.Background(), "x")
	}
	if n := logs.Len(); n != 50 {
		t.Errorf("thereafter 1: %d lines, want 50", n)
	}
}

// A new tick logs the first lines of a code again.
func TestClientErrorSamplingTicks(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zapcore.DebugLevel)
	cfg := logging.DefaultConfig()
	cfg.ClientErrors = &log.SamplingConfig{Initial: 2, Thereafter: 0, Tick: 50 * time.Millisecond}
	mw, _ := logging.New(cfg, logging.WithLogger(zap.New(core)))
	cat := catalog.New()
	cat.UseServerSide(mw)
	cmd, _ := catalog.RegisterIn(cat, "shop.Get", func(context.Context, string) (int, error) { return 0, errs.NotFound() })
	burst := func() {
		for range 20 {
			_, _ = cmd.Call(context.Background(), "x")
		}
	}
	burst()
	if n := logs.Len(); n != 2 {
		t.Fatalf("first tick: %d lines, want 2", n)
	}
	time.Sleep(60 * time.Millisecond)
	burst()
	if n := logs.Len(); n != 4 {
		t.Errorf("second tick: %d lines in all, want 4", n)
	}
}
