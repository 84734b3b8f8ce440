package idempotency

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"time"
)

// Fingerprint identifies a request: the SHA-256 of its canonical encoding
// (see the package documentation). Two calls with one key and different
// fingerprints are two different requests.
type Fingerprint [sha256.Size]byte

// Attempt is what the middleware asks a [Store] to reserve: the request's
// fingerprint, a token that only this attempt knows, and how long the key
// stays reserved for it if it never completes.
type Attempt struct {
	Fingerprint Fingerprint
	// Token fences the attempt: [Store.Complete] and [Store.Release] act
	// only while the record of the key is the one this attempt reserved.
	// It is never 0.
	Token uint64
	// Lease is how long the reservation lasts. An attempt that ends
	// without an outcome (its process died) blocks retries no longer.
	Lease time.Duration
}

// Record is what a [Store] holds for one key: an attempt in progress or
// its outcome.
type Record struct {
	// Fingerprint is the fingerprint of the request that reserved the key.
	Fingerprint Fingerprint
	// Done is true for an outcome and false for an attempt in progress.
	Done bool
	// Response is the response of a successful outcome: the value the
	// command returned (a Resp, not a *Resp) in a store that keeps Go
	// values, or its JSON encoding as a json.RawMessage in one that
	// serializes; the middleware decodes the latter into the command's
	// response type.
	Response any
	// Err is the error of a failed outcome. A store that serializes
	// records keeps its code, status, message, parameters and field
	// violations and rebuilds it with errs.Remote.
	Err error
	// Expires is when the record stops counting: the end of the lease of
	// an attempt in progress, or of the TTL of an outcome.
	Expires time.Time
	// Changed, when not nil, is closed when the attempt in progress that
	// the record describes completes or is released (or when the store
	// drops the record once its lease has ended); a store that cannot
	// notify leaves it nil, and the middleware polls [Store.Get] instead.
	// Either way, a waiting call stops waiting when the lease ends.
	Changed <-chan struct{}
}

// Store keeps the records of keys. The middleware builds the keys: they
// hold the command's name, the principal (when there is one) and the
// client's key, and are at most a few hundred bytes. A Store must be safe
// for concurrent use; [MemoryStore] is the default, and a store shared by
// the replicas of a service (a database, Redis) makes retries that reach
// another replica safe too.
type Store interface {
	// Reserve records key as in progress for a, unless the store holds a
	// record of key that has not expired: then it returns that record
	// and false. It returns true when a now holds the key.
	Reserve(ctx context.Context, key string, a Attempt) (Record, bool, error)
	// Complete replaces the record of the attempt with token by its
	// outcome, rec (Done true), kept for ttl. It returns [ErrLeaseLost]
	// when the key is no longer reserved for that attempt.
	Complete(ctx context.Context, key string, token uint64, rec Record, ttl time.Duration) error
	// Release removes the record of the attempt with token, which left no
	// outcome to replay, so that the next call with key runs. It returns
	// [ErrLeaseLost] when the key is no longer reserved for that attempt.
	Release(ctx context.Context, key string, token uint64) error
	// Get returns the record of key, and false when there is none or it
	// expired.
	Get(ctx context.Context, key string) (Record, bool, error)
}

// Errors of stores.
var (
	// ErrLeaseLost is returned by [Store.Complete] and [Store.Release]
	// when the key is no longer reserved for the attempt: its lease ended
	// and the record expired, or another attempt holds the key now.
	ErrLeaseLost = errors.New("idempotency: the attempt's lease ended")
	// ErrFull is returned by [MemoryStore.Reserve] when every entry holds
	// an attempt in progress, so that none can make room.
	ErrFull = errors.New("idempotency: the store is full of attempts in progress")
)

// DefaultMaxEntries bounds a [MemoryStore] made with a size of 0.
const DefaultMaxEntries = 10000

// MemoryStore is the default [Store]: records in memory, in this process.
// It is safe for concurrent use and holds at most a fixed number of
// records: when it is full, expired records are removed and then, if it
// is still full, the oldest outcomes, so that a new key can always be
// reserved unless every record is an attempt in progress. It starts no
// goroutine; expired records are removed when they are met and, every
// minute, on a reservation.
type MemoryStore struct {
	max int
	now func() time.Time

	mu         sync.Mutex
	entries    map[string]*memEntry
	head, tail *memEntry // oldest first: by reservation, and by completion once done
	nextSweep  time.Time
	lastSweep  time.Time
}

type memEntry struct {
	key        string
	rec        Record
	token      uint64
	changed    chan struct{} // closed when the attempt ends; nil once done
	prev, next *memEntry
}

// sweepEvery is how often a reservation removes every expired record.
const sweepEvery = time.Minute

// NewMemoryStore returns an empty store that holds at most maxEntries
// records ([DefaultMaxEntries] when it is 0 or less).
func NewMemoryStore(maxEntries int) *MemoryStore {
	if maxEntries <= 0 {
		maxEntries = DefaultMaxEntries
	}
	return &MemoryStore{max: maxEntries, now: time.Now, entries: map[string]*memEntry{}}
}

// Len returns the number of records, expired ones included until they are
// removed.
func (s *MemoryStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.entries)
}

// Reserve implements [Store].
func (s *MemoryStore) Reserve(_ context.Context, key string, a Attempt) (Record, bool, error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.entries[key]; ok {
		if now.Before(e.rec.Expires) {
			return e.record(), false, nil
		}
		s.remove(e)
	}
	if !now.Before(s.nextSweep) {
		s.sweep(now)
	}
	if len(s.entries) >= s.max {
		if now.Sub(s.lastSweep) >= time.Second {
			s.sweep(now) // at most once a second: a full store of live records is scanned rarely
		}
		if len(s.entries) >= s.max && !s.evictOldestOutcome() {
			return Record{}, false, ErrFull
		}
	}
	e := &memEntry{key: key, token: a.Token, changed: make(chan struct{}),
		rec: Record{Fingerprint: a.Fingerprint, Expires: now.Add(a.Lease)}}
	s.entries[key] = e
	s.pushBack(e)
	return Record{}, true, nil
}

// Complete implements [Store].
func (s *MemoryStore) Complete(_ context.Context, key string, token uint64, rec Record, ttl time.Duration) error {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[key]
	if !ok || e.rec.Done || e.token != token {
		return ErrLeaseLost
	}
	if !now.Before(e.rec.Expires) {
		s.remove(e)
		return ErrLeaseLost
	}
	e.rec = Record{Fingerprint: e.rec.Fingerprint, Done: true, Response: rec.Response, Err: rec.Err, Expires: now.Add(ttl)}
	close(e.changed)
	e.changed = nil
	s.unlink(e)
	s.pushBack(e)
	return nil
}

// Release implements [Store].
func (s *MemoryStore) Release(_ context.Context, key string, token uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[key]
	if !ok || e.rec.Done || e.token != token {
		return ErrLeaseLost
	}
	s.remove(e)
	return nil
}

// Get implements [Store].
func (s *MemoryStore) Get(_ context.Context, key string) (Record, bool, error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[key]
	if !ok {
		return Record{}, false, nil
	}
	if !now.Before(e.rec.Expires) {
		s.remove(e)
		return Record{}, false, nil
	}
	return e.record(), true, nil
}

func (e *memEntry) record() Record {
	r := e.rec
	if e.changed != nil {
		r.Changed = e.changed
	}
	return r
}

// remove deletes e, waking the calls that wait for its attempt.
func (s *MemoryStore) remove(e *memEntry) {
	delete(s.entries, e.key)
	s.unlink(e)
	if e.changed != nil {
		close(e.changed)
		e.changed = nil
	}
}

// sweep removes every expired record.
func (s *MemoryStore) sweep(now time.Time) {
	s.lastSweep, s.nextSweep = now, now.Add(sweepEvery)
	for e := s.head; e != nil; {
		next := e.next
		if !now.Before(e.rec.Expires) {
			s.remove(e)
		}
		e = next
	}
}

// evictOldestOutcome removes the oldest outcome, and reports whether there
// was one.
func (s *MemoryStore) evictOldestOutcome() bool {
	for e := s.head; e != nil; e = e.next {
		if e.rec.Done {
			s.remove(e)
			return true
		}
	}
	return false
}

func (s *MemoryStore) pushBack(e *memEntry) {
	e.prev, e.next = s.tail, nil
	if s.tail != nil {
		s.tail.next = e
	} else {
		s.head = e
	}
	s.tail = e
}

func (s *MemoryStore) unlink(e *memEntry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else if s.head == e {
		s.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else if s.tail == e {
		s.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

var _ Store = (*MemoryStore)(nil)
