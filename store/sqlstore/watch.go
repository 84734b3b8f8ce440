package sqlstore

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/wegomesh/wego/store"
)

// Watches read the store's history, the table wego_store_changes, in
// revision order. One hub per Store reads it for all its watches, from
// the revision it has reached, when woken: by a notification of
// PostgreSQL (LISTEN, on a connection of its own), by a write of this
// Store (SQLite), and every PollInterval. Revisions commit in order (see
// Store), so that a change the hub has not read yet can only have a
// larger revision than those it has read: resuming from a revision
// misses nothing, as long as the history still holds it. When it no
// longer does (the store's history is trimmed after Options.History), the
// watches that had not read that far get an EventReset and the current
// records.

const (
	// watchBuffer is the capacity of a watch's channel.
	watchBuffer = 64
	// watchQueue is how many changes a watch holds for its receiver,
	// beyond its channel, before the receiver counts as fallen behind
	// and gets an EventReset.
	watchQueue = 1024
	// fetchBatch is how many changes the hub reads per query.
	fetchBatch = 512
)

// The states of a watcher.
const (
	wSnapshot = iota // waiting for the hub's snapshot: changes are not queued
	wLive            // changes are queued
	wBehind          // the queue overflowed: a reset is due
)

type hub struct {
	s         *Store
	wake      chan struct{}
	listening atomic.Bool

	mu       sync.Mutex
	watchers map[*watcher]struct{}
	pending  []snapshotRequest

	// The revision up to which the hub has read the history; the hub's
	// goroutine's only.
	last int64
}

// snapshotRequest asks the hub for the current records of a watcher,
// for its start (done receives the outcome) or after a reset (done nil).
type snapshotRequest struct {
	w    *watcher
	done chan error
}

type watcher struct {
	h      *hub
	prefix string
	ctx    context.Context
	out    chan store.Event
	wake   chan struct{}

	mu    sync.Mutex
	state int
	from  int64 // the revision of the watcher's snapshot: it gets later changes only
	queue []store.Event
}

// Watch reports the changes under prefix until ctx ends or the store
// closes. The first events are the current records and an EventSynced,
// read in one snapshot of the database. A receiver that lets more than
// about a thousand changes wait gets an [store.EventReset] and the
// current records instead of them.
func (s *Store) Watch(ctx context.Context, prefix string) (<-chan store.Event, error) {
	if err := s.ready(); err != nil {
		return nil, err
	}
	h := s.startHub()
	w := &watcher{h: h, prefix: prefix, ctx: ctx, out: make(chan store.Event, watchBuffer), wake: make(chan struct{}, 1)}
	done := make(chan error, 1)
	h.mu.Lock()
	h.watchers[w] = struct{}{}
	h.pending = append(h.pending, snapshotRequest{w: w, done: done})
	h.mu.Unlock()
	h.kick()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		err = s.dbError(ctx.Err())
	case <-s.bg.Done():
		err = store.ErrClosed.New()
	}
	if err != nil {
		h.remove(w)
		return nil, err
	}
	s.wg.Add(1)
	go w.pump()
	return w.out, nil
}

// startHub returns the store's hub, starting it on the first watch.
func (s *Store) startHub() *hub {
	if h := s.hub.Load(); h != nil {
		return h
	}
	s.hubMu.Lock()
	defer s.hubMu.Unlock()
	if h := s.hub.Load(); h != nil {
		return h
	}
	h := &hub{s: s, wake: make(chan struct{}, 1), watchers: make(map[*watcher]struct{})}
	s.hub.Store(h)
	s.wg.Add(1)
	go h.run()
	if s.dialect == Postgres {
		s.wg.Add(1)
		go h.listen()
	}
	return h
}

// kick wakes the hub.
func (h *hub) kick() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

func (h *hub) remove(w *watcher) {
	h.mu.Lock()
	delete(h.watchers, w)
	h.mu.Unlock()
}

// run reads the history for the watches until the store closes.
func (h *hub) run() {
	defer h.s.wg.Done()
	tick := time.NewTicker(h.s.opts.PollInterval)
	defer tick.Stop()
	var logged time.Time
	for {
		select {
		case <-h.s.bg.Done():
			return
		case <-h.wake:
		case <-tick.C:
		}
		if err := h.cycle(); err != nil && h.s.bg.Err() == nil && time.Since(logged) > 10*time.Second {
			logged = time.Now()
			h.s.log.Warn("sqlstore: watches cannot read the store's changes; retrying", zap.Error(err))
		}
	}
}

// cycle takes the snapshots that watchers wait for, then reads the
// changes since the last cycle and queues them for the watchers.
func (h *hub) cycle() error {
	ctx, cancel := context.WithTimeout(h.s.bg, 30*time.Second)
	defer cancel()
	h.mu.Lock()
	reqs := h.pending
	h.pending = nil
	h.mu.Unlock()
	for i, req := range reqs {
		err := h.snapshot(ctx, req.w)
		if req.done != nil {
			req.done <- err
			continue
		}
		if err != nil {
			h.mu.Lock()
			h.pending = append(reqs[i:], h.pending...)
			h.mu.Unlock()
			return err
		}
	}
	if !h.anyLive() {
		return nil
	}
	return h.catchUp(ctx)
}

// anyLive reports whether a watcher waits for changes.
func (h *hub) anyLive() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for w := range h.watchers {
		w.mu.Lock()
		live := w.state == wLive
		w.mu.Unlock()
		if live {
			return true
		}
	}
	return false
}

// snapshot reads the current records of w's prefix, and the revision
// they are at, in one read transaction, and queues them for w.
func (h *hub) snapshot(ctx context.Context, w *watcher) error {
	s := h.s
	lo, hi, ok := prefixRange(w.prefix)
	var at, trimmed int64
	var recs []store.Record
	err := s.x.tx(ctx, true, func(q querier) error {
		if err := q.queryRow(ctx, s.q.horizon).Scan(&at, &trimmed); err != nil {
			return err
		}
		if !ok {
			return nil
		}
		rs, err := q.query(ctx, s.q.snapshot[0], lo, hi)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			sc := &scanned{}
			if err := rs.Scan(&sc.key, &sc.value, &sc.metadata, &sc.revision, &sc.expires, &sc.fence); err != nil {
				return err
			}
			r, err := sc.record()
			if err != nil {
				return err
			}
			recs = append(recs, r)
		}
		return rs.Err()
	})
	if err != nil {
		return s.dbError(err)
	}
	if !h.anyLive() {
		h.last = at // nobody reads from the previous position
	}
	h.mu.Lock()
	_, watching := h.watchers[w]
	h.mu.Unlock()
	if !watching {
		return nil
	}
	w.mu.Lock()
	w.from = at
	w.queue = w.queue[:0]
	for _, r := range recs {
		w.queue = append(w.queue, store.Event{Kind: store.EventPut, Record: r})
	}
	w.queue = append(w.queue, store.Event{Kind: store.EventSynced})
	w.state = wLive
	w.mu.Unlock()
	w.poke()
	return nil
}

// catchUp reads the changes after h.last and queues them for the
// watchers of their keys; then, if the history has been trimmed past a
// watcher's position meanwhile, resets that watcher.
//
// The hub's position is the store's revision counter as it read it
// first: every write up to that revision has committed (they commit in
// revision order), including the conditional writes that failed, which
// took a revision and left no change.
func (h *hub) catchUp(ctx context.Context) error {
	s := h.s
	before := h.last
	var upTo, trimmed int64
	if err := s.x.queryRow(ctx, s.q.horizon).Scan(&upTo, &trimmed); err != nil {
		return err
	}
	for pos := before; pos < upTo; {
		rs, err := s.x.query(ctx, s.q.changes, pos, upTo, int64(fetchBatch))
		if err != nil {
			return err
		}
		var evs []store.Event
		for rs.Next() {
			sc := &scanned{}
			var deleted bool
			if s.dialect == SQLite {
				var d int64
				err = rs.Scan(&sc.revision, &sc.key, &d, &sc.value, &sc.metadata, &sc.expires, &sc.fence)
				deleted = d != 0
			} else {
				err = rs.Scan(&sc.revision, &sc.key, &deleted, &sc.value, &sc.metadata, &sc.expires, &sc.fence)
			}
			if err != nil {
				break
			}
			if deleted {
				evs = append(evs, store.Event{Kind: store.EventDelete, Record: store.Record{Key: sc.key, Revision: uint64(sc.revision)}})
				continue
			}
			var r store.Record
			if r, err = sc.record(); err != nil {
				break
			}
			evs = append(evs, store.Event{Kind: store.EventPut, Record: r})
		}
		if err == nil {
			err = rs.Err()
		}
		rs.Close()
		if err != nil {
			return err
		}
		// Changes after pos trimmed before the query read them leave a
		// gap in evs: the watchers behind the trim get their reset before
		// any of evs, which deliver gives only to live watchers.
		if err := s.x.queryRow(ctx, s.q.horizon).Scan(new(int64), &trimmed); err != nil {
			return err
		}
		if trimmed > pos {
			h.resetBehind(pos, trimmed)
		}
		h.deliver(evs)
		if len(evs) < fetchBatch {
			break
		}
		pos = int64(evs[len(evs)-1].Record.Revision)
	}
	if err := s.x.queryRow(ctx, s.q.horizon).Scan(new(int64), &trimmed); err != nil {
		return err
	}
	h.last = upTo
	if trimmed > before {
		// Changes after a watcher's position may have been trimmed
		// before the hub read them.
		h.resetBehind(before, trimmed)
	}
	return nil
}

// resetBehind sends the live watchers whose position is before trimmed,
// the history's horizon, to the reset path: they may have missed changes
// after pos, the hub's position, that were trimmed before the hub read
// them.
func (h *hub) resetBehind(pos, trimmed int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for w := range h.watchers {
		w.mu.Lock()
		if w.state == wLive && max(pos, w.from) < trimmed {
			w.state, w.queue = wBehind, nil
		}
		w.mu.Unlock()
		w.poke()
	}
}

// deliver queues evs, in revision order, for the live watchers of their
// keys.
func (h *hub) deliver(evs []store.Event) {
	if len(evs) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for w := range h.watchers {
		queued := false
		w.mu.Lock()
		for _, ev := range evs {
			if w.state != wLive {
				break
			}
			if int64(ev.Record.Revision) <= w.from || !store.Under(ev.Record.Key, w.prefix) {
				continue
			}
			if len(w.queue) >= watchQueue {
				w.state, w.queue = wBehind, nil
			} else {
				w.queue = append(w.queue, ev)
			}
			queued = true
		}
		w.mu.Unlock()
		if queued {
			w.poke()
		}
	}
}

// listen keeps a PostgreSQL connection listening for the store's
// changes, and reconnects when it is lost, until the store closes. Once
// it listens again, the hub reads what it missed.
func (h *hub) listen() {
	s := h.s
	defer s.wg.Done()
	backoff := 100 * time.Millisecond
	var logged time.Time
	for {
		err := s.x.listen(s.bg, s.channel, func() {
			h.listening.Store(true)
			backoff = 100 * time.Millisecond
			h.kick()
		}, func(payload string) {
			if payload == s.name {
				h.kick()
			}
		})
		h.listening.Store(false)
		if s.bg.Err() != nil {
			return
		}
		if errors.Is(err, errNoListen) {
			return // the hub polls
		}
		if time.Since(logged) > 10*time.Second {
			logged = time.Now()
			s.log.Warn("sqlstore: the connection that listens for changes is lost; reconnecting", zap.Error(err))
		}
		h.kick() // poll meanwhile
		select {
		case <-s.bg.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// poke wakes w's goroutine.
func (w *watcher) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// pump hands w's queued events to its channel, and resets w when it has
// fallen behind, until its context ends or the store closes.
func (w *watcher) pump() {
	s := w.h.s
	defer s.wg.Done()
	defer close(w.out)
	defer w.h.remove(w)
	var batch []store.Event
	for {
		select {
		case <-w.wake:
		case <-w.ctx.Done():
			return
		case <-s.bg.Done():
			return
		}
		for {
			w.mu.Lock()
			if w.state == wBehind {
				w.state, w.queue = wSnapshot, nil
				w.mu.Unlock()
				if !w.send(store.Event{Kind: store.EventReset}) {
					return
				}
				w.h.mu.Lock()
				w.h.pending = append(w.h.pending, snapshotRequest{w: w})
				w.h.mu.Unlock()
				w.h.kick()
				break
			}
			batch, w.queue = w.queue, batch[:0]
			w.mu.Unlock()
			if len(batch) == 0 {
				break
			}
			for i := range batch {
				if !w.send(batch[i]) {
					return
				}
				batch[i] = store.Event{}
			}
		}
	}
}

// send hands ev to the receiver, and reports false when the watch ends
// first.
func (w *watcher) send(ev store.Event) bool {
	select {
	case w.out <- ev:
		return true
	case <-w.ctx.Done():
		return false
	case <-w.h.s.bg.Done():
		return false
	}
}
