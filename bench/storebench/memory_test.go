package storebench

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/wegomesh/wego/store"
)

// memoryValue is the record the memory benchmarks read.
var memoryValue = []byte(`{"sku":"apple-123","qty":3,"price":"1.20"}`)

// bareMap is the least an in-process store can do to read a record: a
// map lookup under a read lock, which is what the baseline of
// BenchmarkMemoryGet measures.
type bareMap struct {
	mu sync.RWMutex
	m  map[string][]byte
}

var errNotFound = errors.New("not found")

func (m *bareMap) get(key string) ([]byte, error) {
	m.mu.RLock()
	v, ok := m.m[key]
	m.mu.RUnlock()
	if !ok {
		return nil, errNotFound
	}
	return v, nil
}

// BenchmarkMemoryGet reads one record of the in-process store through
// the byte-level API, a hit: the target is at most 100 ns and 0
// allocations. The bare side, a map lookup under a read lock, says how
// much of that is the store's own.
func BenchmarkMemoryGet(b *testing.B) {
	ctx := context.Background()
	m := store.NewMemory()
	b.Cleanup(func() { _ = m.Close() })
	if _, err := m.Put(ctx, boltKey, memoryValue, store.PutOptions{}); err != nil {
		b.Fatal(err)
	}
	bare := &bareMap{m: map[string][]byte{boltKey: memoryValue}}
	runSides(b,
		side{"bare", func(b *testing.B) {
			loop(b, false, func() error { sinkBytes, sinkErr = bare.get(boltKey); return sinkErr })
		}},
		side{"store", func(b *testing.B) {
			loop(b, false, func() error { sinkRecord, sinkErr = m.Get(ctx, boltKey); return sinkErr })
		}})
}
