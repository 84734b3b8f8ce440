package lock_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wegomesh/wego/lock"
	"github.com/wegomesh/wego/store"
)

// A holder writes what its lock protects with its lease's fencing token.
// When it pauses past its time-to-live and another process takes the lock
// and writes, the store rejects the paused holder's late write.
func Example_fencing() {
	ctx := context.Background()
	s := store.NewMemory()
	defer s.Close()

	first, err := lock.New(s).Acquire(ctx, "invoices", 100*time.Millisecond)
	if err != nil {
		panic(err)
	}
	_, err = s.Put(ctx, "invoices/next", []byte("1001"), store.PutOptions{Fence: first.Token()})
	fmt.Println("first holder writes:", err)

	// The first holder pauses; its lease expires, and a second process
	// takes the lock (Acquire waits for the expiry) and writes.
	second, err := lock.New(s).Acquire(ctx, "invoices", time.Minute)
	if err != nil {
		panic(err)
	}
	_, err = s.Put(ctx, "invoices/next", []byte("1002"), store.PutOptions{Fence: second.Token()})
	fmt.Println("second holder writes:", err)

	// The first holder wakes up and writes, as if it still held the lock.
	_, err = s.Put(ctx, "invoices/next", []byte("1001"), store.PutOptions{Fence: first.Token()})
	fmt.Println("first holder's late write is fenced:", errors.Is(err, store.ErrFenced))
	fmt.Println("first holder's lease is lost:", errors.Is(first.Release(ctx), lock.ErrLost))
	_ = second.Release(ctx)
	// Output:
	// first holder writes: <nil>
	// second holder writes: <nil>
	// first holder's late write is fenced: true
	// first holder's lease is lost: true
}

// TryAcquire fails at once when another lease holds the lock.
func ExampleLocker_TryAcquire() {
	ctx := context.Background()
	s := store.NewMemory()
	defer s.Close()
	l := lock.New(s)

	lease, err := l.TryAcquire(ctx, "reports", 30*time.Second)
	if err != nil {
		panic(err)
	}
	_, err = l.TryAcquire(ctx, "reports", 30*time.Second)
	fmt.Println("held:", errors.Is(err, lock.ErrHeld))
	fmt.Println("release:", lease.Release(ctx))
	// Output:
	// held: true
	// release: <nil>
}

// One candidate leads at a time; when it resigns (or dies, and its term's
// time-to-live passes), another takes over, and observers see the change.
func ExampleLocker_Campaign() {
	ctx := context.Background()
	s := store.NewMemory()
	defer s.Close()

	octx, stop := context.WithCancel(ctx)
	defer stop()
	leaders, err := lock.New(s).Observe(octx, "scheduler")
	if err != nil {
		panic(err)
	}
	fmt.Printf("leader: %q\n", (<-leaders).ID)

	term, err := lock.New(s).Campaign(ctx, "scheduler", "node-1", 5*time.Second)
	if err != nil {
		panic(err)
	}
	fmt.Printf("leader: %q\n", (<-leaders).ID)

	next := make(chan *lock.Term)
	go func() {
		t, err := lock.New(s).Campaign(ctx, "scheduler", "node-2", 5*time.Second)
		if err != nil {
			panic(err)
		}
		next <- t
	}()
	if err := term.Resign(ctx); err != nil {
		panic(err)
	}
	second := <-next
	for ld := range leaders {
		if ld.ID == "node-2" {
			fmt.Printf("leader: %q, token larger: %v\n", ld.ID, ld.Token > term.Token())
			break
		}
	}
	_ = second.Resign(ctx)
	// Output:
	// leader: ""
	// leader: "node-1"
	// leader: "node-2", token larger: true
}
