package catalog

import (
	"encoding/binary"
	"math/bits"
	"unsafe"
)

// table is an immutable open-addressing hash table from command names to
// entries, built once per index, which probes it (see index.load). It is
// here, rather than a map or a sync.Map, because either would take a call
// by name past its target of 6x a direct call (the measurements are in
// docs/performance-notes.md). Lookups by name are on the path of every
// call by name, so it uses a cheap hash of a name's length and its first
// and last eight bytes instead of the runtime's general string hash; the
// full name is compared on every probe, so collisions cost time, never
// correctness. Names come from registrations, not from clients, and the
// table is at most half full, so probe sequences stay short.
type table struct {
	slots []slot // len is a power of two
	mask  uint64
	n     int

	// addrs finds entries by where their name's bytes are: see byAddr.
	// Same length as slots.
	addrs []addrSlot
	shift uint8 // 64 - log2(len(addrs))
}

type slot struct {
	name string
	e    entry
}

// addrSlot keys an entry by its name's address and length. p keeps the
// name's bytes alive, so no other string can take that address while the
// table exists.
type addrSlot struct {
	p *byte
	n int
	e entry
}

func newTable(n int) *table {
	size, bits := 8, uint8(3)
	for size < 2*n {
		size <<= 1
		bits++
	}
	return &table{
		slots: make([]slot, size), mask: uint64(size - 1),
		addrs: make([]addrSlot, size), shift: 64 - bits,
	}
}

// byAddr finds the entry whose registered name is the very string name,
// by address instead of by content: the same bytes at the same address
// and of the same length are the same name, because strings are
// immutable. That holds for most calls by name: the Go linker stores
// equal string literals once, so a caller's "inventory.Reserve" is the
// registration's, and transports pass the name the catalog gave them. It
// costs one multiplication, where hashing the name reads all its bytes.
// Any other string (built at run time, read from a file) misses, and load
// finds it by content. Returns nil on a miss.
func (t *table) byAddr(name string) entry {
	p := unsafe.StringData(name)
	for i := t.addrHome(p); ; i = (i + 1) & t.mask {
		s := &t.addrs[i]
		if s.p == p && s.n == len(name) || s.e == nil {
			return s.e
		}
	}
}

// addrHome is the first slot of addrs to probe for the name whose bytes
// are at p: Fibonacci hashing of the address, whose top bits are the
// index.
func (t *table) addrHome(p *byte) uint64 {
	return uint64(uintptr(unsafe.Pointer(p))) * 0x9e3779b97f4a7c15 >> (t.shift & 63)
}

// hashName hashes every byte of s, eight at a time (the last word
// overlaps the one before when the length is not a multiple of eight):
// each word is multiplied in and rotated, and the result goes through
// the 64-bit finalizer of MurmurHash3 so that every input bit reaches the
// low bits that pick a slot. Names that differ anywhere —
// "inventory07.Reserve" and "inventory08.Reserve" — hash apart, so a
// catalog of many similar names keeps short probes.
func hashName(s string) uint64 {
	const k1, k2 = 0x9e3779b97f4a7c15, 0xbf58476d1ce4e5b9
	n := len(s)
	h := uint64(n) * k1
	if n > 0 {
		p := unsafe.Slice(unsafe.StringData(s), n)
		if n < 8 {
			var w uint64
			for i := range p {
				w = w<<8 | uint64(p[i])
			}
			h = bits.RotateLeft64(h^w*k1, 31) * k2
		} else {
			for len(p) > 8 {
				h = bits.RotateLeft64(h^binary.LittleEndian.Uint64(p)*k1, 31) * k2
				p = p[8:]
			}
			last := unsafe.Slice(unsafe.StringData(s[n-8:]), 8)
			h = bits.RotateLeft64(h^binary.LittleEndian.Uint64(last)*k1, 31) * k2
		}
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	return h ^ h>>33
}

// put adds e under name; the table must have room and name must be new.
func (t *table) put(name string, e entry) {
	i := hashName(name) & t.mask
	for t.slots[i].e != nil {
		i = (i + 1) & t.mask
	}
	t.slots[i] = slot{name: name, e: e}
	t.n++
	p := unsafe.StringData(name)
	i = t.addrHome(p)
	for t.addrs[i].e != nil {
		i = (i + 1) & t.mask
	}
	t.addrs[i] = addrSlot{p: p, n: len(name), e: e}
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
