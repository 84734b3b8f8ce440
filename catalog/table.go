package catalog

import (
	"encoding/binary"
	"math/bits"
	"unsafe"
)

// table is an immutable open-addressing hash table from command names to
// entries, built once per index, which probes it (see index.load). Lookups by name are on the path of every
// call by name, so it uses a cheap hash of a name's length and its first
// and last eight bytes instead of the runtime's general string hash; the
// full name is compared on every probe, so collisions cost time, never
// correctness. Names come from registrations, not from clients, and the
// table is at most half full, so probe sequences stay short.
type table struct {
	slots []slot // len is a power of two
	mask  uint64
	n     int
}

type slot struct {
	name string
	e    entry
}

func newTable(n int) *table {
	size := 8
	for size < 2*n {
		size <<= 1
	}
	return &table{slots: make([]slot, size), mask: uint64(size - 1)}
}

// hashName mixes the length and the first and last eight bytes of s.
func hashName(s string) uint64 {
	n := len(s)
	var a, b uint64
	if n > 0 {
		p := unsafe.Slice(unsafe.StringData(s), n)
		switch {
		case n >= 8:
			a = binary.LittleEndian.Uint64(p)
			b = binary.LittleEndian.Uint64(p[n-8:])
		case n >= 4:
			a = uint64(binary.LittleEndian.Uint32(p))
			b = uint64(binary.LittleEndian.Uint32(p[n-4:]))
		default:
			a = uint64(p[0])<<16 | uint64(p[n/2])<<8 | uint64(p[n-1])
		}
	}
	h := (a ^ bits.RotateLeft64(b, 29) ^ uint64(n)*0x9e3779b97f4a7c15) * 0xbf58476d1ce4e5b9
	return h ^ h>>31
}

// put adds e under name; the table must have room and name must be new.
func (t *table) put(name string, e entry) {
	i := hashName(name) & t.mask
	for t.slots[i].e != nil {
		i = (i + 1) & t.mask
	}
	t.slots[i] = slot{name: name, e: e}
	t.n++
}

func (t *table) len() int {
	if t == nil {
		return 0
	}
	return t.n
}

func (t *table) each(f func(e entry)) {
	if t == nil {
		return
	}
	for _, s := range t.slots {
		if s.e != nil {
			f(s.e)
		}
	}
}
