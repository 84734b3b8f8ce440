package storetest

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/wegomesh/wego/store"
)

func (s *suite) watchStore(t *testing.T) store.Store {
	t.Helper()
	st := s.store(t)
	if !st.Features().Watch {
		t.Skip("the backend does not claim Watch")
	}
	return st
}

// wantEvent reads the next event and checks it.
func wantEvent(t *testing.T, ch <-chan store.Event, kind store.EventKind, key, value string, rev uint64) store.Event {
	t.Helper()
	ev := next(t, ch)
	if ev.Kind != kind || ev.Record.Key != key {
		t.Fatalf("event %d %q, want %d %q", ev.Kind, ev.Record.Key, kind, key)
	}
	if kind == store.EventPut && (string(ev.Record.Value) != value || ev.Record.Revision != rev) {
		t.Fatalf("event put %q = %q revision %d, want %q revision %d", key, ev.Record.Value, ev.Record.Revision, value, rev)
	}
	if kind == store.EventDelete && ev.Record.Revision != 0 && ev.Record.Revision <= rev {
		t.Fatalf("event delete %q has revision %d, not after the put's %d", key, ev.Record.Revision, rev)
	}
	return ev
}

func (s *suite) watch(t *testing.T) {
	st := s.watchStore(t)
	ctx := t.Context()
	r1 := put(t, st, "w/1", "one", store.PutOptions{})
	r2 := put(t, st, "w/2", "two", store.PutOptions{Metadata: map[string]string{"m": "x"}})
	put(t, st, "v/1", "other", store.PutOptions{})
	get(t, st, "v/1", 0)

	ch, err := st.Watch(ctx, "w/")
	if err != nil {
		t.Fatal(err)
	}
	first := synced(t, ch)
	if len(first) != 2 || string(first["w/1"].Value) != "one" || first["w/1"].Revision != r1 ||
		string(first["w/2"].Value) != "two" || first["w/2"].Revision != r2 || first["w/2"].Metadata["m"] != "x" {
		t.Fatalf("the watch's current records = %v, want w/1 = one (revision %d) and w/2 = two (revision %d, metadata)", first, r1, r2)
	}
	all, err := st.Watch(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := synced(t, all); len(got) != 3 {
		t.Fatalf("a watch of every key started with %d records, want 3", len(got))
	}

	r3 := put(t, st, "w/3", "three", store.PutOptions{})
	wantEvent(t, ch, store.EventPut, "w/3", "three", r3)
	rv := put(t, st, "v/2", "not watched", store.PutOptions{})
	if err := st.Delete(ctx, "w/1", store.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	wantEvent(t, ch, store.EventDelete, "w/1", "", r3)
	var last uint64
	for i := 4; i < 14; i++ {
		k := fmt.Sprintf("w/%d", i)
		rev := put(t, st, k, k, store.PutOptions{})
		ev := wantEvent(t, ch, store.EventPut, k, k, rev)
		if ev.Record.Revision <= last {
			t.Fatalf("watch events out of revision order: %d after %d", ev.Record.Revision, last)
		}
		last = ev.Record.Revision
	}
	wantEvent(t, all, store.EventPut, "w/3", "three", r3)
	wantEvent(t, all, store.EventPut, "v/2", "not watched", rv)
	wantEvent(t, all, store.EventDelete, "w/1", "", rv)
}

func (s *suite) watchExpiry(t *testing.T) {
	st := s.watchStore(t)
	if !st.Features().TTL {
		t.Skip("the backend does not claim TTL")
	}
	if s.opts.noExpiryEvents {
		t.Skip("the backend's watches do not report expiry (NoExpiryEvents)")
	}
	ch, err := st.Watch(t.Context(), "e/")
	if err != nil {
		t.Fatal(err)
	}
	synced(t, ch)
	const ttl = time.Second
	start := time.Now()
	rev := put(t, st, "e/1", "v", store.PutOptions{TTL: ttl})
	wantEvent(t, ch, store.EventPut, "e/1", "v", rev)
	wantEvent(t, ch, store.EventDelete, "e/1", "", rev)
	if d := time.Since(start); d > ttl+time.Second+500*time.Millisecond {
		t.Fatalf("the expiry was reported %v after a write with TTL %v (want within TTL + 1s)", d, ttl)
	}
}

func (s *suite) watchCancel(t *testing.T) {
	st := s.watchStore(t)
	put(t, st, "c/1", "v", store.PutOptions{})
	before := runtime.NumGoroutine()
	const watches = 20
	for i := range watches {
		ctx, cancel := context.WithCancel(t.Context())
		ch, err := st.Watch(ctx, "c/")
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		if i%2 == 0 {
			synced(t, ch) // half are canceled before they are read
		}
		cancel()
		closes(t, ch, "its context was canceled")
	}
	ch, err := st.Watch(t.Context(), "c/")
	if err != nil {
		t.Fatal(err)
	}
	synced(t, ch)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	closes(t, ch, "the store was closed")
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= before+watches/4 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines after %d watches ended, %d before: the watches leak goroutines", n, watches+1, before)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// watchBehind writes many changes while the receiver does not read, then
// checks that the receiver, applying what it gets (resets included),
// ends with the store's records: never a blocked writer, never a silently
// missed change.
func (s *suite) watchBehind(t *testing.T) {
	st := s.watchStore(t)
	ctx := t.Context()
	ch, err := st.Watch(ctx, "b/")
	if err != nil {
		t.Fatal(err)
	}
	synced(t, ch)

	n := s.opts.watchChanges
	done := make(chan error, 1)
	go func() {
		for i := range n {
			key := fmt.Sprintf("b/%02d", i%50)
			var err error
			if i%7 == 6 {
				err = st.Delete(ctx, key, store.DeleteOptions{})
			} else {
				_, err = st.Put(ctx, key, fmt.Appendf(nil, "v%d", i), store.PutOptions{})
			}
			if err != nil {
				done <- err
				return
			}
		}
		_, err := st.Put(ctx, "b/zz-end", []byte("end"), store.PutOptions{})
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("%d writes did not finish in 2 minutes while a watch was not read: do writers block on watches?", n)
	}

	model := make(map[string]store.Record)
	inSync, resets := true, 0
	var last uint64
	for !inSync || string(model["b/zz-end"].Value) != "end" {
		ev := next(t, ch)
		switch ev.Kind {
		case store.EventPut:
			if inSync {
				if ev.Record.Revision <= last {
					t.Fatalf("change of %q at revision %d after revision %d", ev.Record.Key, ev.Record.Revision, last)
				}
				last = ev.Record.Revision
			}
			model[ev.Record.Key] = ev.Record
		case store.EventDelete:
			if !inSync {
				t.Fatalf("EventDelete of %q between EventReset and EventSynced", ev.Record.Key)
			}
			if ev.Record.Revision != 0 {
				last = ev.Record.Revision
			}
			delete(model, ev.Record.Key)
		case store.EventReset:
			resets++
			inSync = false
			clear(model)
		case store.EventSynced:
			if inSync {
				t.Fatal("EventSynced without an EventReset before it")
			}
			inSync, last = true, 0
		default:
			t.Fatalf("unknown event kind %d", ev.Kind)
		}
	}
	t.Logf("%d changes written while the watch was not read: %d resets", n, resets)
	rs, err := st.List(ctx, "b/", store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != len(model) {
		t.Fatalf("the watch ended with %d records, the store has %d", len(model), len(rs))
	}
	for _, r := range rs {
		m, ok := model[r.Key]
		if !ok || !bytes.Equal(m.Value, r.Value) || m.Revision != r.Revision {
			t.Fatalf("the watch ended with %q = %q (revision %d), the store has %q (revision %d)", r.Key, m.Value, m.Revision, r.Value, r.Revision)
		}
	}
}
