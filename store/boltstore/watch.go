package boltstore

import (
	"bytes"
	"context"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/wegomesh/wego/store"
	"github.com/wegomesh/wego/store/internal/watchq"
)

// Watches are served in this process: bbolt lets one process at a time
// open a file, so every write goes through this Store, whose leader
// (see writer.go) hands each committed transaction's events to the
// watchers in revision order. A watcher queues them and its own
// goroutine sends them on; a watcher whose queue is full is marked for
// a reset, so that a slow receiver never blocks a writer.

// watchChanCap is the capacity of the channel a watch returns.
const watchChanCap = 64

// hub holds the watchers, copy on write, so that a writer reads them
// without a lock.
type hub struct {
	mu       sync.Mutex
	watchers atomic.Pointer[[]*watcher]
}

func (h *hub) add(w *watcher) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var ws []*watcher
	if p := h.watchers.Load(); p != nil {
		ws = append(ws, *p...)
	}
	ws = append(ws, w)
	h.watchers.Store(&ws)
}

func (h *hub) remove(w *watcher) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.watchers.Load()
	if p == nil {
		return
	}
	ws := make([]*watcher, 0, len(*p))
	for _, x := range *p {
		if x != w {
			ws = append(ws, x)
		}
	}
	h.watchers.Store(&ws)
}

// watcher is one watch's prefix and queue of events.
type watcher struct {
	prefix string
	q      *watchq.Queue[store.Event]
}

// publish hands the writes of a committed batch to the watchers.
func (s *Store) publish(batch []*op) {
	p := s.hub.watchers.Load()
	if p == nil || len(*p) == 0 {
		return
	}
	ws := *p
	for _, o := range batch {
		if o.fatal || o.err != nil {
			continue
		}
		switch o.kind {
		case opPut:
			if o.rev == 0 {
				continue
			}
			var ev store.Event
			made := false
			for _, w := range ws {
				if !store.Under(o.key, w.prefix) {
					continue
				}
				if !made {
					// The caller may change its value and metadata after
					// Put returns: the watchers share a copy.
					r := store.Record{
						Key:      o.key,
						Value:    bytes.Clone(o.value),
						Metadata: maps.Clone(o.put.Metadata),
						Revision: o.rev,
						Fence:    o.fence,
					}
					if r.Value == nil {
						r.Value = []byte{}
					}
					if o.expires != 0 {
						r.Expires = time.Unix(0, o.expires)
					}
					ev, made = store.Event{Kind: store.EventPut, Record: r}, true
				}
				w.q.Push(ev)
			}
		case opDelete:
			if o.rev == 0 {
				continue
			}
			ev := store.Event{Kind: store.EventDelete, Record: store.Record{Key: o.key, Revision: o.rev}}
			for _, w := range ws {
				if store.Under(o.key, w.prefix) {
					w.q.Push(ev)
				}
			}
		case opSweep:
			for _, ev := range o.events {
				for _, w := range ws {
					if store.Under(ev.Record.Key, w.prefix) {
						w.q.Push(ev)
					}
				}
			}
		}
	}
}

// Watch implements [store.Store.Watch]. It reports the writes made
// through this Store (the only writer of its file) and the expiries its
// sweeper removes, as [store.EventDelete]. A receiver that falls more
// than [Options.WatchBuffer] events behind gets a [store.EventReset]
// and the records again.
func (s *Store) Watch(ctx context.Context, prefix string) (<-chan store.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	w := &watcher{prefix: prefix, q: watchq.New[store.Event](s.opts.WatchBuffer)}
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		return nil, store.ErrClosed.New()
	}
	s.wg.Add(1)
	s.hub.add(w)
	s.mu.Unlock()
	// The watcher is registered before the snapshot is read: a write
	// that the snapshot misses reaches the queue, and one that it holds
	// is dropped from the queue by its revision.
	recs, rev, err := s.snapshot(prefix)
	if err != nil {
		s.hub.remove(w)
		s.wg.Done()
		return nil, err
	}
	out := make(chan store.Event, watchChanCap)
	go s.watch(ctx, w, out, recs, rev)
	return out, nil
}

// snapshot returns the live records under prefix and the store's
// revision when it read them.
func (s *Store) snapshot(prefix string) ([]store.Record, uint64, error) {
	var (
		recs []store.Record
		rev  uint64
	)
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(s.name)
		if b == nil {
			return errNoBucket
		}
		rev = b.Sequence()
		var err error
		recs, err = s.scan(b, prefix, store.ListOptions{}, time.Now().UnixNano(), recs)
		return err
	})
	if err != nil {
		return nil, 0, s.dbError(err)
	}
	return recs, rev, nil
}

// watch is a watcher's goroutine: it sends the snapshot, then the
// queued events, until ctx ends or the store closes.
func (s *Store) watch(ctx context.Context, w *watcher, out chan<- store.Event, recs []store.Record, rev uint64) {
	defer s.wg.Done()
	defer close(out)
	defer s.hub.remove(w)
	send := func(ev store.Event) bool {
		select {
		case out <- ev:
			return true
		case <-ctx.Done():
		case <-s.done:
		}
		return false
	}
	sendSnapshot := func() bool {
		for i := range recs {
			if !send(store.Event{Kind: store.EventPut, Record: recs[i]}) {
				return false
			}
		}
		recs = nil
		return send(store.Event{Kind: store.EventSynced})
	}
	if !sendSnapshot() {
		return
	}
	var q []store.Event
	for {
		select {
		case <-w.q.Wake():
		case <-ctx.Done():
			return
		case <-s.done:
			return
		}
		var reset bool
		q, reset = w.q.Take(q)
		if reset {
			if !send(store.Event{Kind: store.EventReset}) {
				return
			}
			var err error
			if recs, rev, err = s.snapshot(w.prefix); err != nil {
				s.logger.Warn("boltstore: a watch ends: cannot read the records again after a reset",
					zapPath(s.path), zapError(err))
				return
			}
			if !sendSnapshot() {
				return
			}
		}
		for _, ev := range q {
			if ev.Record.Revision <= rev {
				continue
			}
			if !send(ev) {
				return
			}
		}
	}
}
