package boltstore

import (
	"context"
	"encoding/binary"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/store"
)

// Writes go through a group commit: a write that finds no transaction
// running becomes the leader and commits at once, in a transaction of
// its own; writes that arrive while a transaction runs queue up, and the
// next leader commits all of them in one transaction, with one fsync.
// A lone writer therefore waits for nothing but its own commit (db.Batch
// would wait up to its MaxBatchDelay for company), and concurrent
// writers share their commits. Each write's conditions are checked on
// its own: one that fails is answered with its error and the others
// commit.
//
// Only the leader touches the database for writing, and it publishes a
// transaction's events to the watchers before it hands over, so that
// watchers see the changes in revision order.

type opKind uint8

const (
	opPut opKind = iota + 1
	opDelete
	opSweep
)

// The states of an op: waiting in the queue, taken by a leader, or
// abandoned by its caller, whose context ended first.
const (
	opWaiting int32 = iota
	opTaken
	opAbandoned
)

// op is one write and, once done, its result.
type op struct {
	kind  opKind
	key   string
	value []byte
	put   store.PutOptions
	del   store.DeleteOptions
	mdLen int

	// Results, set by the leader.
	rev     uint64        // revision of the write; 0 when nothing was written
	expires int64         // expiry written (opPut)
	fence   uint64        // fence written (opPut)
	err     error         // the write's own error
	fatal   bool          // bbolt failed on this op: it is left out of the retries
	events  []store.Event // opSweep: the expiries
	next    int64         // opSweep: the earliest expiry left, 0 when none

	buf   []byte // the encoded record, which bbolt reads until the commit
	state atomic.Int32
	done  chan bool // true: lead the batch in batch
	batch []*op     // the batch handed over with done (the writer's array)
}

// maxPooledBuf is the largest record buffer an op keeps for reuse.
const maxPooledBuf = 64 << 10

var opPool = sync.Pool{New: func() any { return &op{done: make(chan bool, 1)} }}

func getOp(kind opKind) *op {
	o := opPool.Get().(*op)
	o.kind = kind
	o.state.Store(opWaiting)
	return o
}

// putOp returns o to the pool. An abandoned op is never returned: a
// leader may still hold it in its queue.
func putOp(o *op) {
	buf := o.buf[:0]
	if cap(buf) > maxPooledBuf {
		buf = nil
	}
	clear(o.events)
	events, done := o.events[:0], o.done
	*o = op{buf: buf, events: events, done: done} //nolint:govet // state is zero: no one else holds o
	opPool.Put(o)
}

// writer is the group commit's queue. Two arrays of ops take turns: the
// queue, and the batch that the leader commits; the writer owns both
// (an op only borrows the batch it is handed), and keeps the batch's in
// idle while no leader runs.
type writer struct {
	mu    sync.Mutex
	busy  bool  // a leader is running
	queue []*op // waiting for the next leader

	// The leader's own.
	idle []*op
	key  []byte
	ikey []byte

	// guarded says whether a record of the bucket may have a fence or an
	// expiry, as committed; txGuarded says the same in the transaction
	// that runs. While neither is set, a write that has no condition,
	// fence or expiry of its own writes without reading the key's old
	// record first: there is no fence to keep and no expiry to unindex.
	// The first write that sets a fence or an expiry records in the file,
	// in its own transaction, that the bucket is guarded from then on.
	guarded   bool
	txGuarded bool
}

// write runs o through the group commit and returns nil with o's result
// in o, or the context's error when ctx ended before a leader took o (o
// is then abandoned and must not be reused).
func (s *Store) write(ctx context.Context, o *op) error {
	w := &s.w
	w.mu.Lock()
	if !w.busy {
		w.busy = true
		w.mu.Unlock()
		o.state.Store(opTaken)
		s.lead(append(w.idle[:0], o))
		return nil
	}
	w.queue = append(w.queue, o)
	w.mu.Unlock()
	var lead bool
	select {
	case lead = <-o.done:
	case <-ctx.Done():
		if o.state.CompareAndSwap(opWaiting, opAbandoned) {
			return ctx.Err()
		}
		lead = <-o.done // a leader took o first: the write goes on
	}
	if lead {
		batch := o.batch
		o.batch = nil
		s.lead(batch)
	}
	return nil
}

// lead commits batch (all taken, batch[0] the caller's own op), answers
// the others, and hands the queue over to a new leader.
func (s *Store) lead(batch []*op) {
	s.commit(batch)
	for _, o := range batch[1:] {
		o.done <- false
	}
	clear(batch)
	w := &s.w
	for {
		w.mu.Lock()
		next := w.queue
		if len(next) == 0 {
			w.busy, w.idle = false, batch[:0]
			w.mu.Unlock()
			return
		}
		w.queue = batch[:0]
		w.mu.Unlock()
		taken := next[:0]
		for _, o := range next {
			if o.state.CompareAndSwap(opWaiting, opTaken) {
				taken = append(taken, o)
			}
		}
		clear(next[len(taken):])
		if len(taken) > 0 {
			taken[0].batch = taken
			taken[0].done <- true
			return
		}
		batch = next
	}
}

// commit runs batch in one transaction. An op whose bbolt call fails
// (not its conditions) is left out and the others run again; when the
// commit itself fails, every op gets an unavailable error and nothing is
// written.
func (s *Store) commit(batch []*op) {
	for {
		failed := false
		err := s.db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket(s.name)
			if b == nil {
				return errNoBucket
			}
			idx := index{tx: tx, name: s.idxName}
			s.w.txGuarded = s.w.guarded
			now := time.Now().UnixNano()
			for _, o := range batch {
				if o.fatal {
					continue
				}
				if err := s.apply(b, &idx, o, now); err != nil {
					o.fatal, o.err, failed = true, s.dbError(err), true
					return err
				}
			}
			return nil
		})
		if failed {
			continue
		}
		if err != nil {
			err = s.dbError(err)
			for _, o := range batch {
				if !o.fatal && o.err == nil {
					o.err, o.rev, o.events = err, 0, o.events[:0]
				}
			}
			return
		}
		s.w.guarded = s.w.txGuarded
		s.publish(batch)
		return
	}
}

var errNoBucket = errors.New("the store's bucket is missing")

// index is the expiry index of a write transaction, opened when a write
// first needs it: most writes have no expiry.
type index struct {
	tx   *bolt.Tx
	name []byte
	b    *bolt.Bucket
}

func (x *index) bucket() (*bolt.Bucket, error) {
	if x.b == nil {
		if x.b = x.tx.Bucket(x.name); x.b == nil {
			return nil, errNoBucket
		}
	}
	return x.b, nil
}

func (x *index) Put(key, value []byte) error {
	b, err := x.bucket()
	if err != nil {
		return err
	}
	return b.Put(key, value)
}

func (x *index) Delete(key []byte) error {
	b, err := x.bucket()
	if err != nil {
		return err
	}
	return b.Delete(key)
}

func (x *index) Cursor() (*bolt.Cursor, error) {
	b, err := x.bucket()
	if err != nil {
		return nil, err
	}
	return b.Cursor(), nil
}

// apply runs o in a write transaction. A failed condition is o's error
// and writes nothing; the error returned is bbolt's, after which the
// transaction must not commit.
func (s *Store) apply(b *bolt.Bucket, idx *index, o *op, now int64) error {
	o.rev, o.err = 0, nil
	switch o.kind {
	case opPut:
		return s.applyPut(b, idx, o, now)
	case opDelete:
		return s.applyDelete(b, idx, o, now)
	case opSweep:
		return s.applySweep(b, idx, o, now)
	}
	return nil
}

func (s *Store) applyPut(b *bolt.Bucket, idx *index, o *op, now int64) error {
	w := &s.w
	w.key = append(w.key[:0], o.key...)
	opts := &o.put
	var old header
	exists := false
	if w.txGuarded || opts.Create || opts.IfRevision != 0 {
		if data := b.Get(w.key); data != nil {
			h, _, _, err := decodeHeader(data)
			if err != nil {
				return s.corrupt(o.key, err)
			}
			old, exists = h, !h.expired(now)
		}
	}
	switch {
	case opts.Create && exists:
		o.err = store.ErrConflict.New(errs.P("key", o.key), errs.P("reason", "exists"))
		return nil
	case opts.IfRevision != 0 && (!exists || old.rev != opts.IfRevision):
		o.err = store.ErrConflict.New(errs.P("key", o.key), errs.P("reason", "revision"))
		return nil
	}
	fence := uint64(0)
	if exists {
		fence = old.fence
	}
	if opts.Fence != 0 {
		if fence > opts.Fence {
			o.err = store.ErrFenced.New(errs.P("key", o.key))
			return nil
		}
		fence = opts.Fence
	}
	if (opts.TTL > 0 || fence != 0) && !w.txGuarded {
		if err := s.markGuarded(idx.tx); err != nil {
			return err
		}
		w.txGuarded = true
	}
	rev, err := b.NextSequence()
	if err != nil {
		return err
	}
	var expires int64
	if opts.TTL > 0 {
		expires = now + int64(opts.TTL)
	}
	if old.expires != 0 && old.expires != expires {
		if err := idx.Delete(expiryKey(s.ikey(len(o.key)), old.expires, o.key)); err != nil {
			return err
		}
	}
	if expires != 0 && old.expires != expires {
		if err := idx.Put(expiryKey(s.ikey(len(o.key)), expires, o.key), empty); err != nil {
			return err
		}
	}
	n := headerLen + o.mdLen + len(o.value)
	if cap(o.buf) < n {
		o.buf = make([]byte, n)
	}
	o.buf = o.buf[:n]
	encodeRecord(o.buf, header{rev: rev, expires: expires, fence: fence}, opts.Metadata, o.mdLen, o.value)
	if err := b.Put(w.key, o.buf); err != nil {
		return err
	}
	o.rev, o.expires, o.fence = rev, expires, fence
	return nil
}

var empty = []byte{}

// markGuarded records in tx that the store's bucket holds, or may hold,
// records with a fence or an expiry.
func (s *Store) markGuarded(tx *bolt.Tx) error {
	meta := tx.Bucket(metaBucket)
	if meta == nil {
		return errNoBucket
	}
	return meta.Put(s.guardKey, guardedYes)
}

// ikey returns the leader's scratch buffer for an expiry-index key.
func (s *Store) ikey(keyLen int) []byte {
	w := &s.w
	if cap(w.ikey) < 8+keyLen {
		w.ikey = make([]byte, 8+store.MaxKeyLen)
	}
	return w.ikey[:8+keyLen]
}

func (s *Store) applyDelete(b *bolt.Bucket, idx *index, o *op, now int64) error {
	w := &s.w
	w.key = append(w.key[:0], o.key...)
	data := b.Get(w.key)
	var old header
	exists := false
	if data != nil {
		h, _, _, err := decodeHeader(data)
		if err != nil {
			return s.corrupt(o.key, err)
		}
		old, exists = h, !h.expired(now)
	}
	opts := &o.del
	if opts.IfRevision != 0 && (!exists || old.rev != opts.IfRevision) {
		o.err = store.ErrConflict.New(errs.P("key", o.key), errs.P("reason", "revision"))
		return nil
	}
	if opts.Fence != 0 && exists && old.fence > opts.Fence {
		o.err = store.ErrFenced.New(errs.P("key", o.key))
		return nil
	}
	if data == nil {
		return nil
	}
	return s.remove(b, idx, o.key, old.expires, &o.rev)
}

// remove deletes key (whose record expires at expires) from the bucket
// and the expiry index, and sets *rev to the revision of the delete.
func (s *Store) remove(b *bolt.Bucket, idx *index, key string, expires int64, rev *uint64) error {
	w := &s.w
	w.key = append(w.key[:0], key...)
	if err := b.Delete(w.key); err != nil {
		return err
	}
	if expires != 0 {
		if err := idx.Delete(expiryKey(s.ikey(len(key)), expires, key)); err != nil {
			return err
		}
	}
	r, err := b.NextSequence()
	if err != nil {
		return err
	}
	*rev = r
	return nil
}

// sweepLimit is the most records one sweep removes in a transaction.
const sweepLimit = 1000

// applySweep removes the records that have expired at now, up to
// sweepLimit of them, and records their deletes as events.
func (s *Store) applySweep(b *bolt.Bucket, idx *index, o *op, now int64) error {
	o.events, o.next = o.events[:0], 0
	type expired struct {
		key     string
		expires int64
	}
	var due []expired
	c, err := idx.Cursor()
	if err != nil {
		return err
	}
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		if len(k) < 8 {
			continue
		}
		exp := int64(binary.BigEndian.Uint64(k))
		if exp > now {
			o.next = exp
			break
		}
		if len(due) == sweepLimit {
			o.next = exp
			break
		}
		due = append(due, expired{string(k[8:]), exp})
	}
	for _, d := range due {
		var rev uint64
		w := &s.w
		w.key = append(w.key[:0], d.key...)
		data := b.Get(w.key)
		if data == nil {
			// An index entry without its record: drop it.
			if err := idx.Delete(expiryKey(s.ikey(len(d.key)), d.expires, d.key)); err != nil {
				return err
			}
			continue
		}
		if h, _, _, err := decodeHeader(data); err != nil || h.expires != d.expires {
			if err := idx.Delete(expiryKey(s.ikey(len(d.key)), d.expires, d.key)); err != nil {
				return err
			}
			continue
		}
		if err := s.remove(b, idx, d.key, d.expires, &rev); err != nil {
			return err
		}
		o.events = append(o.events, store.Event{Kind: store.EventDelete, Record: store.Record{Key: d.key, Revision: rev}})
		o.rev = rev
	}
	return nil
}
