package storebench

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
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
	bareName  = []byte("bare")
)

var (
	sinkBytes  []byte
	sinkRecord store.Record
	sinkRev    uint64
	sinkErr    error
)

// bareDB opens a bare bbolt file with one bucket holding the record.
func bareDB(tb testing.TB, noSync bool) *bolt.DB {
	tb.Helper()
	db, err := bolt.Open(filepath.Join(tb.TempDir(), "bare.db"), 0o600, &bolt.Options{NoSync: noSync, FreelistType: bolt.FreelistMapType})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bareName)
		if err != nil {
			return err
		}
		return b.Put([]byte(boltKey), boltValue)
	})
	if err != nil {
		tb.Fatal(err)
	}
	return db
}

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
	db := bareDB(b, true)
	key := []byte(boltKey)
	b.ReportAllocs()
	for b.Loop() {
		sinkBytes, sinkErr = bareGet(db, key)
	}
}

func benchStoreGet(b *testing.B) {
	s := boltStore(b, true)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		sinkRecord, sinkErr = s.Get(ctx, boltKey)
	}
}

func benchBarePut(noSync bool) func(*testing.B) {
	return func(b *testing.B) {
		db := bareDB(b, noSync)
		key := []byte(boltKey)
		b.ReportAllocs()
		for b.Loop() {
			sinkErr = barePut(db, key, boltValue)
		}
	}
}

func benchStorePut(noSync bool) func(*testing.B) {
	return func(b *testing.B) {
		s := boltStore(b, noSync)
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			sinkRev, sinkErr = s.Put(ctx, boltKey, boltValue, store.PutOptions{})
		}
	}
}

// BenchmarkBoltGet reads one record: bare bbolt (View, Get, copy) and
// the Store.
func BenchmarkBoltGet(b *testing.B) {
	b.Run("bare", benchBareGet)
	b.Run("store", benchStoreGet)
}

// BenchmarkBoltPut writes one record in its own transaction, fsynced:
// bare bbolt (Update, Put) and the Store.
func BenchmarkBoltPut(b *testing.B) {
	b.Run("bare", benchBarePut(false))
	b.Run("store", benchStorePut(false))
}

// BenchmarkBoltPutNoSync is BenchmarkBoltPut without the fsyncs, which
// leaves the CPU's share: what the Store adds to bbolt.
func BenchmarkBoltPutNoSync(b *testing.B) {
	b.Run("bare", benchBarePut(true))
	b.Run("store", benchStorePut(true))
}

// BenchmarkBoltPutParallel writes from many goroutines, each its own
// keys, fsynced: bare bbolt with a transaction per write (Update) and
// with db.Batch, and the Store's group commit. Its writes/s is the
// figure to read.
func BenchmarkBoltPutParallel(b *testing.B) {
	for _, writers := range []int{8, 64} {
		b.Run(fmt.Sprintf("bare-update-%d", writers), func(b *testing.B) {
			db := bareDB(b, false)
			parallel(b, writers, func(key string) error { return barePut(db, []byte(key), boltValue) })
		})
		b.Run(fmt.Sprintf("bare-batch-%d", writers), func(b *testing.B) {
			db := bareDB(b, false)
			parallel(b, writers, func(key string) error {
				k := []byte(key)
				return db.Batch(func(tx *bolt.Tx) error { return tx.Bucket(bareName).Put(k, boltValue) })
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

// TestBoltOverhead checks the targets for a read and a write:
// the Store takes at most 1.1x the time of bare bbolt doing the same, and
// makes at most 3 allocations more. Both run in turns, in rounds of a few
// milliseconds on one thread, and the median of the rounds' ratios of
// the thread's CPU time is checked, so that a machine whose load changes
// during the test loads both alike, and time spent waiting for a core
// counts for neither. The
// writes are measured without fsync, whose time (milliseconds on a shared
// disk, and varying) would hide the Store's share; BenchmarkBoltPut has
// the synced figures.
func TestBoltOverhead(t *testing.T) {
	if testing.Short() {
		t.Skip("measures for seconds")
	}
	ctx := context.Background()
	db := bareDB(t, true)
	s := boltStore(t, true)
	key := []byte(boltKey)
	for _, c := range []struct {
		name        string
		n           int // operations per round
		bare, store func()
	}{
		{"Get", 2000,
			func() { sinkBytes, sinkErr = bareGet(db, key) },
			func() { sinkRecord, sinkErr = s.Get(ctx, boltKey) }},
		{"Put (no fsync)", 100,
			func() { sinkErr = barePut(db, key, boltValue) },
			func() { sinkRev, sinkErr = s.Put(ctx, boltKey, boltValue, store.PutOptions{}) }},
	} {
		clock, unlock := threadClock()
		round := func(f func()) time.Duration {
			start := clock()
			for range c.n {
				f()
			}
			return clock() - start
		}
		round(c.bare) // warm up
		round(c.store)
		const rounds = 201
		ratios := make([]float64, rounds)
		var bareSum, storeSum time.Duration
		for i := range ratios {
			var b, st time.Duration
			if i%2 == 0 { // alternate which one goes first
				b, st = round(c.bare), round(c.store)
			} else {
				st, b = round(c.store), round(c.bare)
			}
			ratios[i] = float64(st) / float64(b)
			bareSum, storeSum = bareSum+b, storeSum+st
		}
		unlock()
		slices.Sort(ratios)
		ratio := ratios[rounds/2]
		bareAllocs := testing.AllocsPerRun(100, c.bare)
		storeAllocs := testing.AllocsPerRun(100, c.store)
		per := time.Duration(rounds * c.n)
		t.Logf("%s: bare %v/op %.0f allocs, store %v/op %.0f allocs (CPU time): median ratio %.3fx (quartiles %.3f-%.3f), %+.0f allocs",
			c.name, bareSum/per, bareAllocs, storeSum/per, storeAllocs, ratio, ratios[rounds/4], ratios[3*rounds/4], storeAllocs-bareAllocs)
		if ratio > 1.1 {
			t.Errorf("%s: the Store takes %.3fx the time of bare bbolt, want at most 1.1x", c.name, ratio)
		}
		if storeAllocs > bareAllocs+3 {
			t.Errorf("%s: the Store makes %.0f allocations, bare bbolt %.0f: want at most 3 more", c.name, storeAllocs, bareAllocs)
		}
	}
}
