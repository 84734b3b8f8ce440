package service

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wegomesh/wego/examples/mesh/inventory"
	"github.com/wegomesh/wego/store"
)

// slowStore is a store in memory whose writes of the keys that slow
// names take a while, so that concurrent calls overlap where they would
// in a store over the network.
type slowStore struct {
	store.Store
	slow  func(key string) bool
	puts  atomic.Int32 // the slow writes
	pause time.Duration
}

func newSlowStore(pause time.Duration, slow func(key string) bool) *slowStore {
	return &slowStore{Store: store.NewMemory(), slow: slow, pause: pause}
}

func (s *slowStore) Put(ctx context.Context, key string, value []byte, opts store.PutOptions) (uint64, error) {
	if s.slow(key) {
		s.puts.Add(1)
		time.Sleep(s.pause)
	}
	return s.Store.Put(ctx, key, value, opts)
}

func (s *slowStore) Delete(ctx context.Context, key string, opts store.DeleteOptions) error {
	if s.slow(key) {
		time.Sleep(s.pause)
	}
	return s.Store.Delete(ctx, key, opts)
}

// Concurrent first calls seed once, and each returns only once the stock
// is there.
func TestEnsureSeededOnce(t *testing.T) {
	st := newSlowStore(20*time.Millisecond, func(key string) bool { return strings.HasPrefix(key, "stock.") })
	s := Open(st, map[string]int{"apple": 5, "pear": 3})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if err := s.ensureSeeded(t.Context()); err != nil {
				t.Error(err)
				return
			}
			if _, _, err := s.stock.Get(t.Context(), stockKey("pear")); err != nil {
				t.Errorf("ensureSeeded returned before the stock was there: %v", err)
			}
		})
	}
	wg.Wait()
	if n := st.puts.Load(); n != 2 {
		t.Fatalf("%d stock records written, want 2: seeding ran more than once", n)
	}
	if err := s.ensureSeeded(t.Context()); err != nil || st.puts.Load() != 2 {
		t.Fatalf("a call after seeding: %v, %d writes", err, st.puts.Load())
	}
}

// reserveTogether makes n reservations of one apple with key at once,
// checks each that succeeds with check (when not nil), and returns the
// set of their ids.
func reserveTogether(t *testing.T, ctx context.Context, s *Store, n int, key string, check func(inventory.ReserveResponse)) map[string]bool {
	t.Helper()
	ids := make(chan string, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			r, err := s.reserve(ctx, "apple", 1, key)
			if err != nil {
				t.Error(err)
				return
			}
			if check != nil {
				check(r)
			}
			ids <- r.ReservationID
		})
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		seen[id] = true
	}
	return seen
}

// Concurrent reservations with one key make one reservation, and each
// returns its id only once its record exists: a copy that lost the race
// for the key waits for the reservation of the copy that won it.
func TestReserveSameKeyConcurrently(t *testing.T) {
	st := newSlowStore(50*time.Millisecond, func(key string) bool { return strings.HasPrefix(key, "reservation.") })
	s := Open(st, map[string]int{"apple": 10})
	seen := reserveTogether(t, t.Context(), s, 8, "key-1", func(r inventory.ReserveResponse) {
		if _, _, err := s.res.Get(t.Context(), "reservation."+r.ReservationID); err != nil {
			t.Errorf("reservation %s returned before its record exists: %v", r.ReservationID, err)
		}
	})
	if len(seen) != 1 {
		t.Errorf("%d reservation ids for one key, want 1: %v", len(seen), seen)
	}
	if n, _ := s.Available("apple"); n != 9 || s.Reservations() != 1 {
		t.Errorf("apple %d, %d reservations; want 9 and 1", n, s.Reservations())
	}
}

// Concurrent reservations with one key that the stock cannot serve all
// fail: none returns the id of the reservation that the winner of the
// key gave up.
func TestReserveSameKeyConcurrentlyFails(t *testing.T) {
	st := newSlowStore(50*time.Millisecond, func(key string) bool { return strings.HasPrefix(key, "reservekey.") })
	s := Open(st, map[string]int{"apple": 1})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			r, err := s.reserve(t.Context(), "apple", 2, "key-2")
			if !errors.Is(err, inventory.ErrInsufficientStock) {
				t.Errorf("reserve = %+v, %v; want insufficient stock", r, err)
			}
		})
	}
	wg.Wait()
	if n, _ := s.Available("apple"); n != 1 || s.Reservations() != 0 {
		t.Errorf("apple %d, %d reservations; want 1 and none", n, s.Reservations())
	}
}

// A claim of a key whose reservation never got its record (its process
// died between the two) is taken over once it is older than staleClaim:
// by one of the reservations that find it, which all answer with its id.
// A younger claim, or one without the time it was made, is waited for.
// TestStalledClaimantLeavesTheTakeoverAlone: a reservation that stalled
// past staleClaim, and whose key another reservation has taken over,
// neither gives up nor frees that other reservation's key, whether it
// then fails or is released: a retry with the key still finds the
// reservation that took it over.
func TestStalledClaimantLeavesTheTakeoverAlone(t *testing.T) {
	s := Open(store.NewMemory(), map[string]int{"apple": 5})
	s.staleClaim = 100 * time.Millisecond
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	digest := keyDigest("k")
	_, revA, err := s.claim(ctx, digest, keyRecord{ID: "stalled", SKU: "apple", Qty: 1})
	if err != nil || revA == 0 {
		t.Fatalf("claim: revision %d, %v", revA, err)
	}
	time.Sleep(150 * time.Millisecond) // the claimant stalls past staleClaim
	b, err := s.reserve(ctx, "apple", 1, "k")
	if err != nil || b.ReservationID == "stalled" {
		t.Fatalf("reserve over the stalled claim: %+v, %v", b, err)
	}
	again := func(when string) {
		t.Helper()
		r, err := s.reserve(ctx, "apple", 1, "k")
		if err != nil || r.ReservationID != b.ReservationID {
			t.Fatalf("a retry with the key %s: %+v, %v; want reservation %s", when, r, err, b.ReservationID)
		}
	}
	// The stalled reservation fails, and gives up its claim.
	s.unclaim(ctx, digest, revA)
	again("after the stalled reservation gave up its claim")
	// Or it made its record (with the key), and is released later.
	if _, err := s.res.Put(ctx, "reservation.stalled", reservedUnit{SKU: "apple", Qty: 1, Key: digest}, store.PutOptions{Create: true}); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.release(ctx, "stalled"); !ok || err != nil {
		t.Fatalf("release of the stalled reservation: %v, %v", ok, err)
	}
	again("after the stalled reservation was released")
	if n, _ := s.Available("apple"); n != 5 || s.Reservations() != 1 {
		t.Fatalf("apple %d, %d reservations; want 5 (4, and the stalled one's unit given back) and 1", n, s.Reservations())
	}
	// Its own release frees the key.
	if ok, err := s.release(ctx, b.ReservationID); !ok || err != nil {
		t.Fatalf("release: %v, %v", ok, err)
	}
	if r, err := s.reserve(ctx, "apple", 1, "k"); err != nil || r.ReservationID == b.ReservationID {
		t.Fatalf("a reservation with the key after its release: %+v, %v; want a new one", r, err)
	}
}

func TestReserveTakesOverAStaleClaim(t *testing.T) {
	s := Open(store.NewMemory(), map[string]int{"apple": 5})
	s.staleClaim = 200 * time.Millisecond
	ctx, cancel0 := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel0()
	dead := func(key string, claimed time.Time) {
		t.Helper()
		k := keyRecord{ID: "dead-" + key, SKU: "apple", Qty: 1}
		if !claimed.IsZero() {
			k.Claimed = claimed.UnixMilli()
		}
		if _, err := s.keys.Put(ctx, "reservekey."+keyDigest(key), k, store.PutOptions{Create: true}); err != nil {
			t.Fatal(err)
		}
	}

	dead("stale", time.Now().Add(-time.Second))
	seen := reserveTogether(t, ctx, s, 8, "stale", nil)
	if len(seen) != 1 || seen["dead-stale"] {
		t.Fatalf("reservation ids over a stale claim: %v, want one new id", seen)
	}
	if n, _ := s.Available("apple"); n != 4 || s.Reservations() != 1 {
		t.Fatalf("apple %d, %d reservations; want 4 and 1", n, s.Reservations())
	}

	// A fresh claim is waited for, and taken over once it is stale.
	dead("fresh", time.Now())
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := s.reserve(short, "apple", 1, "fresh"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("reserve over a fresh claim: %v, want it to wait until its deadline", err)
	}
	long, cancel2 := context.WithTimeout(ctx, 5*time.Second)
	defer cancel2()
	if r, err := s.reserve(long, "apple", 1, "fresh"); err != nil || r.ReservationID == "dead-fresh" {
		t.Fatalf("reserve once the claim is stale: %+v, %v", r, err)
	}

	// A claim without its time (an earlier version's) is never stale.
	dead("old", time.Time{})
	short2, cancel3 := context.WithTimeout(ctx, 400*time.Millisecond)
	defer cancel3()
	if _, err := s.reserve(short2, "apple", 1, "old"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("reserve over a claim without its time: %v, want it to wait", err)
	}
}
