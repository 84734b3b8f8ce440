package natsstore

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/wegomesh/wego/store"
)

const (
	// watchBuffer is the capacity of a watch's channel.
	watchBuffer = 64
	// watchQueue is how many changes a watch holds for its receiver,
	// beyond its channel, before the receiver counts as fallen behind
	// and gets an EventReset.
	watchQueue = 1024
	// minPause and maxPause bound the pause between two attempts to
	// start a watch's consumer again while NATS does not answer.
	minPause = 50 * time.Millisecond
	maxPause = 2 * time.Second
)

var (
	errBehind      = errors.New("the receiver fell behind")
	errReconnected = errors.New("reconnected")
	errRemade      = errors.New("the store made its bucket again")
)

// watch is one Watch: a feed of the bucket's stream, whose handler queues
// events, a goroutine that hands them to the receiver, and one that
// starts a new feed when the current one fails.
type watch struct {
	c      *conn
	ctx    context.Context
	prefix string
	out    chan store.Event
	wake   chan struct{} // the queue has events
	done   chan struct{} // closed when the watch ends
	reset1 chan struct{} // the deliverer handed an EventReset to the receiver
	gen    atomic.Uint64 // counts resets: the deliverer drops events it holds from before one

	mu       sync.Mutex
	queue    []store.Event
	changes  int                     // changes in queue
	feed     *feed                   // the current feed; the others' messages are dropped
	seen     uint64                  // the last stream sequence handled
	safe     time.Time               // every message after seen was stored after this time
	snap     bool                    // the feed is sending the current records
	current  map[string]store.Record // the current records received, while snap
	received uint64                  // messages of the current records received
	initial  uint64                  // messages of the current records, once known
	created  time.Time               // when the bucket's stream was made, as the last snapshot saw it
}

// Watch reports the changes of the keys that start with prefix: the
// current records, an [store.EventSynced], then every change in revision
// order, until ctx ends or the store closes. It fails at once, with an
// error matching [store.ErrUnavailable], when NATS does not answer.
//
// A receiver that lets more than about a thousand changes wait gets an
// [store.EventReset] and the current records instead of them. After a
// disconnection or a server restart the watch resumes after the last
// revision it handled, missing and repeating nothing, unless the bucket
// may no longer have all the changes since (it was away for more than
// the 15 minutes the bucket keeps delete markers, or the bucket was made
// again): then it sends an EventReset and the current records.
//
// The server filters the changes by the part of prefix up to its last
// dot; the store drops the rest. A prefix that ends with a dot ("orders.")
// costs nothing for the keys outside it; any other prefix has the changes
// of the whole bucket go through the watch.
func (s *Store) Watch(ctx context.Context, prefix string) (<-chan store.Event, error) {
	c, err := s.conn()
	if err != nil {
		return nil, err
	}
	w := &watch{c: c, ctx: ctx, prefix: prefix, out: make(chan store.Event, watchBuffer),
		wake: make(chan struct{}, 1), done: make(chan struct{}), reset1: make(chan struct{}, 1)}
	octx, cancel := withTimeout(ctx)
	if cancel != nil {
		defer cancel()
	}
	if err := w.start(octx, false); err != nil {
		return nil, c.fail("watch", prefix, err)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		w.stopFeed()
		return nil, store.ErrClosed.New()
	}
	s.wg.Add(2)
	s.mu.Unlock()
	go w.run()
	go w.deliver()
	return w.out, nil
}

// start starts a feed: from the revision after the last one handled
// when resume is true, else of the current records and the changes after
// them.
func (w *watch) start(ctx context.Context, resume bool) error {
	start := uint64(0)
	if resume {
		w.mu.Lock()
		start = w.seen + 1
		w.mu.Unlock()
	} else {
		info, err := w.c.js.Stream(ctx, w.c.stream)
		if err != nil {
			return err
		}
		created := info.CachedInfo().Created
		w.mu.Lock()
		w.created, w.seen, w.safe = created, 0, time.Now()
		w.mu.Unlock()
	}
	f, err := w.c.follow(ctx, w.prefix, start, false, feedFuncs{
		setup: func(f *feed) {
			w.mu.Lock()
			w.feed, w.snap, w.received, w.initial = f, !resume, 0, ^uint64(0)
			w.current = nil
			if !resume {
				w.current = map[string]store.Record{}
			}
			w.mu.Unlock()
		},
		msg:  w.handle,
		idle: w.idle,
	})
	if err != nil {
		w.mu.Lock()
		w.feed = nil
		w.mu.Unlock()
		return err
	}
	w.mu.Lock()
	if w.snap && w.feed == f {
		w.initial = f.pending
		if w.received >= w.initial {
			w.synced()
		}
	}
	w.mu.Unlock()
	return nil
}

// handle queues the event of one message of feed f.
func (w *watch) handle(f *feed, m *nats.Msg, d delivery) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.feed != f {
		return
	}
	w.seen = max(w.seen, d.sseq)
	if t := time.Unix(0, d.ts); t.After(w.safe) {
		w.safe = t
	}
	key, ok := w.c.keyOf(m.Subject, w.prefix)
	var now time.Time
	if w.snap {
		// The records are kept by key until the end of the current ones,
		// so that a change that comes before the end (the consumer
		// counts its messages only once it is made) replaces the record
		// instead of following it.
		w.received++
		if ok {
			r := raw{seq: d.sseq, hdr: m.Header, data: m.Data, tm: time.Unix(0, d.ts)}
			if rec, live := record(key, &r, &now); live {
				w.current[key] = rec
			} else {
				delete(w.current, key)
			}
		}
		if d.pending == 0 || w.received >= w.initial {
			w.synced()
		}
		return
	}
	if !ok {
		return
	}
	r := raw{seq: d.sseq, hdr: m.Header, data: m.Data, tm: time.Unix(0, d.ts)}
	if rec, live := record(key, &r, &now); live {
		w.push(store.Event{Kind: store.EventPut, Record: rec})
	} else {
		w.push(store.Event{Kind: store.EventDelete, Record: store.Record{Key: key, Revision: d.sseq}})
	}
	w.changes++
	if w.changes > watchQueue {
		f.fail(errBehind)
	}
}

// idle notes that feed f has delivered everything: every later message
// is stored after now.
func (w *watch) idle(f *feed) {
	now := time.Now()
	w.mu.Lock()
	if w.feed == f && !w.snap && now.After(w.safe) {
		w.safe = now
	}
	w.mu.Unlock()
}

// synced queues the current records, in key order, and an EventSynced.
// w.mu is held.
func (w *watch) synced() {
	for _, k := range slices.Sorted(maps.Keys(w.current)) {
		w.queue = append(w.queue, store.Event{Kind: store.EventPut, Record: w.current[k]})
	}
	w.snap, w.current = false, nil
	w.push(store.Event{Kind: store.EventSynced})
}

// push queues ev and wakes the deliverer. w.mu is held.
func (w *watch) push(ev store.Event) {
	w.queue = append(w.queue, ev)
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// reset drops the queued events and queues an EventReset, which the
// current records will follow.
func (w *watch) reset() {
	w.mu.Lock()
	w.gen.Add(1)
	clear(w.queue)
	w.queue = w.queue[:0]
	w.changes = 0
	select {
	case <-w.reset1: // an earlier reset's
	default:
	}
	w.push(store.Event{Kind: store.EventReset})
	w.mu.Unlock()
}

// stopFeed stops the current feed; its late messages are dropped.
func (w *watch) stopFeed() {
	w.mu.Lock()
	f := w.feed
	w.feed = nil
	w.mu.Unlock()
	if f != nil {
		f.stop()
	}
}

// run starts a new feed whenever the current one fails or the connection
// comes back, until the watch's context ends or the store closes.
func (w *watch) run() {
	s := w.c.s
	defer s.wg.Done()
	defer close(w.done)
	defer w.stopFeed()
	status := w.c.nc.StatusChanged(nats.CONNECTED)
	defer w.c.nc.RemoveStatusListener(status)
	var (
		retry    *time.Timer
		pause    = minPause
		resetDue bool // an EventReset is queued; the current records are to follow
		logged   bool
	)
	stopRetry := func() {
		if retry != nil {
			retry.Stop()
			retry = nil
		}
	}
	defer stopRetry()
	for {
		w.mu.Lock()
		f := w.feed
		w.mu.Unlock()
		var failed <-chan error
		if f != nil {
			failed = f.failed
		}
		var retryC <-chan time.Time
		if retry != nil {
			retryC = retry.C
		}
		remade := w.c.remadeC()
		var why error
		select {
		case <-w.ctx.Done():
			return
		case <-s.closing:
			return
		case why = <-failed:
		case <-status:
			why = errReconnected
		case <-remade:
			why = errRemade
		case <-retryC:
			retry = nil
		}
		w.mu.Lock()
		snapping := w.snap && w.feed != nil
		w.mu.Unlock()
		w.stopFeed()
		if why != nil && !errors.Is(why, errReconnected) && !errors.Is(why, errBehind) {
			s.logger.Debug("natsstore: a watch's consumer failed; starting another", zap.String("bucket", w.c.bucket),
				zap.String("prefix", w.prefix), zap.Error(why))
		}
		if !resetDue && (errors.Is(why, errBehind) || snapping) {
			w.reset()
			resetDue = true
		}
		err := w.restart(&resetDue)
		if err == nil {
			stopRetry()
			pause = minPause
			if logged {
				s.logger.Info("natsstore: a watch works again", zap.String("bucket", w.c.bucket), zap.String("prefix", w.prefix))
				logged = false
			}
			continue
		}
		if !logged && w.c.nc.IsConnected() {
			s.logger.Warn("natsstore: a watch cannot start its consumer; retrying", zap.String("bucket", w.c.bucket),
				zap.String("prefix", w.prefix), zap.Error(err))
			logged = true
		}
		stopRetry()
		retry = time.NewTimer(pause)
		pause = min(2*pause, maxPause)
	}
}

// restart starts the next feed: one that resumes after the last revision
// handled when nothing can have been missed, else, after an EventReset,
// one of the current records.
func (w *watch) restart(resetDue *bool) error {
	ctx, cancel := context.WithTimeout(w.ctx, defaultTimeout)
	defer cancel()
	if !*resetDue {
		ok, err := w.resumable(ctx)
		if err != nil {
			return err
		}
		if ok {
			return w.start(ctx, true)
		}
		w.reset()
		*resetDue = true
	}
	if !w.resetDelivered() {
		return nil // the watch ends
	}
	if err := w.start(ctx, false); err != nil {
		return err
	}
	*resetDue = false
	return nil
}

// resetDelivered waits until the receiver has the EventReset that reset
// queued, so that a receiver that does not read costs no snapshot until it
// does, and reports false when the watch ends first.
func (w *watch) resetDelivered() bool {
	select {
	case <-w.reset1:
		w.reset1 <- struct{}{} // for the next attempt, if this one fails
		return true
	case <-w.ctx.Done():
	case <-w.c.s.closing:
	}
	return false
}

// resumable reports whether a feed that starts after the last revision
// handled misses nothing: the bucket is the same, and no delete marker
// written since then can have expired.
func (w *watch) resumable(ctx context.Context) (bool, error) {
	s, err := w.c.js.Stream(ctx, w.c.stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	info := s.CachedInfo()
	w.mu.Lock()
	defer w.mu.Unlock()
	return info.Created.Equal(w.created) && info.State.LastSeq >= w.seen &&
		time.Since(w.safe) < w.c.markers-resumeSlack, nil
}

// deliver hands the queued events to the receiver until the watch ends,
// then closes the receiver's channel.
func (w *watch) deliver() {
	defer w.c.s.wg.Done()
	defer close(w.out)
	var batch []store.Event
	for {
		select {
		case <-w.wake:
		case <-w.done:
			return
		}
		w.mu.Lock()
		gen := w.gen.Load()
		batch, w.queue = w.queue, batch[:0]
		w.changes = 0
		w.mu.Unlock()
		for i, ev := range batch {
			if w.gen.Load() != gen {
				break
			}
			select {
			case w.out <- ev:
			case <-w.done:
				return
			}
			if ev.Kind == store.EventReset {
				select {
				case w.reset1 <- struct{}{}:
				default:
				}
			}
			batch[i] = store.Event{}
		}
		clear(batch)
	}
}
