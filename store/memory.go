package store

import (
	"bytes"
	"cmp"
	"container/heap"
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"

	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/store/internal/watchq"
)

// MemoryMaxValue is the largest value a [Memory] store accepts: 1 MiB,
// the default largest message of a NATS server, so that an application
// that works on the in-process store keeps working when it moves to NATS
// key-value, and so that one record cannot hold an unbounded share of the
// process's memory.
const MemoryMaxValue = 1 << 20

const (
	// watchBuffer is the capacity of a watch's channel.
	watchBuffer = 64
	// watchQueue is how many undelivered changes a watch holds, beyond
	// its channel, before its receiver counts as fallen behind and gets
	// an EventReset.
	watchQueue = 1024
)

func init() {
	RegisterKind("memory", func(Config, any, *zap.Logger) (Store, error) { return NewMemory(), nil })
}

// Memory is a [Store] in this process's memory: the default store, and
// the one for tests. Its records are lost when the process ends
// ([DurabilityMemory]); it offers watches and expiry, and accepts values
// up to [MemoryMaxValue].
//
// Reads take a shared lock and do not allocate: a Get returns the stored
// record, whose value and metadata the store never changes (a write
// copies them in and replaces the record). Its methods never block on
// I/O, so they do not consult their context, except Watch, which ends
// with it. List and Keys scan every record and sort the matches, which
// suits the thousands of records an in-process store keeps.
//
// Records with a TTL are removed, and reported to watches as deleted, by
// a goroutine that the first such record starts and Close stops.
type Memory struct {
	mu       sync.RWMutex
	records  map[string]*Record
	rev      uint64
	closed   bool
	watchers map[*watcher]struct{}
	expiries expiryHeap
	sweeping bool

	kick    chan struct{} // wakes the sweeper when the earliest expiry changes
	closing chan struct{} // closed by Close
	wg      sync.WaitGroup
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty store in memory.
func NewMemory() *Memory {
	return &Memory{
		records:  make(map[string]*Record),
		watchers: make(map[*watcher]struct{}),
		kick:     make(chan struct{}, 1),
		closing:  make(chan struct{}),
	}
}

// Features reports watch, TTL, read-your-writes, memory durability and a
// largest value of [MemoryMaxValue].
func (m *Memory) Features() Features {
	return Features{Watch: true, TTL: true, Durability: DurabilityMemory, ReadYourWrites: true, MaxValue: MemoryMaxValue}
}

// live reports whether r exists at now; a zero now is read lazily, so
// that a record without expiry costs no clock read.
func live(r *Record, now *time.Time) bool {
	if r.Expires.IsZero() {
		return true
	}
	if now.IsZero() {
		*now = time.Now()
	}
	return r.Expires.After(*now)
}

// Get returns the record of key.
func (m *Memory) Get(ctx context.Context, key string) (Record, error) {
	if !ValidKey(key) && !ReservedKey(ctx, key) {
		return Record{}, CheckKey(key)
	}
	m.mu.RLock()
	if m.closed {
		m.mu.RUnlock()
		return Record{}, ErrClosed.New()
	}
	r, ok := m.records[key]
	m.mu.RUnlock()
	var now time.Time
	if !ok || !live(r, &now) {
		return Record{}, ErrNotFound.New(errs.P("key", key))
	}
	return *r, nil
}

// List returns the records under prefix.
func (m *Memory) List(_ context.Context, prefix string, opts ListOptions) ([]Record, error) {
	rs, err := m.list(prefix, opts)
	if err != nil {
		return nil, err
	}
	out := make([]Record, len(rs))
	for i, r := range rs {
		out[i] = *r
	}
	return out, nil
}

// Keys returns the keys under prefix.
func (m *Memory) Keys(_ context.Context, prefix string, opts ListOptions) ([]string, error) {
	rs, err := m.list(prefix, opts)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Key
	}
	return out, nil
}

func (m *Memory) list(prefix string, opts ListOptions) ([]*Record, error) {
	if err := CheckList(opts); err != nil {
		return nil, err
	}
	var rs []*Record
	now := time.Now()
	m.mu.RLock()
	if m.closed {
		m.mu.RUnlock()
		return nil, ErrClosed.New()
	}
	for k, r := range m.records {
		if !Under(k, prefix) || !live(r, &now) {
			continue
		}
		if opts.After != "" && (!opts.Reverse && k <= opts.After || opts.Reverse && k >= opts.After) {
			continue
		}
		rs = append(rs, r)
	}
	m.mu.RUnlock()
	if opts.Reverse {
		slices.SortFunc(rs, func(a, b *Record) int { return cmp.Compare(b.Key, a.Key) })
	} else {
		slices.SortFunc(rs, func(a, b *Record) int { return cmp.Compare(a.Key, b.Key) })
	}
	if opts.Limit > 0 && len(rs) > opts.Limit {
		rs = rs[:opts.Limit]
	}
	return rs, nil
}

// Put writes value under key if the conditions of opts hold.
func (m *Memory) Put(ctx context.Context, key string, value []byte, opts PutOptions) (uint64, error) {
	if err := CheckPutContext(ctx, key, value, opts, MemoryMaxValue); err != nil {
		return 0, err
	}
	r := &Record{Key: key, Value: bytes.Clone(value), Fence: opts.Fence}
	if len(opts.Metadata) > 0 {
		r.Metadata = maps.Clone(opts.Metadata)
	}
	now := time.Now()
	if opts.TTL > 0 {
		r.Expires = now.Add(opts.TTL)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, ErrClosed.New()
	}
	old := m.current(key, now)
	switch {
	case old != nil && opts.Fence != 0 && old.Fence > opts.Fence:
		return 0, ErrFenced.New(errs.P("key", key))
	case opts.Create && old != nil:
		return 0, ErrConflict.New(errs.P("key", key))
	case opts.IfRevision != 0 && (old == nil || old.Revision != opts.IfRevision):
		return 0, ErrConflict.New(errs.P("key", key))
	}
	if opts.Fence == 0 && old != nil {
		r.Fence = old.Fence
	}
	m.rev++
	r.Revision = m.rev
	m.records[key] = r
	if !r.Expires.IsZero() {
		m.expireAt(r)
	}
	m.notify(Event{Kind: EventPut, Record: *r})
	return r.Revision, nil
}

// Delete removes key if the conditions of opts hold.
func (m *Memory) Delete(ctx context.Context, key string, opts DeleteOptions) error {
	if !ValidKey(key) && !ReservedKey(ctx, key) {
		return CheckKey(key)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed.New()
	}
	old := m.current(key, time.Now())
	switch {
	case old != nil && opts.Fence != 0 && old.Fence > opts.Fence:
		return ErrFenced.New(errs.P("key", key))
	case opts.IfRevision != 0 && (old == nil || old.Revision != opts.IfRevision):
		return ErrConflict.New(errs.P("key", key))
	case old == nil:
		return nil
	}
	m.remove(key)
	return nil
}

// current returns the live record of key, or nil; an expired record it
// finds is removed and reported as deleted first. m.mu is held for
// writing.
func (m *Memory) current(key string, now time.Time) *Record {
	r, ok := m.records[key]
	if !ok {
		return nil
	}
	if !live(r, &now) {
		m.remove(key)
		return nil
	}
	return r
}

// remove deletes key with a new revision and tells the watches. m.mu is
// held for writing.
func (m *Memory) remove(key string) {
	delete(m.records, key)
	m.rev++
	m.notify(Event{Kind: EventDelete, Record: Record{Key: key, Revision: m.rev}})
}

// Close stops the store's goroutines, ends its watches and drops its
// records.
func (m *Memory) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.records = nil
	m.expiries = nil
	close(m.closing)
	m.mu.Unlock()
	m.wg.Wait()
	return nil
}

// Expiry.

type expiry struct {
	at       time.Time
	key      string
	revision uint64
}

type expiryHeap []expiry

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(expiry)) }
func (h *expiryHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// expireAt schedules the removal of r at r.Expires, starting the sweeper
// if it is not running. m.mu is held for writing.
func (m *Memory) expireAt(r *Record) {
	heap.Push(&m.expiries, expiry{at: r.Expires, key: r.Key, revision: r.Revision})
	if !m.sweeping {
		m.sweeping = true
		m.wg.Add(1)
		go m.sweep()
		return
	}
	if m.expiries[0].revision == r.Revision {
		select {
		case m.kick <- struct{}{}:
		default:
		}
	}
}

// sweep removes records as they expire, until the store closes.
func (m *Memory) sweep() {
	defer m.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			return
		}
		now := time.Now()
		for len(m.expiries) > 0 && !m.expiries[0].at.After(now) {
			e := heap.Pop(&m.expiries).(expiry)
			if r, ok := m.records[e.key]; ok && r.Revision == e.revision {
				m.remove(e.key)
			}
		}
		wait := time.Hour
		if len(m.expiries) > 0 {
			wait = m.expiries[0].at.Sub(now)
		}
		m.mu.Unlock()
		timer.Reset(wait)
		select {
		case <-timer.C:
		case <-m.kick:
		case <-m.closing:
			return
		}
	}
}

// Watch.

// watcher is one watch: writers queue its changes, and its goroutine
// hands them to the receiver's channel.
type watcher struct {
	prefix string
	out    chan Event
	q      *watchq.Queue[Event]
}

// notify queues ev for every watch of its key. m.mu is held for writing.
func (m *Memory) notify(ev Event) {
	for w := range m.watchers {
		if Under(ev.Record.Key, w.prefix) {
			w.q.Push(ev)
		}
	}
}

// Watch reports the changes under prefix until ctx ends or the store
// closes. A receiver that lets more than about a thousand changes wait
// gets an [EventReset] and the current records instead of them.
func (m *Memory) Watch(ctx context.Context, prefix string) (<-chan Event, error) {
	w := &watcher{prefix: prefix, out: make(chan Event, watchBuffer), q: watchq.New[Event](watchQueue)}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed.New()
	}
	m.watchers[w] = struct{}{}
	m.wg.Add(1)
	go m.serve(ctx, w)
	return w.out, nil
}

// serve runs one watch: the snapshot, then the queued changes, and a new
// snapshot after a reset.
func (m *Memory) serve(ctx context.Context, w *watcher) {
	defer m.wg.Done()
	defer close(w.out)
	defer func() {
		m.mu.Lock()
		delete(m.watchers, w)
		m.mu.Unlock()
	}()
	send := func(ev Event) bool {
		select {
		case w.out <- ev:
			return true
		case <-ctx.Done():
		case <-m.closing:
		}
		return false
	}
	resync := func() bool {
		for _, r := range m.snapshot(w) {
			if !send(Event{Kind: EventPut, Record: *r}) {
				return false
			}
		}
		return send(Event{Kind: EventSynced})
	}
	if !resync() {
		return
	}
	var batch []Event
	for {
		select {
		case <-w.q.Wake():
		case <-ctx.Done():
			return
		case <-m.closing:
			return
		}
		var behind bool
		batch, behind = w.q.Take(batch)
		if behind {
			if !send(Event{Kind: EventReset}) || !resync() {
				return
			}
			continue
		}
		for _, ev := range batch {
			if !send(ev) {
				return
			}
		}
	}
}

// snapshot returns the live records under w's prefix, sorted by key, and
// empties w's queue of the changes they include.
func (m *Memory) snapshot(w *watcher) []*Record {
	now := time.Now()
	m.mu.RLock()
	defer m.mu.RUnlock()
	var rs []*Record
	for k, r := range m.records {
		if Under(k, w.prefix) && live(r, &now) {
			rs = append(rs, r)
		}
	}
	w.q.Clear()
	slices.SortFunc(rs, func(a, b *Record) int { return cmp.Compare(a.Key, b.Key) })
	return rs
}
