package storebench

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/wegomesh/wego/store"
	"github.com/wegomesh/wego/store/boltstore"
)

// The record both sides read and write: a short key and a 100-byte value.
var (
	boltKey   = "bench/key-0001"
	boltValue = bytes.Repeat([]byte("v"), 100)
)

var (
	sinkBytes  []byte
	sinkRecord store.Record
	sinkRev    uint64
	sinkErr    error
)

// bareDB opens, with bare bbolt, a file that a Store made and left
// holding the record, and returns it with the record's bytes as the
// Store wrote them (its header and the value), which the bare side
// writes. Both sides so work on files of one layout: the same buckets,
// and the same bytes in the bucket. The layout matters: bbolt copies a
// bucket's header when it finds it at an unaligned place in its parent's
// page, an allocation and a copy in every transaction, and where it
// lies depends on the names and sizes of the buckets before it.
func bareDB(tb testing.TB, noSync bool) (*bolt.DB, []byte) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "bare.db")
	s, err := boltstore.Open(path, boltstore.Options{NoSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := s.Put(context.Background(), boltKey, boltValue, store.PutOptions{}); err != nil {
		tb.Fatal(err)
	}
	if err := s.Close(); err != nil {
		tb.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{NoSync: noSync, FreelistType: bolt.FreelistMapType})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	var record []byte
	err = db.View(func(tx *bolt.Tx) error {
		record = bytes.Clone(tx.Bucket(bareName).Get([]byte(boltKey)))
		return nil
	})
	if err != nil || record == nil {
		tb.Fatalf("the record the Store wrote: %q, %v", record, err)
	}
	return db, record
}

// bareName is the bucket of both sides' files: the Store's default.
var bareName = []byte("wego")

// boltStore opens a boltstore.Store holding the record.
func boltStore(tb testing.TB, noSync bool) *boltstore.Store {
	tb.Helper()
	s, err := boltstore.Open(filepath.Join(tb.TempDir(), "store.db"), boltstore.Options{NoSync: noSync})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	if _, err := s.Put(context.Background(), boltKey, boltValue, store.PutOptions{}); err != nil {
		tb.Fatal(err)
	}
	return s
}

// bareGet is what an application does with bbolt to read a value: a
// read transaction, the bucket, the key, and a copy of the value, which
// bbolt owns only until the transaction ends.
func bareGet(db *bolt.DB, key []byte) ([]byte, error) {
	var out []byte
	err := db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bareName).Get(key)
		if v == nil {
			return fmt.Errorf("%s not found", key)
		}
		out = append(make([]byte, 0, len(v)), v...)
		return nil
	})
	return out, err
}

// barePut writes the value in a transaction of its own.
func barePut(db *bolt.DB, key, value []byte) error {
	return db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bareName).Put(key, value) })
}

func benchBareGet(b *testing.B) {
	db, _ := bareDB(b, true)
	key := []byte(boltKey)
	loop(b, true, func() error { sinkBytes, sinkErr = bareGet(db, key); return sinkErr })
}

func benchStoreGet(b *testing.B) {
	s := boltStore(b, true)
	ctx := context.Background()
	loop(b, true, func() error { sinkRecord, sinkErr = s.Get(ctx, boltKey); return sinkErr })
}

func benchBarePut(noSync bool) func(*testing.B) {
	return func(b *testing.B) {
		db, record := bareDB(b, noSync)
		key := []byte(boltKey)
		loop(b, true, func() error { sinkErr = barePut(db, key, record); return sinkErr })
	}
}

func benchStorePut(noSync bool) func(*testing.B) {
	return func(b *testing.B) {
		s := boltStore(b, noSync)
		ctx := context.Background()
		loop(b, true, func() error { sinkRev, sinkErr = s.Put(ctx, boltKey, boltValue, store.PutOptions{}); return sinkErr })
	}
}

// BenchmarkBoltGet reads one record: bare bbolt (View, Get, copy) and
// the Store.
func BenchmarkBoltGet(b *testing.B) {
	runSides(b, side{"bare", benchBareGet}, side{"store", benchStoreGet})
}

// BenchmarkBoltPut writes one record in its own transaction, fsynced:
// bare bbolt (Update, Put) and the Store.
func BenchmarkBoltPut(b *testing.B) {
	runSides(b, side{"bare", benchBarePut(false)}, side{"store", benchStorePut(false)})
}

// BenchmarkBoltPutNoSync is BenchmarkBoltPut without the fsyncs, which
// leaves the CPU's share: what the Store adds to bbolt.
func BenchmarkBoltPutNoSync(b *testing.B) {
	runSides(b, side{"bare", benchBarePut(true)}, side{"store", benchStorePut(true)})
}

// BenchmarkBoltPutParallel writes from many goroutines, each its own
// keys, fsynced: bare bbolt with a transaction per write (Update) and
// with db.Batch, and the Store's group commit. Its writes/s is the
// figure to read.
func BenchmarkBoltPutParallel(b *testing.B) {
	for _, writers := range []int{8, 64} {
		b.Run(fmt.Sprintf("bare-update-%d", writers), func(b *testing.B) {
			db, record := bareDB(b, false)
			parallel(b, writers, func(key string) error { return barePut(db, []byte(key), record) })
		})
		b.Run(fmt.Sprintf("bare-batch-%d", writers), func(b *testing.B) {
			db, record := bareDB(b, false)
			parallel(b, writers, func(key string) error {
				k := []byte(key)
				return db.Batch(func(tx *bolt.Tx) error { return tx.Bucket(bareName).Put(k, record) })
			})
		})
		b.Run(fmt.Sprintf("store-%d", writers), func(b *testing.B) {
			s := boltStore(b, false)
			ctx := context.Background()
			parallel(b, writers, func(key string) error {
				_, err := s.Put(ctx, key, boltValue, store.PutOptions{})
				return err
			})
		})
	}
}

// parallel runs b.N writes from writers goroutines and reports writes/s.
func parallel(b *testing.B, writers int, put func(key string) error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				if err := put(fmt.Sprintf("par/%08d", i)); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "writes/s")
}

// TestBoltAllocs checks the target on allocations for a read
// and a write: the Store makes at most 3 allocations more than bare bbolt
// doing the same. The times are measured by the benchmarks, and their
// ratios reported by command benchreport.
func TestBoltAllocs(t *testing.T) {
	ctx := context.Background()
	db, record := bareDB(t, true)
	s := boltStore(t, true)
	key := []byte(boltKey)
	allocsAtMost3More(t, "Get",
		func() { sinkBytes, sinkErr = bareGet(db, key) },
		func() { sinkRecord, sinkErr = s.Get(ctx, boltKey) })
	allocsAtMost3More(t, "Put (no fsync)",
		func() { sinkErr = barePut(db, key, record) },
		func() { sinkRev, sinkErr = s.Put(ctx, boltKey, boltValue, store.PutOptions{}) })
	if sinkErr != nil {
		t.Fatal(sinkErr)
	}
}
