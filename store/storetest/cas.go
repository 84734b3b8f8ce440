package storetest

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wegomesh/wego/store"
)

// casCounter has 8 goroutines increment one counter with retried
// compare-and-set: no increment may be lost.
func (s *suite) casCounter(t *testing.T) {
	st := s.store(t)
	ctx := t.Context()
	const workers = 8
	n := 1000
	if testing.Short() && s.opts.shortIncrements > 0 {
		n = s.opts.shortIncrements
	}
	put(t, st, "counter", "0", store.PutOptions{})
	var conflicts atomic.Int64
	errc := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range n {
				for {
					r, err := st.Get(ctx, "counter")
					if err != nil {
						errc <- fmt.Errorf("get: %w", err)
						return
					}
					v, err := strconv.Atoi(string(r.Value))
					if err != nil {
						errc <- fmt.Errorf("the counter holds %q", r.Value)
						return
					}
					_, err = st.Put(ctx, "counter", []byte(strconv.Itoa(v+1)), store.PutOptions{IfRevision: r.Revision})
					if err == nil {
						break
					}
					if !errors.Is(err, store.ErrConflict) {
						errc <- fmt.Errorf("put with IfRevision: %w", err)
						return
					}
					conflicts.Add(1)
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	want := strconv.Itoa(workers * n)
	deadline := time.Now().Add(within)
	for {
		r, err := st.Get(ctx, "counter")
		if err != nil {
			t.Fatal(err)
		}
		if string(r.Value) == want {
			break
		}
		if st.Features().ReadYourWrites || time.Now().After(deadline) {
			t.Fatalf("the counter is %s after %d goroutines x %d increments, want %s", r.Value, workers, n, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("%d x %d increments, %d conflicts retried", workers, n, conflicts.Load())
}

// casOneWinner has 100 goroutines compare-and-set one key from the same
// revision, for a few rounds: exactly one may win each round.
func (s *suite) casOneWinner(t *testing.T) {
	st := s.store(t)
	ctx := t.Context()
	const racers, rounds = 100, 5
	rev := put(t, st, "one", "start", store.PutOptions{})
	for round := range rounds {
		start := make(chan struct{})
		var wins atomic.Int64
		var winner atomic.Value
		var newRev atomic.Uint64
		errc := make(chan error, racers)
		var wg sync.WaitGroup
		for i := range racers {
			wg.Go(func() {
				value := fmt.Sprintf("r%d-g%d", round, i)
				<-start
				got, err := st.Put(ctx, "one", []byte(value), store.PutOptions{IfRevision: rev})
				switch {
				case err == nil:
					wins.Add(1)
					winner.Store(value)
					newRev.Store(got)
				case !errors.Is(err, store.ErrConflict):
					errc <- err
				}
			})
		}
		close(start)
		wg.Wait()
		close(errc)
		for err := range errc {
			t.Fatalf("a losing compare-and-set: %v, want an error matching store.ErrConflict", err)
		}
		if w := wins.Load(); w != 1 {
			t.Fatalf("round %d: %d of %d compare-and-sets from revision %d succeeded, want exactly 1", round, w, racers, rev)
		}
		rev = newRev.Load()
		getValue(t, st, "one", rev, winner.Load().(string))
	}
}
