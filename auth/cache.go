package auth

import (
	"hash/maphash"
	"sync"
)

// tokenCache holds verified tokens' accounts, keyed by a 64-bit keyed hash
// of the token and checked with a second one of independent seed: a false
// hit needs both hashes of two tokens to collide under seeds that never
// leave the process, and the token itself is never stored.
type tokenCache struct {
	shards   [cacheShards]cacheShard
	perShard int
	seed     maphash.Seed
	check    maphash.Seed
}

const cacheShards = 16

type cacheShard struct {
	mu sync.RWMutex
	m  map[uint64]cacheEntry
	_  [32]byte // 64 bytes a shard: shards on separate cache lines
}

type cacheEntry struct {
	check uint64
	until int64  // Unix nanoseconds: the token's expiry or its key's retirement
	from  int64  // Unix nanoseconds: the token's not-before time, skew included
	gen   uint64 // the key set's generation when the token was verified
	acct  *Account
}

// newTokenCache returns a cache of about size tokens, or nil (no cache)
// when size is not positive.
func newTokenCache(size int) *tokenCache {
	if size <= 0 {
		return nil
	}
	c := &tokenCache{perShard: max(1, (size+cacheShards-1)/cacheShards), seed: maphash.MakeSeed(), check: maphash.MakeSeed()}
	for i := range c.shards {
		c.shards[i].m = make(map[uint64]cacheEntry)
	}
	return c
}

// hash returns the key of tok, for get and put.
func (c *tokenCache) hash(tok string) uint64 {
	if c == nil {
		return 0
	}
	return maphash.String(c.seed, tok)
}

// get returns the account of tok, whose hash is h, if it was verified with
// the key set of generation gen and is valid both at now and at at, the
// time its expiry and not-before time are judged at (now, but for a
// context made with WithVerifyTime). A token valid at at but expired now
// is verified again.
func (c *tokenCache) get(h uint64, tok string, now, at int64, gen uint64) (*Account, bool) {
	if c == nil {
		return nil, false
	}
	s := &c.shards[h%cacheShards]
	s.mu.RLock()
	e, ok := s.m[h]
	s.mu.RUnlock()
	if !ok || e.gen != gen || max(now, at) >= e.until || at < e.from || e.check != maphash.String(c.check, tok) {
		return nil, false
	}
	return e.acct, true
}

// put stores the account of tok, whose hash is h, valid from from until
// until. A full shard first drops the
// expired entries it finds among a few, else one entry at random (the map's
// iteration order).
func (c *tokenCache) put(h uint64, tok string, a *Account, until, from int64, gen uint64, now int64) {
	if c == nil || until <= now {
		return
	}
	e := cacheEntry{check: maphash.String(c.check, tok), until: until, from: from, gen: gen, acct: a}
	s := &c.shards[h%cacheShards]
	s.mu.Lock()
	if _, ok := s.m[h]; !ok && len(s.m) >= c.perShard {
		evicted, seen := false, 0
		for k, old := range s.m {
			if old.until <= now || old.gen != gen {
				delete(s.m, k)
				evicted = true
			}
			if seen++; seen == 8 {
				break
			}
		}
		if !evicted {
			for k := range s.m {
				delete(s.m, k)
				break
			}
		}
	}
	s.m[h] = e
	s.mu.Unlock()
}

// purge drops every entry.
func (c *tokenCache) purge() {
	if c == nil {
		return
	}
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		clear(s.m)
		s.mu.Unlock()
	}
}

// len returns the number of entries, for tests.
func (c *tokenCache) len() int {
	if c == nil {
		return 0
	}
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}
