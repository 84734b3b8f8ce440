package boltstore_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/store"
	"github.com/wegomesh/wego/store/boltstore"
)

func TestContextEnded(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "ctx.db"), boltstore.Options{})
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	for _, c := range []struct {
		ctx  context.Context
		want error
		kind errs.Kind
	}{
		{canceled, context.Canceled, errs.KindCanceled},
		{expired, context.DeadlineExceeded, errs.KindDeadlineExceeded},
	} {
		_, err1 := s.Get(c.ctx, "k")
		_, err2 := s.Put(c.ctx, "k", []byte("v"), store.PutOptions{})
		err3 := s.Delete(c.ctx, "k", store.DeleteOptions{})
		_, err4 := s.List(c.ctx, "", store.ListOptions{})
		_, err5 := s.Keys(c.ctx, "", store.ListOptions{})
		_, err6 := s.Watch(c.ctx, "")
		for i, err := range []error{err1, err2, err3, err4, err5, err6} {
			if !errors.Is(err, c.want) || errs.KindOf(err) != c.kind {
				t.Errorf("call %d with an ended context: %v (kind %v), want %v of kind %v", i+1, err, errs.KindOf(err), c.want, c.kind)
			}
		}
	}
	if _, err := s.Get(context.Background(), "k"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a Put with an ended context wrote: Get = %v", err)
	}
}

// TestCanceledWhileQueued cancels writes while they wait for the group
// commit: each either wrote (and returned its revision) or returned the
// context's error and wrote nothing.
func TestCanceledWhileQueued(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "queued.db"), boltstore.Options{})
	const n = 64
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(i%8)*time.Millisecond)
			defer cancel()
			_, errs[i] = s.Put(ctx, fmt.Sprintf("q/%02d", i), []byte("v"), store.PutOptions{})
		}()
	}
	wg.Wait()
	wrote := 0
	for i, err := range errs {
		_, gerr := s.Get(t.Context(), fmt.Sprintf("q/%02d", i))
		switch {
		case err == nil && gerr == nil:
			wrote++
		case errors.Is(err, context.DeadlineExceeded) && errors.Is(gerr, store.ErrNotFound):
		default:
			t.Errorf("write %d returned %v, and Get returns %v", i, err, gerr)
		}
	}
	t.Logf("%d of %d writes made it before their deadline", wrote, n)
}

// TestGroupCommitConditions runs conditional writes of one key
// concurrently, so that they share transactions: each one's condition is
// checked against the writes before it in the same transaction.
func TestGroupCommitConditions(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "group.db"), boltstore.Options{})
	ctx := t.Context()
	const n = 32
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		created int
		revs    = map[uint64]bool{}
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Put(ctx, "once", []byte(fmt.Sprint(i)), store.PutOptions{Create: true})
			if err == nil {
				mu.Lock()
				created++
				mu.Unlock()
			} else if !errors.Is(err, store.ErrConflict) {
				t.Error(err)
			}
			rev, err := s.Put(ctx, fmt.Sprintf("many/%02d", i), nil, store.PutOptions{})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			if revs[rev] {
				t.Errorf("revision %d given twice", rev)
			}
			revs[rev] = true
			mu.Unlock()
		}()
	}
	wg.Wait()
	if created != 1 {
		t.Fatalf("%d Puts with Create succeeded, want 1", created)
	}
}

// TestSweeper checks that expired records leave the file, with their
// index entries, and that rewriting a record moves its expiry.
func TestSweeper(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sweep.db")
	s, err := boltstore.Open(path, boltstore.Options{Bucket: "b"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for i := range 10 {
		if _, err := s.Put(ctx, fmt.Sprintf("ttl/%d", i), []byte("v"), store.PutOptions{TTL: 100 * time.Millisecond}); err != nil {
			t.Fatal(err)
		}
	}
	// Extended: it stays.
	if _, err := s.Put(ctx, "ttl/0", []byte("v"), store.PutOptions{TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	// Made permanent: it stays.
	if _, err := s.Put(ctx, "ttl/1", []byte("v"), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		keys, err := s.Keys(ctx, "", store.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("keys after their expiry: %v", keys)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // the sweeper has run
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_ = db.View(func(tx *bolt.Tx) error {
		if n := tx.Bucket([]byte("b")).Stats().KeyN; n != 2 {
			t.Errorf("%d records in the file, want 2", n)
		}
		if n := tx.Bucket([]byte("b.expiry")).Stats().KeyN; n != 1 {
			t.Errorf("%d expiry index entries in the file, want 1 (ttl/0)", n)
		}
		return nil
	})
}

func TestCorruptRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rec.db")
	fill(t, path, 1)
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error { return tx.Bucket([]byte("wego")).Put([]byte("bad"), []byte("not a record")) })
	_ = db.Close()
	if err != nil {
		t.Fatal(err)
	}
	wantOpenError(t, path, boltstore.Options{}, `record "bad" of bucket wego`)

	s := open(t, path, boltstore.Options{NoCheck: true})
	_, err = s.Get(t.Context(), "bad")
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Get of a corrupt record: %v, want store.ErrUnavailable", err)
	}
	if _, err := s.List(t.Context(), "", store.ListOptions{}); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("List over a corrupt record: %v, want store.ErrUnavailable", err)
	}
	if _, err := s.Put(t.Context(), "bad", []byte("v"), store.PutOptions{}); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Put over a corrupt record: %v, want store.ErrUnavailable", err)
	}
	// The other records are served.
	if _, err := s.Get(t.Context(), "k/0000"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(t.Context(), "good", []byte("v"), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestWatchConcurrentWriters checks that a watch reports the writes of
// concurrent writers in revision order, each once.
func TestWatchConcurrentWriters(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "watch.db"), boltstore.Options{NoSync: true})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ch, err := s.Watch(ctx, "w/")
	if err != nil {
		t.Fatal(err)
	}
	if ev := <-ch; ev.Kind != store.EventSynced {
		t.Fatalf("first event %+v, want EventSynced", ev)
	}
	const writers, each = 8, 100
	var wg sync.WaitGroup
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if _, err := s.Put(ctx, fmt.Sprintf("w/%d/%d", g, i), []byte("v"), store.PutOptions{}); err != nil {
					t.Error(err)
				}
				if _, err := s.Put(ctx, "other", nil, store.PutOptions{}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	var last uint64
	seen := map[string]bool{}
	for len(seen) < writers*each {
		ev := <-ch
		if ev.Kind != store.EventPut {
			t.Fatalf("event %+v, want EventPut", ev)
		}
		if ev.Record.Revision <= last {
			t.Fatalf("revision %d after %d", ev.Record.Revision, last)
		}
		last = ev.Record.Revision
		if seen[ev.Record.Key] {
			t.Fatalf("%s reported twice", ev.Record.Key)
		}
		seen[ev.Record.Key] = true
	}
	wg.Wait()
}

func TestCloseEndsWatches(t *testing.T) {
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "close.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ch, err := s.Watch(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for range ch {
	}
	if _, err := s.Watch(context.Background(), ""); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Watch after Close: %v, want store.ErrClosed", err)
	}
}

// TestGroupCommitStress writes from many goroutines at once, some with
// deadlines that end while they wait, and checks that every write that
// returned a revision is stored with it, and no other.
func TestGroupCommitStress(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "stress.db"), boltstore.Options{})
	const writers, each = 64, 50
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		revs = map[string]uint64{}
	)
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				key := fmt.Sprintf("s/%02d/%02d", g, i)
				ctx, cancel := context.WithCancel(context.Background())
				if i%5 == 4 {
					ctx, cancel = context.WithTimeout(context.Background(), time.Duration(i%3)*500*time.Microsecond)
				}
				rev, err := s.Put(ctx, key, []byte(key), store.PutOptions{})
				cancel()
				switch {
				case err == nil:
					mu.Lock()
					revs[key] = rev
					mu.Unlock()
				case !errors.Is(err, context.DeadlineExceeded):
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	recs, err := s.List(t.Context(), "s/", store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(revs) {
		t.Fatalf("%d records stored, %d writes succeeded", len(recs), len(revs))
	}
	seen := map[uint64]bool{}
	for _, r := range recs {
		if revs[r.Key] != r.Revision || string(r.Value) != r.Key || seen[r.Revision] {
			t.Fatalf("record %s at revision %d (value %q), its write returned %d", r.Key, r.Revision, r.Value, revs[r.Key])
		}
		seen[r.Revision] = true
	}
	t.Logf("%d of %d writes succeeded", len(revs), writers*each)
}
