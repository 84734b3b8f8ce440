package boltstore_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"go.uber.org/zap"

	"github.com/wegomesh/wego/config"
	"github.com/wegomesh/wego/store"
	"github.com/wegomesh/wego/store/boltstore"
)

func open(t *testing.T, path string, opts boltstore.Options) *boltstore.Store {
	t.Helper()
	s, err := boltstore.Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// wantOpenError opens path and checks that it fails with an error that
// names the file and says why.
func wantOpenError(t *testing.T, path string, opts boltstore.Options, why string) {
	t.Helper()
	s, err := boltstore.Open(path, opts)
	if err == nil {
		_ = s.Close()
		t.Fatalf("Open(%s) succeeded, want an error saying %q", path, why)
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), why) {
		t.Fatalf("Open(%s): %v\nwant an error naming the file and saying %q", path, err, why)
	}
}

// fill writes n records, some with metadata and expiries, and closes the
// store.
func fill(t *testing.T, path string, n int) {
	t.Helper()
	s, err := boltstore.Open(path, boltstore.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		opts := store.PutOptions{Metadata: map[string]string{"i": fmt.Sprint(i)}}
		if i%3 == 0 {
			opts.TTL = time.Hour
		}
		if _, err := s.Put(t.Context(), fmt.Sprintf("k/%04d", i), make([]byte, 100+i%500), opts); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestOpenGarbage(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, size := range []int{5, 1000, 4096, 8192, 64 << 10} {
		path := filepath.Join(dir, fmt.Sprintf("garbage-%d.db", size))
		b := make([]byte, size)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		wantOpenError(t, path, boltstore.Options{}, "not a bbolt database, or it is damaged")
	}
	text := filepath.Join(dir, "text.db")
	if err := os.WriteFile(text, []byte(strings.Repeat("store: {kind: bbolt}\n", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	wantOpenError(t, text, boltstore.Options{}, "not a bbolt database, or it is damaged")
}

func TestOpenTruncated(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "full.db")
	fill(t, path, 2000)
	full, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The size bbolt has used: its high-water mark.
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var used int64
	_ = db.View(func(tx *bolt.Tx) error { used = tx.Size(); return nil })
	_ = db.Close()
	for _, size := range []int64{100, 4096, 5000, 8192, 3 * 4096, used / 2, used - 4096, used - 1} {
		p := filepath.Join(dir, fmt.Sprintf("cut-%d.db", size))
		if err := os.WriteFile(p, full[:size], 0o600); err != nil {
			t.Fatal(err)
		}
		// A file cut inside its header pages is "not a database"; one cut
		// later is "cut short".
		s, err := boltstore.Open(p, boltstore.Options{})
		if err == nil {
			_ = s.Close()
			t.Fatalf("Open of %s cut to %d bytes of %d succeeded", p, size, used)
		}
		if !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "damaged") {
			t.Fatalf("Open of the file cut to %d bytes: %v\nwant an error naming the file and saying it is damaged", size, err)
		}
		// The failed Open released the file: a second one fails the same way.
		if _, err := boltstore.Open(p, boltstore.Options{LockTimeout: -1}); err == nil || !strings.Contains(err.Error(), "damaged") {
			t.Fatalf("second Open of the file cut to %d bytes: %v, want it damaged", size, err)
		}
		t.Logf("cut to %d: %v", size, err)
	}
}

func TestOpenDamagedPage(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "full.db")
	fill(t, path, 2000)
	full, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	// Overwrite pages after the two header pages with garbage, one at a
	// time: Open must fail or, for a free page, work; it never panics.
	failed := 0
	for page := 2; page < 40; page++ {
		b := append([]byte(nil), full...)
		for i := page * 4096; i < (page+1)*4096 && i < len(b); i++ {
			b[i] = byte(rng.Uint32())
		}
		p := filepath.Join(dir, fmt.Sprintf("page-%d.db", page))
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := boltstore.Open(p, boltstore.Options{})
		if err != nil {
			failed++
			if !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "damaged") {
				t.Fatalf("Open with page %d damaged: %v\nwant an error naming the file and saying it is damaged", page, err)
			}
			continue
		}
		_ = s.Close()
	}
	if failed == 0 {
		t.Fatal("no damaged page failed Open")
	}
	t.Logf("%d of 38 damaged pages failed Open", failed)
}

func TestOpenNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "newer.db")
	fill(t, path, 1)
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte(".wego")).Put([]byte("schema"), binary.BigEndian.AppendUint32(nil, 3))
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	wantOpenError(t, path, boltstore.Options{}, "schema version 3, and this version of WeGO reads versions 1 to 2 only")
}

func TestOpenLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "locked.db")
	open(t, path, boltstore.Options{})
	start := time.Now()
	wantOpenError(t, path, boltstore.Options{LockTimeout: 200 * time.Millisecond}, "another process holds the file")
	if d := time.Since(start); d < 150*time.Millisecond || d > 2*time.Second {
		t.Fatalf("Open waited %v for the lock, want about 200ms", d)
	}
	start = time.Now()
	wantOpenError(t, path, boltstore.Options{LockTimeout: -1}, "another process holds the file")
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Fatalf("Open with a negative LockTimeout waited %v", d)
	}
}

func TestOpenWaitsForLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wait.db")
	s, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(100*time.Millisecond, func() { _ = s.Close() })
	open(t, path, boltstore.Options{LockTimeout: 5 * time.Second})
}

func TestOpenBadOptions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	for _, tt := range []struct {
		opts  boltstore.Options
		field string
	}{
		{boltstore.Options{Bucket: "a.b"}, "bucket"},
		{boltstore.Options{MaxValue: -1}, "max_value"},
		{boltstore.Options{MaxValue: 1 << 30}, "max_value"},
		{boltstore.Options{WatchBuffer: -1}, "watch_buffer"},
	} {
		_, err := boltstore.Open(path, tt.opts)
		if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), tt.field) {
			t.Errorf("Open(%+v): %v, want store.ErrInvalid naming %s", tt.opts, err, tt.field)
		}
	}
}

func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "re.db")
	ctx := t.Context()
	s, err := boltstore.Open(path, boltstore.Options{Bucket: "orders"})
	if err != nil {
		t.Fatal(err)
	}
	rev, err := s.Put(ctx, "o1", []byte("one"), store.PutOptions{Metadata: map[string]string{"type": "text/plain"}, Fence: 7, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	s = open(t, path, boltstore.Options{Bucket: "orders"})
	r, err := s.Get(ctx, "o1")
	if err != nil {
		t.Fatal(err)
	}
	if string(r.Value) != "one" || r.Metadata["type"] != "text/plain" || r.Revision != rev || r.Fence != 7 || time.Until(r.Expires) < 59*time.Minute {
		t.Fatalf("after reopening: %+v", r)
	}
	rev2, err := s.Put(ctx, "o2", nil, store.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rev2 <= rev {
		t.Fatalf("revision %d after reopening, before it %d: revisions must keep growing", rev2, rev)
	}
	// Another bucket of the same file is another store.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	other := open(t, path, boltstore.Options{Bucket: "other"})
	if _, err := other.Get(ctx, "o1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get from another bucket: %v, want not found", err)
	}
}

func TestFactory(t *testing.T) {
	f, ok := store.FactoryOf("bbolt")
	if !ok {
		t.Fatal("kind bbolt is not registered")
	}
	cfg := store.DefaultConfig()
	cfg.Kind = "bbolt"
	_, err := f(cfg, nil, zap.NewNop())
	var ce *config.Error
	if !errors.As(err, &ce) || ce.Key != "path" {
		t.Fatalf("factory without a path: %v, want a config error about path (relative to the section)", err)
	}
	// As the application reports it.
	const want = "config: store.path: store.kind bbolt needs the path of its file"
	if got := config.Under("store", err).Error(); !strings.HasPrefix(got, want) {
		t.Fatalf("under the section: %q, want it to start with %q", got, want)
	}
	cfg.Path = filepath.Join(t.TempDir(), "data", "wego.db")
	s, err := f(cfg, nil, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := os.Stat(cfg.Path); err != nil {
		t.Fatalf("the factory did not create the file and its directory: %v", err)
	}
	if got := s.Features(); got.Durability != store.DurabilitySynced || !got.Watch || !got.TTL || !got.ReadYourWrites || got.MaxValue != 1<<20 {
		t.Fatalf("Features() = %+v", got)
	}
}

func TestNoSync(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "nosync.db"), boltstore.Options{NoSync: true})
	if got := s.Features().Durability; got != store.DurabilityOS {
		t.Fatalf("Durability with NoSync = %v, want DurabilityOS", got)
	}
	if _, err := s.Put(context.Background(), "k", []byte("v"), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
}
