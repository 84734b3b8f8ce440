package store_test

import (
	"context"
	"testing"

	"github.com/wegomesh/wego/store"
	"github.com/wegomesh/wego/store/storetest"
)

func TestMemoryConformance(t *testing.T) {
	storetest.Run(t, func(*testing.T) store.Store { return store.NewMemory() })
}

func TestMemoryKind(t *testing.T) {
	f, ok := store.FactoryOf("memory")
	if !ok {
		t.Fatal(`kind "memory" is not registered`)
	}
	s, err := f(store.DefaultConfig(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, ok := s.(*store.Memory); !ok {
		t.Fatalf("the memory kind opened a %T", s)
	}
}

func TestMemoryGetAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	m := store.NewMemory()
	defer m.Close()
	ctx := context.Background()
	if _, err := m.Put(ctx, "orders/42", []byte(`{"qty":2}`), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Put(ctx, "orders/43", []byte(`{"qty":3}`), store.PutOptions{TTL: 3600e9}); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"orders/42", "orders/43"} {
		if n := testing.AllocsPerRun(1000, func() {
			if _, err := m.Get(ctx, key); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("Get(%q) allocates %v times, want 0", key, n)
		}
	}
}

func BenchmarkMemoryGet(b *testing.B) {
	m := store.NewMemory()
	defer m.Close()
	ctx := context.Background()
	if _, err := m.Put(ctx, "orders/42", []byte(`{"qty":2}`), store.PutOptions{}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Get(ctx, "orders/42"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMemoryGetParallel(b *testing.B) {
	m := store.NewMemory()
	defer m.Close()
	ctx := context.Background()
	if _, err := m.Put(ctx, "orders/42", []byte(`{"qty":2}`), store.PutOptions{}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := m.Get(ctx, "orders/42"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkMemoryPut(b *testing.B) {
	m := store.NewMemory()
	defer m.Close()
	ctx := context.Background()
	v := []byte(`{"qty":2}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Put(ctx, "orders/42", v, store.PutOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
