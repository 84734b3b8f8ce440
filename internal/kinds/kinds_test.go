package kinds_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/wegomesh/wego/internal/kinds"
)

func TestRegistry(t *testing.T) {
	var r kinds.Registry[func() string]
	if got := r.Kinds(); len(got) != 0 {
		t.Fatalf("an empty registry has kinds %v", got)
	}
	if _, ok := r.Lookup("memory"); ok {
		t.Fatal("an empty registry found memory")
	}
	mem := func() string { return "memory" }
	if _, added := r.Add("memory", mem); !added {
		t.Fatal("the first memory was not added")
	}
	prev, added := r.Add("memory", func() string { return "another" })
	if added || prev() != "memory" {
		t.Fatalf("a second memory: added %v, previous %q; want false and the first", added, prev())
	}
	if f, ok := r.Lookup("memory"); !ok || f() != "memory" {
		t.Fatal("Lookup does not return the first memory")
	}
	r.Add("nats", func() string { return "nats" })
	r.Add("bbolt", func() string { return "bbolt" })
	if got := r.Kinds(); !slices.Equal(got, []string{"bbolt", "memory", "nats"}) {
		t.Errorf("Kinds() = %v, want them sorted", got)
	}
}

// Registrations and look-ups from many goroutines (run with -race): each
// kind is added once, whoever comes first.
func TestRegistryConcurrent(t *testing.T) {
	var r kinds.Registry[int]
	var wg sync.WaitGroup
	var mu sync.Mutex
	added := map[string]int{}
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				kind := fmt.Sprint("k", i)
				if _, ok := r.Add(kind, g); ok {
					mu.Lock()
					added[kind]++
					mu.Unlock()
				}
				r.Lookup(kind)
				r.Kinds()
			}
		})
	}
	wg.Wait()
	if len(added) != 50 || len(r.Kinds()) != 50 {
		t.Fatalf("%d kinds added, %d registered; want 50", len(added), len(r.Kinds()))
	}
	for kind, n := range added {
		if n != 1 {
			t.Errorf("%s added %d times", kind, n)
		}
	}
}

func ExampleRegistry() {
	var factories kinds.Registry[func() string]
	register := func(kind string, f func() string) {
		if kind == "" || f == nil {
			panic("RegisterKind needs a kind and a factory")
		}
		if _, added := factories.Add(kind, f); !added {
			panic("kind " + kind + " registered twice")
		}
	}
	register("memory", func() string { return "a store in memory" })
	register("nats", func() string { return "a NATS key-value bucket" })

	f, ok := factories.Lookup("nats")
	fmt.Println(f(), ok)
	fmt.Println(factories.Kinds())
	// Output:
	// a NATS key-value bucket true
	// [memory nats]
}
