package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
	"go.uber.org/zap"

	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/store"
)

// Options configure a Store. The zero value is the defaults.
type Options struct {
	// Bucket is the bbolt bucket that holds the records: 1 to 64 ASCII
	// letters, digits, - and _. Default "wego". One file can hold the
	// buckets of several stores, opened one at a time.
	Bucket string
	// LockTimeout is how long Open waits for another process to release
	// the file before it fails. Default 1 s; negative: do not wait.
	LockTimeout time.Duration
	// NoSync skips the fsync of each commit: a write then survives the
	// process but not a crash of the machine (Features.Durability is
	// [store.DurabilityOS] instead of [store.DurabilitySynced]). Off by
	// default.
	NoSync bool
	// MaxValue is the largest value in bytes that Put accepts. Default
	// 1 MiB; at most 256 MiB. bbolt writes a whole value in the
	// transaction that changes it, and keeps large values on pages of
	// their own: keep values small.
	MaxValue int
	// WatchBuffer is how many events a watch's receiver may fall behind
	// before it gets a [store.EventReset] instead of the events. Default
	// 1024.
	WatchBuffer int
	// NoCheck skips the consistency check of the whole file that Open
	// makes (bbolt's Tx.Check), which reads every page: use it for large
	// files whose start-up time matters more than finding damage early.
	// Open still checks the file's header pages and size.
	NoCheck bool
	// Mode is the permission of a file that Open creates. Default 0600.
	Mode os.FileMode
	// Logger receives the sweeper's and the watches' errors. Default: none.
	Logger *zap.Logger
}

// Limits of the options.
const (
	defaultMaxValue    = 1 << 20
	maxMaxValue        = 256 << 20
	defaultWatchBuffer = 1024
	defaultLockTimeout = time.Second
)

// schemaVersion is the version of the layout of a file that this
// package writes and reads. A file with a larger version was written by
// a newer WeGO.
//
// Version 2 added the guard marks (see guardPrefix). A version 1 file is
// upgraded at Open: its marks, if any, are dropped, since a build that
// reads version 1 only writes fences and expiries without setting them,
// and the file becomes version 2, which such a build refuses to open.
const (
	schemaVersion   = 2
	unguardedSchema = 1 // the version before guard marks, the oldest this package reads
)

// The file's own bucket, and the key of the schema version in it. Its
// name starts with a dot, which no store's bucket has.
var (
	metaBucket = []byte(".wego")
	schemaKey  = []byte("schema")
)

// The file's own bucket also says, for each store's bucket, whether its
// records may have fences or expiries (the key guardPrefix + the
// bucket's name; a file that a version without the key wrote is
// scanned once, at Open).
const guardPrefix = "guarded/"

var (
	guardedYes = []byte{1}
	guardedNo  = []byte{0}
)

// Store is a [store.Store] on a bbolt file. Open it with [Open], or
// choose it with store.kind "bbolt".
//
// Each write is one bbolt transaction, fsynced before it returns
// (unless [Options.NoSync]); concurrent writes share transactions (a
// group commit), so that their throughput grows with their number. The
// store's revision is the bucket's sequence. Reads are bbolt read
// transactions, which do not wait for writes to commit.
type Store struct {
	db       *bolt.DB
	path     string
	name     []byte // the records' bucket
	idxName  []byte // the expiry index: big-endian expiry + key
	guardKey []byte // the key in metaBucket that says the bucket is guarded
	opts     Options
	features store.Features
	logger   *zap.Logger

	w   writer
	hub hub

	mu        sync.Mutex // orders Watch's and the sweeper's wg.Add before Close's wg.Wait
	closed    atomic.Bool
	done      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error

	checksum byte // of Open's reads, which the compiler must not drop

	poke      chan struct{} // wakes the sweeper
	nextSweep atomic.Int64  // the sweeper's next run (Unix ns); 0 while it sweeps
}

// Features implements [store.Store]: watches, expiry, read-your-writes,
// and fsynced writes unless [Options.NoSync].
func (s *Store) Features() store.Features { return s.features }

// Path returns the file of the store.
func (s *Store) Path() string { return s.path }

// Get implements [store.Store.Get].
func (s *Store) Get(ctx context.Context, key string) (store.Record, error) {
	if err := ctx.Err(); err != nil {
		return store.Record{}, err
	}
	if key != "" && key[0] == '_' && !store.ReservedKey(ctx, key) {
		return store.Record{}, store.CheckKey(key) // WeGO's own records, under store.WithReservedKeys only
	}
	// The key is checked on a miss only: a key that is found was valid
	// when it was written.
	var (
		rec   store.Record
		h     header
		found bool
		derr  error
	)
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(s.name)
		if b == nil {
			return errNoBucket
		}
		data := b.Get([]byte(key))
		if data == nil {
			return nil
		}
		found = true
		h, derr = decodeRecord(&rec, key, data)
		return nil
	})
	switch {
	case err != nil:
		return store.Record{}, s.dbError(err)
	case derr != nil:
		return store.Record{}, s.corrupt(key, derr)
	case !found || h.expires != 0 && h.expired(time.Now().UnixNano()):
		if err := store.CheckKeyContext(ctx, key); err != nil {
			return store.Record{}, err
		}
		return store.Record{}, store.ErrNotFound.New(errs.P("key", key))
	}
	return rec, nil
}

// List implements [store.Store.List].
func (s *Store) List(ctx context.Context, prefix string, opts store.ListOptions) ([]store.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := store.CheckList(opts); err != nil {
		return nil, err
	}
	var recs []store.Record
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(s.name)
		if b == nil {
			return errNoBucket
		}
		var err error
		recs, err = s.scan(b, prefix, opts, time.Now().UnixNano(), nil)
		return err
	})
	if err != nil {
		return nil, s.dbError(err)
	}
	return recs, nil
}

// Keys implements [store.Store.Keys].
func (s *Store) Keys(ctx context.Context, prefix string, opts store.ListOptions) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := store.CheckList(opts); err != nil {
		return nil, err
	}
	var keys []string
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(s.name)
		if b == nil {
			return errNoBucket
		}
		now := time.Now().UnixNano()
		return walk(b, prefix, opts, func(k, v []byte) (bool, error) {
			h, _, _, err := decodeHeader(v)
			if err != nil {
				return false, s.corrupt(string(k), err)
			}
			if h.expired(now) {
				return false, nil
			}
			keys = append(keys, string(k))
			return true, nil
		})
	})
	if err != nil {
		return nil, s.dbError(err)
	}
	return keys, nil
}

// scan appends to dst the live records under prefix, as opts says.
func (s *Store) scan(b *bolt.Bucket, prefix string, opts store.ListOptions, now int64, dst []store.Record) ([]store.Record, error) {
	err := walk(b, prefix, opts, func(k, v []byte) (bool, error) {
		h, _, _, err := decodeHeader(v)
		if err != nil {
			return false, s.corrupt(string(k), err)
		}
		if h.expired(now) {
			return false, nil
		}
		var r store.Record
		if _, err := decodeRecord(&r, string(k), v); err != nil {
			return false, s.corrupt(string(k), err)
		}
		dst = append(dst, r)
		return true, nil
	})
	return dst, err
}

// walk calls fn with the keys under prefix in the order and from the
// place opts say, until fn has counted opts.Limit of them (fn returns
// whether it counted one) or returns an error.
func walk(b *bolt.Bucket, prefix string, opts store.ListOptions, fn func(k, v []byte) (bool, error)) error {
	pre := []byte(prefix)
	after := []byte(opts.After)
	c := b.Cursor()
	var k, v []byte
	if !opts.Reverse {
		start := pre
		if len(after) > 0 && bytes.Compare(after, pre) >= 0 {
			start = after
		}
		k, v = c.Seek(start)
		if len(after) > 0 && bytes.Equal(k, after) {
			k, v = c.Next()
		}
	} else {
		// Keys are ASCII, so every key under prefix sorts before
		// prefix+0xff.
		end := append(append(make([]byte, 0, len(pre)+1), pre...), 0xff)
		if len(after) > 0 && bytes.Compare(after, end) < 0 {
			end = after
		}
		if k, v = c.Seek(end); k == nil {
			k, v = c.Last()
		}
		for k != nil && bytes.Compare(k, end) >= 0 {
			k, v = c.Prev()
		}
	}
	n := 0
	for ; k != nil && bytes.HasPrefix(k, pre); k, v = next(c, opts.Reverse) {
		if v == nil || len(pre) == 0 && k[0] == '_' { // a nested bucket (never written by a Store), or a reserved key outside a reserved prefix
			continue
		}
		counted, err := fn(k, v)
		if err != nil {
			return err
		}
		if counted {
			if n++; opts.Limit > 0 && n >= opts.Limit {
				return nil
			}
		}
	}
	return nil
}

func next(c *bolt.Cursor, reverse bool) ([]byte, []byte) {
	if reverse {
		return c.Prev()
	}
	return c.Next()
}

// Put implements [store.Store.Put].
func (s *Store) Put(ctx context.Context, key string, value []byte, opts store.PutOptions) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := store.CheckPutContext(ctx, key, value, opts, s.opts.MaxValue); err != nil {
		return 0, err
	}
	mdLen := 0
	if len(opts.Metadata) > 0 {
		if mdLen = metadataLen(opts.Metadata); mdLen > maxMetadata {
			return 0, invalid("metadata", fmt.Sprintf("is %d bytes encoded, more than the limit of %d", mdLen, maxMetadata))
		}
	}
	if s.closed.Load() {
		return 0, store.ErrClosed.New()
	}
	o := getOp(opPut)
	o.key, o.value, o.put, o.mdLen = key, value, opts, mdLen
	if err := s.write(ctx, o); err != nil {
		return 0, err
	}
	rev, expires, err := o.rev, o.expires, o.err
	putOp(o)
	if err == nil && expires != 0 {
		if n := s.nextSweep.Load(); n == 0 || expires < n {
			s.wakeSweeper()
		}
	}
	return rev, err
}

// Delete implements [store.Store.Delete].
func (s *Store) Delete(ctx context.Context, key string, opts store.DeleteOptions) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := store.CheckKeyContext(ctx, key); err != nil {
		return err
	}
	if s.closed.Load() {
		return store.ErrClosed.New()
	}
	o := getOp(opDelete)
	o.key, o.del = key, opts
	if err := s.write(ctx, o); err != nil {
		return err
	}
	err := o.err
	putOp(o)
	return err
}

// Close stops the sweeper and the watches (their channels close) and
// closes the file, after the transactions in progress. Later calls of
// the Store's methods fail with [store.ErrClosed]; Close is idempotent.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed.Store(true)
		s.mu.Unlock()
		close(s.done)
		s.wg.Wait()
		if err := s.db.Close(); err != nil {
			s.closeErr = fmt.Errorf("boltstore: close %s: %w", s.path, err)
		}
	})
	return s.closeErr
}

func invalid(field, reason string) error {
	return store.ErrInvalid.New(errs.P("field", field), errs.P("reason", reason))
}

// dbError converts an error of bbolt into an error of package store.
func (s *Store) dbError(err error) error {
	if _, ok := errs.As(err); ok {
		return err
	}
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return store.ErrClosed.Wrap(err)
	}
	return store.ErrUnavailable.Wrap(fmt.Errorf("boltstore: %s: %w", s.path, err))
}

// corrupt is the error of a stored record that cannot be decoded.
func (s *Store) corrupt(key string, err error) error {
	return store.ErrUnavailable.Wrap(fmt.Errorf("boltstore: %s: record %q of bucket %s: %w", s.path, key, s.name, err))
}

// sweeper removes expired records, each at its expiry: it sleeps until
// the earliest expiry in the index (or a minute), and a Put with an
// earlier expiry wakes it.
func (s *Store) sweeper() {
	defer s.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		s.nextSweep.Store(0)
		next, err := s.sweep()
		wait := time.Minute
		if err != nil {
			if s.closed.Load() {
				return
			}
			s.logger.Warn("boltstore: cannot remove expired records; trying again in a second", zapPath(s.path), zapError(err))
			wait = time.Second
		} else if next != 0 {
			wait = min(wait, max(time.Until(time.Unix(0, next)), 0))
		}
		if next == 0 || err != nil {
			next = math.MaxInt64
		}
		s.nextSweep.Store(next)
		timer.Reset(wait)
		select {
		case <-timer.C:
		case <-s.poke:
		case <-s.done:
			return
		}
	}
}

func (s *Store) wakeSweeper() {
	select {
	case s.poke <- struct{}{}:
	default:
	}
}

// sweep removes the records that have expired, and returns the earliest
// expiry left (0: none). It writes only when a record has expired.
func (s *Store) sweep() (int64, error) {
	for {
		var first int64
		err := s.db.View(func(tx *bolt.Tx) error {
			idx := tx.Bucket(s.idxName)
			if idx == nil {
				return errNoBucket
			}
			if k, _ := idx.Cursor().First(); len(k) >= 8 {
				first = int64(binary.BigEndian.Uint64(k))
			}
			return nil
		})
		if err != nil {
			return 0, s.dbError(err)
		}
		if first == 0 || first > time.Now().UnixNano() {
			return first, nil
		}
		o := getOp(opSweep)
		_ = s.write(context.Background(), o) // never abandoned: no deadline
		err = o.err
		putOp(o)
		if err != nil {
			return 0, err
		}
	}
}

func zapPath(path string) zap.Field { return zap.String("path", path) }
func zapError(err error) zap.Field  { return zap.Error(err) }

var _ store.Store = (*Store)(nil)
