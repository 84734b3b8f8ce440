package watchq

import (
	"slices"
	"sync"
	"testing"
)

func TestQueue(t *testing.T) {
	q := New[int](3)
	select {
	case <-q.Wake():
		t.Fatal("a new queue wakes")
	default:
	}
	q.Push(1)
	q.Push(2)
	<-q.Wake()
	select {
	case <-q.Wake():
		t.Fatal("two pushes woke twice")
	default:
	}
	got, behind := q.Take(nil)
	if !slices.Equal(got, []int{1, 2}) || behind {
		t.Fatalf("Take: %v, behind %v; want [1 2], not behind", got, behind)
	}
	// Over the limit: the changes are dropped and the queue is behind
	// until the next Take, which empties it.
	for i := range 5 {
		q.Push(10 + i)
	}
	got, behind = q.Take(got)
	if len(got) != 0 || !behind {
		t.Fatalf("Take after an overflow: %v, behind %v; want nothing, behind", got, behind)
	}
	q.Push(20)
	got, behind = q.Take(got)
	if !slices.Equal(got, []int{20}) || behind {
		t.Fatalf("Take after the reset: %v, behind %v; want [20], not behind", got, behind)
	}
	for i := range 4 {
		q.Push(i)
	}
	q.Clear()
	if got, behind = q.Take(got); len(got) != 0 || behind {
		t.Fatalf("Take after Clear: %v, behind %v", got, behind)
	}
}

// TestConcurrent pushes from several writers while a reader takes:
// every change arrives once, in each writer's order, or the reader is
// told it fell behind.
func TestConcurrent(t *testing.T) {
	const writers, each = 4, 2000
	q := New[[2]int](1 << 20)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				q.Push([2]int{w, i})
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	next := make([]int, writers)
	var buf [][2]int
	for finished := false; !finished; {
		select {
		case <-q.Wake():
		case <-done:
			finished = true
		}
		var behind bool
		buf, behind = q.Take(buf)
		if behind {
			t.Fatal("behind with room to spare")
		}
		for _, ev := range buf {
			if ev[1] != next[ev[0]] {
				t.Fatalf("writer %d: change %d after %d", ev[0], ev[1], next[ev[0]]-1)
			}
			next[ev[0]]++
		}
	}
	for w, n := range next {
		if n != each {
			t.Errorf("writer %d: %d changes arrived, want %d", w, n, each)
		}
	}
}
