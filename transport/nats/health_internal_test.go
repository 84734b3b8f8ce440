package natstransport

import (
	"context"
	"testing"
	"time"

	errs "github.com/wegomesh/wego/err"
)

// Only the server's own faults count against its health: a caller's
// mistake, a cancellation or a deadline never do.
func TestHealthCountsServerFaultsOnly(t *testing.T) {
	h := newHealth(DefaultHealthConfig())
	for range 30 {
		h.record(errs.Canceled(), time.Second)
		h.record(errs.DeadlineExceeded(), time.Second)
		h.record(context.Canceled, time.Second)
		h.record(errs.InvalidArgument(), time.Millisecond)
		h.record(errs.NotFound(), time.Millisecond)
		h.record(nil, time.Millisecond)
	}
	if why, _ := h.verdict(nil); why != "" {
		t.Fatalf("verdict %q after no server fault", why)
	}
	if h.failed.Load() != 0 || h.total.Load() != 90 {
		t.Fatalf("failed %d of %d, want 0 of 90", h.failed.Load(), h.total.Load())
	}
	for range 100 {
		h.record(errs.Internal(), time.Millisecond)
	}
	if why, _ := h.verdict(nil); why != "error rate" {
		t.Fatalf("verdict %q after 100 internal errors of 190", why)
	}
}

func TestHealthLatency(t *testing.T) {
	cfg := DefaultHealthConfig()
	cfg.Latency = 10 * time.Millisecond
	h := newHealth(cfg)
	for range 50 {
		h.record(nil, 2*time.Millisecond)
	}
	if why, _ := h.verdict(nil); why != "" {
		t.Fatalf("verdict %q at 2 ms", why)
	}
	for range 50 {
		h.record(nil, 50*time.Millisecond)
	}
	if why, _ := h.verdict(nil); why != "latency" {
		t.Fatalf("verdict %q at 50 ms", why)
	}
}
