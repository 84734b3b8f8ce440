package idempotency_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/wegomesh/wego/middleware/idempotency"
)

// clock is a settable time for a MemoryStore.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

func newStore(max int) (*idempotency.MemoryStore, *clock) {
	s := idempotency.NewMemoryStore(max)
	c := &clock{now: time.Unix(1_700_000_000, 0)}
	idempotency.SetClock(s, c.Now)
	return s, c
}

func attempt(token uint64) idempotency.Attempt {
	return idempotency.Attempt{Fingerprint: idempotency.Fingerprint{byte(token)}, Token: token, Lease: time.Minute}
}

func TestMemoryStoreLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clk := newStore(10)
	if _, ok, _ := s.Get(ctx, "k"); ok {
		t.Fatal("a record in an empty store")
	}
	if _, ok, err := s.Reserve(ctx, "k", attempt(1)); !ok || err != nil {
		t.Fatalf("first reservation: %v, %v", ok, err)
	}
	rec, ok, _ := s.Reserve(ctx, "k", attempt(2))
	if ok || rec.Done || rec.Changed == nil || rec.Fingerprint != attempt(1).Fingerprint || !rec.Expires.Equal(clk.Now().Add(time.Minute)) {
		t.Fatalf("second reservation: %+v, %v", rec, ok)
	}
	// Only the attempt that holds the key completes or releases it.
	if err := s.Complete(ctx, "k", 2, idempotency.Record{Done: true, Response: 1}, time.Hour); !errors.Is(err, idempotency.ErrLeaseLost) {
		t.Fatalf("Complete with another token: %v", err)
	}
	if err := s.Release(ctx, "k", 2); !errors.Is(err, idempotency.ErrLeaseLost) {
		t.Fatalf("Release with another token: %v", err)
	}
	if err := s.Complete(ctx, "k", 1, idempotency.Record{Done: true, Response: 42}, time.Hour); err != nil {
		t.Fatal(err)
	}
	select {
	case <-rec.Changed:
	default:
		t.Fatal("Complete did not wake the waiting calls")
	}
	got, ok, _ := s.Get(ctx, "k")
	if !ok || !got.Done || got.Response != 42 || got.Changed != nil || got.Fingerprint != attempt(1).Fingerprint {
		t.Fatalf("Get after Complete: %+v, %v", got, ok)
	}
	if err := s.Release(ctx, "k", 1); !errors.Is(err, idempotency.ErrLeaseLost) {
		t.Fatalf("Release of an outcome: %v", err)
	}
	clk.Add(time.Hour)
	if _, ok, _ := s.Get(ctx, "k"); ok {
		t.Fatal("an outcome outlived its TTL")
	}

	// Release frees the key and wakes the waiting calls.
	s.Reserve(ctx, "r", attempt(3))
	rec, _, _ = s.Reserve(ctx, "r", attempt(4))
	if err := s.Release(ctx, "r", 3); err != nil {
		t.Fatal(err)
	}
	select {
	case <-rec.Changed:
	default:
		t.Fatal("Release did not wake the waiting calls")
	}
	if _, ok, _ := s.Reserve(ctx, "r", attempt(4)); !ok {
		t.Fatal("a released key cannot be reserved")
	}
}

// A lease ends: the key can be reserved again, and the attempt that held
// it can no longer complete it.
func TestMemoryStoreLeaseEnds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clk := newStore(10)
	s.Reserve(ctx, "k", attempt(1))
	clk.Add(time.Minute)
	if _, ok, _ := s.Reserve(ctx, "k", attempt(2)); !ok {
		t.Fatal("the key is still held after its lease")
	}
	if err := s.Complete(ctx, "k", 1, idempotency.Record{Done: true}, time.Hour); !errors.Is(err, idempotency.ErrLeaseLost) {
		t.Fatalf("the first attempt completed after its lease: %v", err)
	}
	if err := s.Complete(ctx, "k", 2, idempotency.Record{Done: true}, time.Hour); err != nil {
		t.Fatal(err)
	}
	// An attempt whose lease ended completes nothing, even if no other
	// attempt took the key.
	s.Reserve(ctx, "x", attempt(5))
	clk.Add(2 * time.Minute)
	if err := s.Complete(ctx, "x", 5, idempotency.Record{Done: true}, time.Hour); !errors.Is(err, idempotency.ErrLeaseLost) {
		t.Fatalf("Complete after the lease: %v", err)
	}
	if s.Len() != 1 {
		t.Fatalf("Len = %d, want 1 (k)", s.Len())
	}
}

// The store never holds more than its bound: expired records go first,
// then the oldest outcomes; attempts in progress are never evicted.
func TestMemoryStoreBound(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clk := newStore(3)
	s.Reserve(ctx, "a", attempt(1))
	s.Complete(ctx, "a", 1, idempotency.Record{Done: true}, time.Hour)
	s.Reserve(ctx, "b", attempt(2))
	s.Complete(ctx, "b", 2, idempotency.Record{Done: true}, time.Hour)
	s.Reserve(ctx, "c", attempt(3)) // in progress
	// Full: "a", the oldest outcome, makes room for "d".
	if _, ok, err := s.Reserve(ctx, "d", attempt(4)); !ok || err != nil {
		t.Fatalf("reserving in a full store: %v, %v", ok, err)
	}
	if _, ok, _ := s.Get(ctx, "a"); ok {
		t.Error("the oldest outcome was kept")
	}
	for _, k := range []string{"b", "c", "d"} {
		if _, ok, _ := s.Get(ctx, k); !ok {
			t.Errorf("%s was evicted", k)
		}
	}
	// Completing "c" makes it the newest outcome: "b" goes first.
	s.Complete(ctx, "c", 3, idempotency.Record{Done: true}, time.Hour)
	s.Reserve(ctx, "e", attempt(5))
	if _, ok, _ := s.Get(ctx, "b"); ok {
		t.Error("b, older than c, was kept")
	}
	if _, ok, _ := s.Get(ctx, "c"); !ok {
		t.Error("c was evicted before b")
	}
	// Expired records make room before live ones.
	clk.Add(2 * time.Minute) // the leases of d and e end; c lives an hour
	if _, ok, _ := s.Reserve(ctx, "f", attempt(6)); !ok {
		t.Fatal("no room after expiry")
	}
	if _, ok, _ := s.Get(ctx, "c"); !ok {
		t.Error("a live outcome was evicted while expired records were there")
	}
	if s.Len() > 3 {
		t.Fatalf("Len = %d over the bound", s.Len())
	}
	// Every record an attempt in progress: no room, and nothing is lost.
	s2, _ := newStore(2)
	s2.Reserve(ctx, "x", attempt(1))
	s2.Reserve(ctx, "y", attempt(2))
	if _, ok, err := s2.Reserve(ctx, "z", attempt(3)); ok || !errors.Is(err, idempotency.ErrFull) {
		t.Fatalf("reserving in a store full of attempts: %v, %v", ok, err)
	}
}

// Many keys through a small store: the bound holds, and the most recent
// outcomes are the ones kept.
func TestMemoryStoreManyKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(100)
	for i := range 10_000 {
		k := fmt.Sprint("k", i)
		if _, ok, err := s.Reserve(ctx, k, attempt(uint64(i)+1)); !ok || err != nil {
			t.Fatalf("%s: %v, %v", k, ok, err)
		}
		s.Complete(ctx, k, uint64(i)+1, idempotency.Record{Done: true, Response: i}, time.Hour)
		if s.Len() > 100 {
			t.Fatalf("Len = %d after %d keys", s.Len(), i+1)
		}
	}
	if r, ok, _ := s.Get(ctx, "k9999"); !ok || r.Response != 9999 {
		t.Fatalf("the newest outcome: %+v, %v", r, ok)
	}
	if _, ok, _ := s.Get(ctx, "k9899"); ok {
		t.Fatal("an outcome older than the last 100 was kept")
	}
}

func TestMemoryStoreConcurrent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := idempotency.NewMemoryStore(64)
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := map[string]int{}
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				k := fmt.Sprint("k", i%100)
				tok := uint64(g*1000+i) + 1
				if _, ok, err := s.Reserve(ctx, k, attempt(tok)); ok && err == nil {
					mu.Lock()
					won[k]++
					mu.Unlock()
					if i%2 == 0 {
						s.Complete(ctx, k, tok, idempotency.Record{Done: true}, time.Hour)
					} else {
						s.Release(ctx, k, tok)
					}
				}
				s.Get(ctx, k)
			}
		})
	}
	wg.Wait()
	if s.Len() > 64 {
		t.Fatalf("Len = %d", s.Len())
	}
}
