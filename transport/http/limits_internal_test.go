package httptransport

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/wegomesh/wego/transport"
)

func TestDefaultConcurrency(t *testing.T) {
	for _, c := range []struct {
		memory  uint64
		maxBody int64
		want    int
	}{
		{16 << 30, 1 << 20, 1024},
		{1 << 30, 1 << 20, 64},
		{256 << 20, 1 << 20, 16},   // the floor
		{64 << 30, 64 << 10, 4096}, // the ceiling
		{4 << 30, 0, 4096},
	} {
		if got := defaultConcurrency(c.memory, c.maxBody); got != c.want {
			t.Errorf("%d MiB, bodies of %d: %d, want %d", c.memory>>20, c.maxBody, got, c.want)
		}
	}
	if m := memoryLimit(); m < 64<<20 {
		t.Errorf("memory limit %d", m)
	}
	cfg := DefaultServerConfig()
	if n := cfg.ConcurrencyLimit(); n < 16 || n > 4096 {
		t.Errorf("default limit %d", n)
	}
	cfg.MaxConcurrent = 3
	if n := cfg.ConcurrencyLimit(); n != 3 {
		t.Errorf("configured limit %d", n)
	}
}

// TestMemoryRelease: large bodies make the limiter return memory once no
// request has been in flight for the delay, not before, and not for small
// bodies; once more followUp delays later; never once stopped.
func TestMemoryRelease(t *testing.T) {
	var freed atomic.Int64
	l := newLimiter(10, 50*time.Millisecond)
	l.free = func() { freed.Add(1) }
	defer l.stop()

	// Small bodies: nothing to give back.
	for range 100 {
		l.acquire()
		l.body(transport.MaxPooledBuffer)
		l.release()
	}
	time.Sleep(150 * time.Millisecond)
	if freed.Load() != 0 {
		t.Fatal("released after small bodies")
	}

	// Large bodies, and a request still in flight: not yet.
	l.acquire()
	for range 5 {
		l.acquire()
		l.body(1 << 20)
		l.release()
	}
	time.Sleep(150 * time.Millisecond)
	if freed.Load() != 0 {
		t.Fatal("released with a request in flight")
	}
	l.release() // the last one out
	deadline := time.Now().Add(2 * time.Second)
	for freed.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if freed.Load() != 1 {
		t.Fatalf("released %d times", freed.Load())
	}
	// Once more followUp delays later (what the burst left in use then
	// is freed by now), then no more.
	time.Sleep(followUp * 50 * time.Millisecond / 2)
	if freed.Load() != 1 {
		t.Fatalf("released %d times before the follow-up", freed.Load())
	}
	for freed.Load() == 1 && time.Now().Before(deadline.Add(2*time.Second)) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(followUp * 50 * time.Millisecond)
	if freed.Load() != 2 {
		t.Fatalf("released %d times, want 2: after the burst and once more", freed.Load())
	}

	// Off with a zero delay; stopped: never.
	off := newLimiter(10, 0)
	off.free = func() { t.Error("released with delay 0") }
	off.acquire()
	off.body(8 << 20)
	off.release()
	l.acquire()
	l.body(8 << 20)
	l.stop()
	l.release()
	time.Sleep(150 * time.Millisecond)
	if freed.Load() != 2 {
		t.Error("released after stop")
	}
}

func TestLimiterBound(t *testing.T) {
	l := newLimiter(2, 0)
	first, second, third := l.acquire(), l.acquire(), l.acquire()
	if !first || !second || third {
		t.Fatal("the third request got a place")
	}
	l.release()
	if !l.acquire() {
		t.Fatal("a freed place was not given")
	}
	if n, ok := l.refusal(); !ok || n != 1 {
		t.Errorf("first refusal: %d %v", n, ok)
	}
	if _, ok := l.refusal(); ok {
		t.Error("logged twice in a second")
	}
}
