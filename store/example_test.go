package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/wegomesh/wego/store"
)

// A read-modify-write loop with compare-and-set: the write names the
// revision it read, and fails with store.ErrConflict if someone wrote in
// between.
func ExampleStore_compareAndSet() {
	ctx := context.Background()
	s := store.NewMemory()
	defer s.Close()

	rev, _ := s.Put(ctx, "stock/apple", []byte("10"), store.PutOptions{})
	_, _ = s.Put(ctx, "stock/apple", []byte("9"), store.PutOptions{}) // someone else

	_, err := s.Put(ctx, "stock/apple", []byte("8"), store.PutOptions{IfRevision: rev})
	fmt.Println(errors.Is(err, store.ErrConflict))

	r, _ := s.Get(ctx, "stock/apple")
	_, err = s.Put(ctx, "stock/apple", []byte("8"), store.PutOptions{IfRevision: r.Revision})
	fmt.Println(err)
	// Output:
	// true
	// <nil>
}

// Four goroutines count visits in one record; Update retries each
// increment that collides with another, so none is lost.
func ExampleTyped_Update() {
	type counter struct {
		N int `json:"n"`
	}
	ctx := context.Background()
	s := store.NewMemory()
	defer s.Close()
	counters := store.NewTyped[counter](s)

	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 25 {
				if _, _, err := counters.Update(ctx, "visits", func(c *counter) error {
					c.N++
					return nil
				}); err != nil {
					fmt.Println(err)
				}
			}
		})
	}
	wg.Wait()

	c, rec, _ := counters.Get(ctx, "visits")
	fmt.Println(c.N, string(rec.Value))
	// Output: 100 {"n":100}
}

// UpdateExisting takes a unit of stock that must be there: a SKU the
// store does not hold fails with ErrNotFound, where Update would start
// from a zero record.
func ExampleTyped_UpdateExisting() {
	type stock struct {
		Available int `json:"available"`
	}
	ctx := context.Background()
	s := store.NewMemory()
	defer s.Close()
	stocks := store.NewTyped[stock](s)
	_, _ = stocks.Put(ctx, "stock.apple", stock{Available: 3}, store.PutOptions{})

	take := func(r *stock) error {
		r.Available--
		return nil
	}
	v, _, err := stocks.UpdateExisting(ctx, "stock.apple", take)
	fmt.Println(v.Available, err)
	_, _, err = stocks.UpdateExisting(ctx, "stock.pear", take)
	fmt.Println(errors.Is(err, store.ErrNotFound))
	// Output:
	// 2 <nil>
	// true
}

// A watch sends the current records, then EventSynced, then changes.
func ExampleMemory_Watch() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := store.NewMemory()
	defer s.Close()
	_, _ = s.Put(ctx, "nodes/a", []byte("up"), store.PutOptions{})

	events, _ := s.Watch(ctx, "nodes/")
	for ev := range events {
		switch ev.Kind {
		case store.EventPut:
			fmt.Println("put", ev.Record.Key, string(ev.Record.Value))
		case store.EventDelete:
			fmt.Println("delete", ev.Record.Key)
			cancel()
		case store.EventSynced:
			fmt.Println("synced")
			_, _ = s.Put(ctx, "nodes/b", []byte("up"), store.PutOptions{})
			_ = s.Delete(ctx, "nodes/a", store.DeleteOptions{})
		}
	}
	// Output:
	// put nodes/a up
	// synced
	// put nodes/b up
	// delete nodes/a
}
