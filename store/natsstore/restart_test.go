package natsstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/wegomesh/wego/engine/enginetest"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/store"
)

// TestWatchSurvivesServerRestarts restarts the server twice while a writer
// keeps writing: the watch ends with every acknowledged write, in revision
// order, none twice, and no reset (it resumes after the last revision it
// had).
func TestWatchSurvivesServerRestarts(t *testing.T) {
	srv := enginetest.NewServer(t)
	s := open(t, enginetest.Client(t, srv.URL()), "restart")
	ctx := t.Context()
	ch, err := s.Watch(ctx, "r.")
	if err != nil {
		t.Fatal(err)
	}
	if ev := <-ch; ev.Kind != store.EventSynced {
		t.Fatalf("first event %v, want EventSynced", ev)
	}

	var (
		mu    sync.Mutex
		acked []uint64
		fails int
	)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			rev, err := s.Put(wctx, fmt.Sprintf("r.k%d", i), []byte("v"), store.PutOptions{})
			cancel()
			mu.Lock()
			if err == nil {
				acked = append(acked, rev)
			} else {
				fails++
				if !errors.Is(err, store.ErrUnavailable) || errs.KindOf(err) != errs.KindUnavailable {
					t.Errorf("a write while the server restarts: %v, want an error matching store.ErrUnavailable", err)
				}
			}
			mu.Unlock()
			if err != nil {
				time.Sleep(20 * time.Millisecond)
			}
		}
	}()
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(acked)
	}
	for round := range 2 {
		for n := count(); count() < n+50; {
			time.Sleep(5 * time.Millisecond)
		}
		_ = srv.Stop()
		time.Sleep(300 * time.Millisecond)
		srv.Start()
		for n := count(); count() < n+50; {
			time.Sleep(5 * time.Millisecond)
		}
		t.Logf("restart %d done", round+1)
	}
	close(stop)
	<-done
	mu.Lock()
	want := append([]uint64(nil), acked...)
	t.Logf("%d writes acknowledged, %d failed while the server was down", len(want), fails)
	mu.Unlock()

	seen := map[uint64]bool{}
	var last uint64
	timeout := time.After(30 * time.Second)
	for !seen[want[len(want)-1]] {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatal("the watch closed")
			}
			if ev.Kind != store.EventPut {
				t.Fatalf("event %d (%q, revision %d) during restarts, want puts only", ev.Kind, ev.Record.Key, ev.Record.Revision)
			}
			rev := ev.Record.Revision
			if rev <= last {
				t.Fatalf("revision %d after %d: out of order or twice", rev, last)
			}
			last = rev
			seen[rev] = true
		case <-timeout:
			t.Fatalf("the watch did not reach revision %d in 30s (last %d)", want[len(want)-1], last)
		}
	}
	for _, rev := range want {
		if !seen[rev] {
			t.Errorf("acknowledged revision %d never reached the watch", rev)
		}
	}
}

// TestUnavailable stops the server: operations fail quickly with an error
// matching store.ErrUnavailable, write nothing, and work again once the
// server is back.
func TestUnavailable(t *testing.T) {
	srv := enginetest.NewServer(t)
	s := open(t, enginetest.Client(t, srv.URL()), "down")
	ctx := t.Context()
	if _, err := s.Put(ctx, "k", []byte("before"), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	ch, err := s.Watch(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if ev := <-ch; ev.Kind != store.EventPut {
		t.Fatalf("first event %v", ev)
	}
	if ev := <-ch; ev.Kind != store.EventSynced {
		t.Fatalf("second event %v", ev)
	}
	_ = srv.Stop()

	unavailable := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, store.ErrUnavailable) || errs.KindOf(err) != errs.KindUnavailable {
			t.Fatalf("%s with the server down: %v, want an error matching store.ErrUnavailable", what, err)
		}
	}
	began := time.Now()
	_, err = s.Put(ctx, "written-while-down", []byte("x"), store.PutOptions{})
	unavailable("Put", err)
	_, err = s.Put(ctx, "k", []byte("x"), store.PutOptions{Fence: 3})
	unavailable("fenced Put", err)
	_, err = s.Put(ctx, "created-while-down", []byte("x"), store.PutOptions{Create: true})
	unavailable("Put Create", err)
	_, err = s.Get(ctx, "k")
	unavailable("Get", err)
	unavailable("Delete", s.Delete(ctx, "k", store.DeleteOptions{}))
	_, err = s.List(ctx, "", store.ListOptions{})
	unavailable("List", err)
	_, err = s.Watch(ctx, "")
	unavailable("Watch", err)
	if d := time.Since(began); d > time.Second {
		t.Errorf("7 operations took %v to fail with the server down, want them to fail at once", d)
	}

	srv.Start()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := s.Put(ctx, "after", []byte("v"), store.PutOptions{})
		if err == nil {
			break
		}
		unavailable("Put while reconnecting", err)
		if time.Now().After(deadline) {
			t.Fatalf("Put still fails 10s after the server came back: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, k := range []string{"written-while-down", "created-while-down"} {
		if _, err := s.Get(ctx, k); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Get(%q) after a failed write: %v, want not found", k, err)
		}
	}
	if r, err := s.Get(ctx, "k"); err != nil || string(r.Value) != "before" || r.Fence != 0 {
		t.Errorf("Get(k) = %q fence %d, %v; want the value before the server stopped", r.Value, r.Fence, err)
	}
	// The watch resumed: it reports the write after the restart.
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-ch:
			if ev.Kind == store.EventReset {
				t.Fatalf("the watch reset after a short restart")
			}
			if ev.Kind == store.EventPut && ev.Record.Key == "after" {
				return
			}
		case <-timeout:
			t.Fatal("the watch did not report the write after the restart")
		}
	}
}
