package storetest

import (
	"bytes"
	"errors"
	"testing"
	"time"

	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/store"
)

// put writes key and fails the test when the write fails.
func put(t *testing.T, st store.Store, key, value string, opts store.PutOptions) uint64 {
	t.Helper()
	rev, err := st.Put(t.Context(), key, []byte(value), opts)
	if err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
	if rev == 0 {
		t.Fatalf("Put(%q) returned revision 0", key)
	}
	return rev
}

// get returns the record of key at revision minRev or later. A store
// without ReadYourWrites is polled until it has caught up.
func get(t *testing.T, st store.Store, key string, minRev uint64) store.Record {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		r, err := st.Get(t.Context(), key)
		if err == nil && r.Revision >= minRev {
			if r.Key != key {
				t.Fatalf("Get(%q) returned the record of %q", key, r.Key)
			}
			return r
		}
		if st.Features().ReadYourWrites || time.Now().After(deadline) {
			if err != nil {
				t.Fatalf("Get(%q): %v", key, err)
			}
			t.Fatalf("Get(%q) = revision %d, want %d or later", key, r.Revision, minRev)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// getValue is get checking the value too.
func getValue(t *testing.T, st store.Store, key string, minRev uint64, want string) store.Record {
	t.Helper()
	r := get(t, st, key, minRev)
	if !bytes.Equal(r.Value, []byte(want)) {
		t.Fatalf("Get(%q) = %q, want %q", key, r.Value, want)
	}
	return r
}

// gone checks that key does not exist (polling a store without
// ReadYourWrites).
func gone(t *testing.T, st store.Store, key string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		r, err := st.Get(t.Context(), key)
		if errors.Is(err, store.ErrNotFound) {
			wantErr(t, "Get of a missing key", err, store.ErrNotFound, errs.KindNotFound)
			return
		}
		if st.Features().ReadYourWrites || time.Now().After(deadline) {
			t.Fatalf("Get(%q) = %q, %v; want an error matching store.ErrNotFound", key, r.Value, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// wantErr checks that err matches def with errors.Is and has kind.
func wantErr(t *testing.T, what string, err error, def *errs.Def, kind errs.Kind) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error, want %s", what, def.Code())
	}
	if !errors.Is(err, def) {
		t.Fatalf("%s: %v, want an error matching %s", what, err, def.Code())
	}
	if got := errs.KindOf(err); got != kind {
		t.Fatalf("%s: %v has kind %s, want %s", what, err, got, kind)
	}
}

// wantInvalid checks that err is store.ErrInvalid naming field.
func wantInvalid(t *testing.T, what string, err error, field string) {
	t.Helper()
	wantErr(t, what, err, store.ErrInvalid, errs.KindInvalidArgument)
	e, _ := errs.As(err)
	if got, _ := e.Param("field"); got != field {
		t.Fatalf("%s: %v names field %q, want %q", what, err, got, field)
	}
}

// next returns the next event of ch, failing when none comes in time or
// the channel closes.
func next(t *testing.T, ch <-chan store.Event) store.Event {
	t.Helper()
	timer := time.NewTimer(within)
	defer timer.Stop()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("the watch channel closed")
		}
		return ev
	case <-timer.C:
		t.Fatalf("no watch event in %v", within)
	}
	return store.Event{}
}

// synced reads the first part of a watch, up to EventSynced, and returns
// the records it reported.
func synced(t *testing.T, ch <-chan store.Event) map[string]store.Record {
	t.Helper()
	m := make(map[string]store.Record)
	for {
		ev := next(t, ch)
		switch ev.Kind {
		case store.EventSynced:
			return m
		case store.EventPut:
			if _, dup := m[ev.Record.Key]; dup {
				t.Fatalf("the watch reported %q twice before EventSynced", ev.Record.Key)
			}
			m[ev.Record.Key] = ev.Record
		default:
			t.Fatalf("before EventSynced, a watch sent event kind %d", ev.Kind)
		}
	}
}

// closes waits for ch to close, dropping its events.
func closes(t *testing.T, ch <-chan store.Event, what string) {
	t.Helper()
	timer := time.NewTimer(within)
	defer timer.Stop()
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-timer.C:
			t.Fatalf("the watch channel did not close in %v after %s", within, what)
		}
	}
}
