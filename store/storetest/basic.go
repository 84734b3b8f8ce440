package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/store"
)

func (s *suite) features(t *testing.T) {
	f := s.store(t).Features()
	if f.Durability < store.DurabilityMemory || f.Durability > store.DurabilityReplicated {
		t.Errorf("Features().Durability = %d, not a durability level", f.Durability)
	}
	if f.MaxValue <= 0 {
		t.Errorf("Features().MaxValue = %d, want a positive size", f.MaxValue)
	}
}

func (s *suite) roundTrip(t *testing.T) {
	st := s.store(t)
	rev := put(t, st, "a", "one", store.PutOptions{})
	r := getValue(t, st, "a", rev, "one")
	if r.Revision != rev || !r.Expires.IsZero() || r.Fence != 0 || len(r.Metadata) != 0 {
		t.Fatalf("Get = revision %d, expires %v, fence %d, metadata %v; want revision %d and no expiry, fence or metadata",
			r.Revision, r.Expires, r.Fence, r.Metadata, rev)
	}
	rev2 := put(t, st, "a", "two", store.PutOptions{})
	if rev2 <= rev {
		t.Fatalf("second Put revision %d, want more than %d", rev2, rev)
	}
	getValue(t, st, "a", rev2, "two")

	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	rev3, err := st.Put(t.Context(), "bin/all-bytes", all, store.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r := get(t, st, "bin/all-bytes", rev3); !bytes.Equal(r.Value, all) {
		t.Fatalf("the 256 byte values came back as %v", r.Value)
	}
	rev4 := put(t, st, "empty", "", store.PutOptions{})
	if r := get(t, st, "empty", rev4); len(r.Value) != 0 {
		t.Fatalf("an empty value came back as %q", r.Value)
	}

	if err := st.Delete(t.Context(), "a", store.DeleteOptions{}); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	gone(t, st, "a")
	if err := st.Delete(t.Context(), "a", store.DeleteOptions{}); err != nil {
		t.Fatalf("Delete of a deleted key: %v, want nil", err)
	}
	getValue(t, st, "empty", rev4, "")
}

func (s *suite) metadata(t *testing.T) {
	st := s.store(t)
	md := map[string]string{"content-type": "application/json", "owner": "orders"}
	value := []byte(`{"n":1}`)
	rev, err := st.Put(t.Context(), "m", value, store.PutOptions{Metadata: md})
	if err != nil {
		t.Fatal(err)
	}
	md["owner"] = "changed after Put"
	value[2] = 'X'
	r := getValue(t, st, "m", rev, `{"n":1}`)
	if len(r.Metadata) != 2 || r.Metadata["content-type"] != "application/json" || r.Metadata["owner"] != "orders" {
		t.Fatalf("Metadata = %v, want the two pairs written (and not the caller's later change)", r.Metadata)
	}
	rev = put(t, st, "m", "plain", store.PutOptions{})
	if r := get(t, st, "m", rev); len(r.Metadata) != 0 {
		t.Fatalf("a write without metadata kept %v; a write replaces the metadata", r.Metadata)
	}
}

func (s *suite) notFound(t *testing.T) {
	st := s.store(t)
	_, err := st.Get(t.Context(), "missing")
	wantErr(t, "Get of a missing key", err, store.ErrNotFound, errs.KindNotFound)
	if err := st.Delete(t.Context(), "missing", store.DeleteOptions{}); err != nil {
		t.Fatalf("Delete of a missing key: %v, want nil", err)
	}
	rs, err := st.List(t.Context(), "missing/", store.ListOptions{})
	if err != nil || len(rs) != 0 {
		t.Fatalf("List of an empty prefix = %v, %v; want none", rs, err)
	}
}

func (s *suite) invalidKey(t *testing.T) {
	st := s.store(t)
	bad := []string{"", strings.Repeat("k", store.MaxKeyLen+1), "_reserved", ".a", "a.", "a..b", "a b", "a*", "a>", "ü", "a\x00"}
	for _, key := range bad {
		_, err := st.Put(t.Context(), key, []byte("v"), store.PutOptions{})
		wantInvalid(t, fmt.Sprintf("Put(%q)", key), err, "key")
		_, err = st.Get(t.Context(), key)
		wantInvalid(t, fmt.Sprintf("Get(%q)", key), err, "key")
		err = st.Delete(t.Context(), key, store.DeleteOptions{})
		wantInvalid(t, fmt.Sprintf("Delete(%q)", key), err, "key")
	}
	for _, key := range []string{strings.Repeat("k", store.MaxKeyLen), "a.b/c-d_e=F9", "x_"} {
		rev := put(t, st, key, "ok", store.PutOptions{})
		getValue(t, st, key, rev, "ok")
	}
}

func (s *suite) valueTooLarge(t *testing.T) {
	st := s.store(t)
	max := st.Features().MaxValue
	_, err := st.Put(t.Context(), "big", make([]byte, max+1), store.PutOptions{})
	wantInvalid(t, fmt.Sprintf("Put of %d bytes (MaxValue %d)", max+1, max), err, "value")
	gone(t, st, "big")
	if max <= 16<<20 {
		rev, err := st.Put(t.Context(), "big", bytes.Repeat([]byte("v"), max), store.PutOptions{})
		if err != nil {
			t.Fatalf("Put of MaxValue = %d bytes: %v", max, err)
		}
		if r := get(t, st, "big", rev); len(r.Value) != max {
			t.Fatalf("a value of %d bytes came back with %d", max, len(r.Value))
		}
	}
}

func (s *suite) negativeTTL(t *testing.T) {
	st := s.store(t)
	_, err := st.Put(t.Context(), "k", []byte("v"), store.PutOptions{TTL: -time.Second})
	if !st.Features().TTL && errors.Is(err, store.ErrUnsupported) {
		return
	}
	wantInvalid(t, "Put with a negative TTL", err, "ttl")
	gone(t, st, "k")
}

func (s *suite) create(t *testing.T) {
	st := s.store(t)
	rev := put(t, st, "c", "first", store.PutOptions{Create: true})
	_, err := st.Put(t.Context(), "c", []byte("second"), store.PutOptions{Create: true})
	wantErr(t, "Create of an existing key", err, store.ErrConflict, errs.KindConflict)
	getValue(t, st, "c", rev, "first")
	if err := st.Delete(t.Context(), "c", store.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	rev = put(t, st, "c", "again", store.PutOptions{Create: true})
	getValue(t, st, "c", rev, "again")
}

func (s *suite) ifRevision(t *testing.T) {
	st := s.store(t)
	rev1 := put(t, st, "r", "1", store.PutOptions{})
	rev2 := put(t, st, "r", "2", store.PutOptions{IfRevision: rev1})
	if rev2 <= rev1 {
		t.Fatalf("compare-and-set revision %d, want more than %d", rev2, rev1)
	}
	_, err := st.Put(t.Context(), "r", []byte("3"), store.PutOptions{IfRevision: rev1})
	wantErr(t, "Put with a stale IfRevision", err, store.ErrConflict, errs.KindConflict)
	getValue(t, st, "r", rev2, "2")

	_, err = st.Put(t.Context(), "absent", []byte("x"), store.PutOptions{IfRevision: rev2})
	wantErr(t, "Put with IfRevision of a missing key", err, store.ErrConflict, errs.KindConflict)
	gone(t, st, "absent")
}

func (s *suite) ifRevisionWithCreate(t *testing.T) {
	st := s.store(t)
	_, err := st.Put(t.Context(), "k", []byte("v"), store.PutOptions{Create: true, IfRevision: 1})
	wantInvalid(t, "Put with Create and IfRevision", err, "if_revision")
	gone(t, st, "k")
}

func (s *suite) deleteIfRevision(t *testing.T) {
	st := s.store(t)
	rev1 := put(t, st, "d", "1", store.PutOptions{})
	rev2 := put(t, st, "d", "2", store.PutOptions{})
	err := st.Delete(t.Context(), "d", store.DeleteOptions{IfRevision: rev1})
	wantErr(t, "Delete with a stale IfRevision", err, store.ErrConflict, errs.KindConflict)
	getValue(t, st, "d", rev2, "2")
	if err := st.Delete(t.Context(), "d", store.DeleteOptions{IfRevision: rev2}); err != nil {
		t.Fatalf("Delete with the current revision: %v", err)
	}
	gone(t, st, "d")
	err = st.Delete(t.Context(), "d", store.DeleteOptions{IfRevision: rev2})
	wantErr(t, "Delete with IfRevision of a missing key", err, store.ErrConflict, errs.KindConflict)
}

func (s *suite) revisions(t *testing.T) {
	st := s.store(t)
	var last uint64
	for i := range 30 {
		key := fmt.Sprintf("k%d", i%5)
		rev := put(t, st, key, fmt.Sprint(i), store.PutOptions{})
		if rev <= last {
			t.Fatalf("write %d (%s) has revision %d, not more than the previous write's %d", i, key, rev, last)
		}
		last = rev
		if r := get(t, st, key, rev); r.Revision != rev {
			t.Fatalf("Get(%q) revision %d, Put returned %d", key, r.Revision, rev)
		}
		if i%7 == 6 {
			if err := st.Delete(t.Context(), key, store.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func (s *suite) fence(t *testing.T) {
	st := s.store(t)
	ctx := t.Context()
	fenced := func(what string, err error) {
		t.Helper()
		wantErr(t, what, err, store.ErrFenced, errs.KindConflict)
	}
	rev := put(t, st, "f", "5", store.PutOptions{Fence: 5})
	if r := getValue(t, st, "f", rev, "5"); r.Fence != 5 {
		t.Fatalf("Fence = %d after a write with fence 5", r.Fence)
	}
	_, err := st.Put(ctx, "f", []byte("3"), store.PutOptions{Fence: 3})
	fenced("Put with an older fence", err)
	getValue(t, st, "f", rev, "5")

	put(t, st, "f", "5b", store.PutOptions{Fence: 5})
	put(t, st, "f", "7", store.PutOptions{Fence: 7})
	rev = put(t, st, "f", "unfenced", store.PutOptions{})
	if r := getValue(t, st, "f", rev, "unfenced"); r.Fence != 7 {
		t.Fatalf("Fence = %d after an unfenced write, want 7 kept", r.Fence)
	}
	_, err = st.Put(ctx, "f", []byte("6"), store.PutOptions{Fence: 6})
	fenced("Put with an older fence after an unfenced write", err)
	rev = put(t, st, "f", "7 cas", store.PutOptions{Fence: 7, IfRevision: rev})
	getValue(t, st, "f", rev, "7 cas")

	err = st.Delete(ctx, "f", store.DeleteOptions{Fence: 6})
	fenced("Delete with an older fence", err)
	getValue(t, st, "f", rev, "7 cas")
	if err := st.Delete(ctx, "f", store.DeleteOptions{Fence: 7}); err != nil {
		t.Fatalf("Delete with the current fence: %v", err)
	}
	gone(t, st, "f")
	rev = put(t, st, "f", "1", store.PutOptions{Fence: 1})
	if r := get(t, st, "f", rev); r.Fence != 1 {
		t.Fatalf("Fence = %d; a deleted key's fence is forgotten, want 1", r.Fence)
	}
	rev = put(t, st, "plain", "v", store.PutOptions{})
	if r := get(t, st, "plain", rev); r.Fence != 0 {
		t.Fatalf("Fence = %d for a key never fenced, want 0", r.Fence)
	}
}

func (s *suite) expiry(t *testing.T) {
	st := s.store(t)
	if !st.Features().TTL {
		t.Skip("the backend does not claim TTL")
	}
	const ttl = time.Second
	start := time.Now()
	rev := put(t, st, "e/short", "v", store.PutOptions{TTL: ttl})
	put(t, st, "e/renewed", "v", store.PutOptions{TTL: ttl})
	renewed := put(t, st, "e/renewed", "forever", store.PutOptions{})
	long := put(t, st, "e/long", "v", store.PutOptions{TTL: time.Hour})
	r := getValue(t, st, "e/short", rev, "v")
	if r.Expires.Before(start.Add(ttl-100*time.Millisecond)) || r.Expires.After(time.Now().Add(ttl+time.Second)) {
		t.Fatalf("Expires = %v, want about %v (TTL %v after the write)", r.Expires, start.Add(ttl), ttl)
	}
	if r := get(t, st, "e/renewed", renewed); !r.Expires.IsZero() {
		t.Fatalf("a write without TTL left Expires = %v; it should make the record permanent", r.Expires)
	}

	deadline := start.Add(ttl + time.Second)
	for {
		_, err := st.Get(t.Context(), "e/short")
		if errors.Is(err, store.ErrNotFound) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the record is still there %v after a write with TTL %v (want gone within TTL + 1s)", time.Since(start), ttl)
		}
		time.Sleep(20 * time.Millisecond)
	}
	keys, err := st.Keys(t.Context(), "e/", store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(keys) != "[e/long e/renewed]" {
		t.Fatalf("Keys after expiry = %v, want [e/long e/renewed]", keys)
	}
	getValue(t, st, "e/long", long, "v")
	getValue(t, st, "e/renewed", renewed, "forever")
	rev = put(t, st, "e/short", "again", store.PutOptions{Create: true})
	if r := getValue(t, st, "e/short", rev, "again"); !r.Expires.IsZero() {
		t.Fatalf("Expires = %v for a record written without TTL", r.Expires)
	}
}

func (s *suite) closed(t *testing.T) {
	st := s.store(t)
	put(t, st, "k", "v", store.PutOptions{})
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ctx := t.Context()
	closed := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, store.ErrClosed) {
			t.Fatalf("%s after Close: %v, want an error matching store.ErrClosed", what, err)
		}
	}
	_, err := st.Get(ctx, "k")
	closed("Get", err)
	_, err = st.Put(ctx, "k", []byte("v"), store.PutOptions{})
	closed("Put", err)
	closed("Delete", st.Delete(ctx, "k", store.DeleteOptions{}))
	_, err = st.List(ctx, "", store.ListOptions{})
	closed("List", err)
	_, err = st.Keys(ctx, "", store.ListOptions{})
	closed("Keys", err)
	if st.Features().Watch {
		_, err = st.Watch(ctx, "")
		closed("Watch", err)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("second Close: %v, want nil (Close is idempotent)", err)
	}
}

func (s *suite) unsupported(t *testing.T) {
	st := s.store(t)
	f := st.Features()
	if f.Watch && f.TTL {
		t.Skip("the backend claims every optional feature")
	}
	if !f.Watch {
		_, err := st.Watch(t.Context(), "")
		if !errors.Is(err, store.ErrUnsupported) {
			t.Errorf("Watch on a backend without Features.Watch: %v, want an error matching store.ErrUnsupported", err)
		}
	}
	if !f.TTL {
		_, err := st.Put(t.Context(), "k", []byte("v"), store.PutOptions{TTL: time.Minute})
		if !errors.Is(err, store.ErrUnsupported) {
			t.Errorf("Put with a TTL on a backend without Features.TTL: %v, want an error matching store.ErrUnsupported", err)
		}
		gone(t, st, "k")
	}
}
