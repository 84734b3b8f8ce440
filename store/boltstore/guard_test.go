package boltstore_test

import (
	"encoding/binary"
	"errors"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/wegomesh/wego/store"
	"github.com/wegomesh/wego/store/boltstore"
)

// A write without a condition, fence or expiry skips reading the key's
// old record while no record of the bucket has had a fence or an
// expiry. These tests check that the fence and the expiry of a record
// are still kept by such writes once the bucket has had them, in the
// store that wrote them, after a reopen, and in a file that an earlier
// version wrote, which does not say whether the bucket is guarded.

// wantFenced checks that a write to key with fence is refused as fenced
// and that key still has want as its fence.
func wantFenced(t *testing.T, s *boltstore.Store, key string, fence, want uint64) {
	t.Helper()
	if _, err := s.Put(t.Context(), key, []byte("late"), store.PutOptions{Fence: fence}); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("Put(%s, fence %d) over fence %d: %v, want fenced", key, fence, want, err)
	}
	r, err := s.Get(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	if r.Fence != want || string(r.Value) == "late" {
		t.Fatalf("%s after the refused write: fence %d, value %q; want fence %d", key, r.Fence, r.Value, want)
	}
}

// guardMark reads the file's mark for bucket: 0, 1, or -1 when there is
// none.
func guardMark(t *testing.T, path, bucket string) int {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mark := -1
	err = db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket([]byte(".wego")).Get([]byte("guarded/" + bucket)); len(v) == 1 {
			mark = int(v[0])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return mark
}

// editMeta changes the file's own bucket (.wego) with fn, in one
// transaction, while no store has the file open.
func editMeta(t *testing.T, path string, fn func(meta *bolt.Bucket) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error { return fn(tx.Bucket([]byte(".wego"))) })
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
}

// forgetGuard removes the file's mark for bucket, as in a file that an
// earlier version wrote.
func forgetGuard(t *testing.T, path, bucket string) {
	t.Helper()
	editMeta(t, path, func(meta *bolt.Bucket) error { return meta.Delete([]byte("guarded/" + bucket)) })
}

func TestUnconditionalWritesKeepFences(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fence.db")
	ctx := t.Context()
	s, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"job", "other"} {
		if _, err := s.Put(ctx, k, []byte("plain"), store.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Put(ctx, "job", []byte("holder 5"), store.PutOptions{Fence: 5}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, "job", []byte("unfenced"), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	wantFenced(t, s, "job", 3, 5)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if m := guardMark(t, path, "wego"); m != 1 {
		t.Fatalf("the file's mark for a bucket with a fenced record is %d, want 1", m)
	}

	s = open(t, path, boltstore.Options{})
	if _, err := s.Put(ctx, "job", []byte("unfenced again"), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	wantFenced(t, s, "job", 4, 5)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// A file without the mark, as an earlier version wrote it.
	forgetGuard(t, path, "wego")
	s = open(t, path, boltstore.Options{NoCheck: true})
	if _, err := s.Put(ctx, "job", []byte("unfenced, old file"), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	wantFenced(t, s, "job", 2, 5)
}

func TestUnconditionalWritesMoveExpiry(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "expiry.db"), boltstore.Options{})
	ctx := t.Context()
	if _, err := s.Put(ctx, "session", []byte("plain"), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, "session", []byte("short"), store.PutOptions{TTL: 300 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	// Without a TTL the record no longer expires: its old expiry leaves
	// the index, and the sweeper leaves the record alone.
	if _, err := s.Put(ctx, "session", []byte("kept"), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(600 * time.Millisecond)
	r, err := s.Get(ctx, "session")
	if err != nil {
		t.Fatalf("a record rewritten without a TTL expired with its old one: %v", err)
	}
	if string(r.Value) != "kept" || !r.Expires.IsZero() {
		t.Fatalf("session: %q, expires %v; want kept, no expiry", r.Value, r.Expires)
	}
}

func TestGuardOfOldFiles(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	for _, c := range []struct {
		name string
		opts store.PutOptions
		want int
	}{
		{"plain", store.PutOptions{}, 0},
		{"expiring", store.PutOptions{TTL: time.Hour}, 1},
		{"fenced", store.PutOptions{Fence: 9}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, c.name+".db")
			s, err := boltstore.Open(path, boltstore.Options{Bucket: c.name})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Put(ctx, "k", []byte("v"), c.opts); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			forgetGuard(t, path, c.name)
			s, err = boltstore.Open(path, boltstore.Options{Bucket: c.name})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if m := guardMark(t, path, c.name); m != c.want {
				t.Fatalf("the mark Open wrote for a file without one: %d, want %d", m, c.want)
			}
		})
	}
}

// TestGuardOfVersion1Files: a build that reads version 1 files writes
// fences and expiries without setting the guard mark, so Open does not
// trust the marks of a version 1 file. It reads the records again, and
// makes the file version 2, which such a build refuses to open.
func TestGuardOfVersion1Files(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	ctx := t.Context()
	s, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, "job", []byte("v"), store.PutOptions{Fence: 5}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// As a version 1 build would leave it: a fenced record, and a mark
	// that says the bucket has none (set by a version 2 build before the
	// fenced write).
	editMeta(t, path, func(meta *bolt.Bucket) error {
		if err := meta.Put([]byte("schema"), binary.BigEndian.AppendUint32(nil, 1)); err != nil {
			return err
		}
		if err := meta.Put([]byte("guarded/other"), []byte{0}); err != nil {
			return err
		}
		return meta.Put([]byte("guarded/wego"), []byte{0})
	})
	s, err = boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Put(ctx, "job", []byte("plain"), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if r, err := s.Get(ctx, "job"); err != nil || r.Fence != 5 {
		t.Fatalf("after a plain write, the record's fence is %d (%v), want 5", r.Fence, err)
	}
	if _, err := s.Put(ctx, "job", []byte("late"), store.PutOptions{Fence: 3}); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("a write with an older fence: %v, want store.fenced", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if m := guardMark(t, path, "wego"); m != 1 {
		t.Fatalf("the mark after the upgrade: %d, want 1", m)
	}
	if m := guardMark(t, path, "other"); m != -1 {
		t.Fatalf("another bucket's mark after the upgrade: %d, want none (read again at its Open)", m)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket([]byte(".wego")).Get([]byte("schema")); binary.BigEndian.Uint32(v) != 2 {
			t.Errorf("schema version after Open: %d, want 2", binary.BigEndian.Uint32(v))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestOpenDamagedGuard(t *testing.T) {
	path := filepath.Join(t.TempDir(), "guard.db")
	s, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	editMeta(t, path, func(meta *bolt.Bucket) error { return meta.Put([]byte("guarded/wego"), []byte("yes")) })
	wantOpenError(t, path, boltstore.Options{}, "the file is damaged")
}
