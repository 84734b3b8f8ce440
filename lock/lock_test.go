package lock_test

import (
	"context"
	"errors"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/wegomesh/wego/lock"
	"github.com/wegomesh/wego/lock/locktest"
	"github.com/wegomesh/wego/store"
)

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		os.Exit(holder(spec)) // a holder process of TestNATSStoppedHolderIsFenced
	}
	goleak.VerifyTestMain(m)
}

func memory(t *testing.T) store.Store {
	s := store.NewMemory()
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestMemory(t *testing.T) {
	locktest.Run(t, memory)
}

// counted is a store that counts its writes, and hides its watches
// unless watch is set: Acquire and Observe poll a store without them.
type counted struct {
	store.Store
	watch bool
	puts  atomic.Int64
}

func (s *counted) Features() store.Features {
	f := s.Store.Features()
	f.Watch = f.Watch && s.watch
	return f
}

func (s *counted) Watch(ctx context.Context, prefix string) (<-chan store.Event, error) {
	if !s.watch {
		return nil, store.ErrUnsupported.New()
	}
	return s.Store.Watch(ctx, prefix)
}

func (s *counted) Put(ctx context.Context, key string, value []byte, opts store.PutOptions) (uint64, error) {
	s.puts.Add(1)
	return s.Store.Put(ctx, key, value, opts)
}

func TestMemoryWithoutWatch(t *testing.T) {
	locktest.Run(t, func(t *testing.T) store.Store { return &counted{Store: memory(t)} })
}

// A waiting Acquire does not busy-loop: with a watch it writes once more
// when the lock is released, without one it polls with a backoff capped at
// 1/8 of the TTL.
func TestAcquireWaitsWithoutBusyLoop(t *testing.T) {
	t.Parallel()
	const ttl = 2 * time.Second
	for _, tc := range []struct {
		name  string
		watch bool
		most  int64
	}{
		{"watch", true, 1},
		// From 31 ms doubling to 250 ms, each jittered down to half of
		// it: at most 12 tries in a second.
		{"poll", false, 12},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := &counted{Store: memory(t), watch: tc.watch}
			held, err := lock.New(s).TryAcquire(t.Context(), "job", ttl)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			defer cancel()
			before := s.puts.Load()
			_, err = lock.New(s).Acquire(ctx, "job", ttl)
			if !errors.Is(err, lock.ErrHeld) || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Acquire: %v, want lock.ErrHeld and context.DeadlineExceeded", err)
			}
			n := s.puts.Load() - before
			t.Logf("%d writes in a second of waiting for a lock with a TTL of %v", n, ttl)
			if n > tc.most {
				t.Errorf("%d writes in a second of waiting, want at most %d", n, tc.most)
			}
			if err := held.Release(t.Context()); err != nil {
				t.Fatal(err)
			}
		})
	}
}
