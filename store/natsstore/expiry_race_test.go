package natsstore_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/wegomesh/wego/store"
)

// TestCreateRacingExpiryIsKept takes many keys just as their previous
// record expires. The server writes a marker when a record with a
// time-to-live expires, and that marker rolls up the key: a write that
// landed between the server's decision and its marker would be erased. A
// create that succeeded must still be there after.
func TestCreateRacingExpiryIsKept(t *testing.T) {
	s := open(t, shared, fmt.Sprintf("expiryrace%d", time.Now().UnixNano()))
	ctx := t.Context()
	const keys = 200 // the race is narrow: many keys expire at once
	var wg sync.WaitGroup
	revs := make([]uint64, keys)
	for i := range keys {
		key := fmt.Sprintf("k%d", i)
		if _, err := s.Put(ctx, key, []byte("first"), store.PutOptions{TTL: time.Second, Create: true}); err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			deadline := time.Now().Add(5 * time.Second)
			for time.Now().Before(deadline) {
				rev, err := s.Put(ctx, key, []byte("second"), store.PutOptions{TTL: 30 * time.Second, Create: true})
				if err == nil {
					revs[i] = rev
					return
				}
				if !errors.Is(err, store.ErrConflict) {
					t.Error(err)
					return
				}
				time.Sleep(time.Millisecond)
			}
			t.Errorf("%s: no create succeeded within 5s of a 1s time-to-live", key)
		}()
	}
	wg.Wait()
	// Give the server's expiry of the first records time to run.
	time.Sleep(1500 * time.Millisecond)
	for i := range keys {
		r, err := s.Get(ctx, fmt.Sprintf("k%d", i))
		if err != nil {
			t.Errorf("k%d: the create at revision %d succeeded, then the record was gone: %v", i, revs[i], err)
			continue
		}
		if r.Revision != revs[i] || string(r.Value) != "second" {
			t.Errorf("k%d = %q at revision %d, want \"second\" at %d", i, r.Value, r.Revision, revs[i])
		}
	}
}
