package boltstore

import (
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/wegomesh/wego/store"
)

// TestGuardWithinATransaction commits a fenced write and an unfenced one
// of the same key in one transaction, as a group commit may, on a store
// whose bucket has never had a fence: the second must keep the fence
// that the first wrote, and a transaction that fails must not leave the
// bucket counted as guarded without its mark.
func TestGuardWithinATransaction(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "tx.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if s.w.guarded {
		t.Fatal("a new store's bucket is guarded")
	}
	// The group commit's leader is the only one to call commit: take
	// its place.
	s.w.mu.Lock()
	s.w.busy = true
	s.w.mu.Unlock()
	fenced, plain := getOp(opPut), getOp(opPut)
	fenced.key, fenced.value, fenced.put = "job", []byte("holder 7"), store.PutOptions{Fence: 7}
	plain.key, plain.value = "job", []byte("unfenced")
	s.commit([]*op{fenced, plain})
	if fenced.err != nil || plain.err != nil {
		t.Fatalf("commit: %v, %v", fenced.err, plain.err)
	}
	if plain.fence != 7 {
		t.Fatalf("the unfenced write after a fenced one in the same transaction wrote fence %d, want 7", plain.fence)
	}
	if !s.w.guarded {
		t.Fatal("the bucket is not guarded after a fenced write committed")
	}
	s.w.mu.Lock()
	s.w.busy = false
	s.w.mu.Unlock()
	r, err := s.Get(t.Context(), "job")
	if err != nil {
		t.Fatal(err)
	}
	if r.Fence != 7 || string(r.Value) != "unfenced" {
		t.Fatalf("job: fence %d, value %q; want 7, unfenced", r.Fence, r.Value)
	}

	// A fenced write that bbolt refuses (a key over bbolt's limit, which
	// Put would have refused before) rolls its transaction back; the
	// commit runs again without it, and the other fenced write must then
	// mark the bucket in the transaction that commits.
	s2, err := Open(filepath.Join(t.TempDir(), "retry.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s2.Close() })
	s2.w.mu.Lock()
	s2.w.busy = true
	s2.w.mu.Unlock()
	bad, good := getOp(opPut), getOp(opPut)
	bad.key, bad.put = strings.Repeat("k", bolt.MaxKeySize+1), store.PutOptions{Fence: 3}
	s2.commit([]*op{bad})
	if bad.err == nil || s2.w.guarded {
		t.Fatalf("a refused fenced write: error %v, guarded %v; want an error, not guarded", bad.err, s2.w.guarded)
	}
	bad.fatal, bad.err = false, nil
	good.key, good.put = "ok", store.PutOptions{Fence: 3}
	s2.commit([]*op{bad, good})
	if bad.err == nil || good.err != nil || !s2.w.guarded {
		t.Fatalf("a refused and a good fenced write: errors %v, %v, guarded %v; want an error, nil, guarded", bad.err, good.err, s2.w.guarded)
	}
	err = s2.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(metaBucket).Get(s2.guardKey); string(v) != string(guardedYes) {
			t.Errorf("the file's mark after the retried commit: %x, want %x", v, guardedYes)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
