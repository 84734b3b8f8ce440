package boltstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
	"go.uber.org/zap"

	"github.com/wegomesh/wego/config"
	"github.com/wegomesh/wego/store"
)

// The kind "bbolt" of store.kind: a file on this host, at store.path,
// with the records in the bucket store.name. Its errors about the section
// have keys relative to it, as the Factory's contract says ("path"; the
// application puts them under "store").
func init() {
	store.RegisterKind("bbolt", func(cfg store.Config, _ any, logger *zap.Logger) (store.Store, error) {
		if cfg.Path == "" {
			return nil, config.Errorf("path", "store.kind bbolt needs the path of its file, such as data/wego.db")
		}
		s, err := Open(cfg.Path, Options{Bucket: cfg.Name, Logger: logger})
		if err != nil {
			return nil, err
		}
		return s, nil
	})
}

// Open opens the bbolt file at path, creating it and its directory when
// they do not exist, and returns the store of the bucket opts.Bucket in
// it, creating the bucket when it does not exist.
//
// Only one process at a time can open a file: Open waits up to
// opts.LockTimeout for another one to close it, then fails with an error
// that says so. Open also fails, with an error that names the file, when
// the file is not a bbolt file, is damaged or cut short, or was written
// by a newer version of this package; it never panics on such a file.
//
// Close the Store to release the file.
func Open(path string, opts Options) (*Store, error) {
	if err := opts.fill(); err != nil {
		return nil, err
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("boltstore: create the directory of %s: %w", path, err)
		}
	}
	timeout := opts.LockTimeout
	if timeout < 0 {
		timeout = time.Nanosecond // one try
	}
	db, file, err := openFile(path, &bolt.Options{
		Timeout:      timeout,
		NoSync:       opts.NoSync,
		FreelistType: bolt.FreelistMapType,
	}, opts.Mode)
	if err != nil {
		return nil, err
	}
	s := &Store{
		db:       db,
		path:     path,
		name:     []byte(opts.Bucket),
		idxName:  []byte(opts.Bucket + ".expiry"),
		guardKey: []byte(guardPrefix + opts.Bucket),
		opts:     opts,
		logger:   opts.Logger,
		done:     make(chan struct{}),
		poke:     make(chan struct{}, 1),
		features: store.Features{
			Watch:          true,
			TTL:            true,
			Durability:     store.DurabilitySynced,
			ReadYourWrites: true,
			MaxValue:       opts.MaxValue,
		},
	}
	if opts.NoSync {
		s.features.Durability = store.DurabilityOS
	}
	if err := guard(path, func() error { return s.prepare() }); err != nil {
		closeQuietly(db, file)
		return nil, err
	}
	s.wg.Add(1)
	go s.sweeper()
	return s, nil
}

// fill checks the options and sets their defaults.
func (o *Options) fill() error {
	if o.Bucket == "" {
		o.Bucket = "wego"
	}
	if !validBucket(o.Bucket) {
		return invalid("bucket", fmt.Sprintf("%q is not valid: use 1 to 64 letters, digits, - and _", o.Bucket))
	}
	switch {
	case o.MaxValue == 0:
		o.MaxValue = defaultMaxValue
	case o.MaxValue < 0 || o.MaxValue > maxMaxValue:
		return invalid("max_value", fmt.Sprintf("must be from 1 to %d, got %d", maxMaxValue, o.MaxValue))
	}
	switch {
	case o.WatchBuffer == 0:
		o.WatchBuffer = defaultWatchBuffer
	case o.WatchBuffer < 0:
		return invalid("watch_buffer", fmt.Sprintf("must not be negative, got %d", o.WatchBuffer))
	}
	if o.LockTimeout == 0 {
		o.LockTimeout = defaultLockTimeout
	}
	if o.Mode == 0 {
		o.Mode = 0o600
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	return nil
}

func validBucket(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// openFile opens the database, turning bbolt's errors (and panics) about
// a file that is not a database into errors that name the file.
func openFile(path string, bo *bolt.Options, mode os.FileMode) (*bolt.DB, *os.File, error) {
	var (
		db   *bolt.DB
		file *os.File
	)
	bo.OpenFile = func(name string, flag int, perm os.FileMode) (*os.File, error) {
		f, err := os.OpenFile(name, flag, perm)
		file = f
		return f, err
	}
	err := guard(path, func() error {
		var err error
		db, err = bolt.Open(path, mode, bo)
		return err
	})
	if err != nil && db == nil && file != nil {
		// bbolt panicked before it could close the file and release its
		// lock, which its memory map keeps: release both here.
		unlock(file)
		_ = file.Close()
	}
	switch {
	case err == nil:
		return db, file, nil
	case errors.Is(err, berrors.ErrTimeout):
		return nil, nil, fmt.Errorf("boltstore: open %s: another process holds the file (waited %v): stop it, or give this one another store.path: %w", path, bo.Timeout, err)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum),
		errors.Is(err, berrors.ErrVersionMismatch), strings.Contains(err.Error(), "file size too small"):
		return nil, nil, fmt.Errorf("boltstore: open %s: the file is not a bbolt database, or it is damaged: %w", path, err)
	}
	if strings.HasPrefix(err.Error(), "boltstore:") {
		return nil, nil, err
	}
	return nil, nil, fmt.Errorf("boltstore: open %s: %w", path, err)
}

// guard runs fn and turns a panic, including a fault on the file's
// memory map, into an error that names the file: bbolt panics on some
// damaged pages.
func guard(path string, fn func() error) (err error) {
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		if p := recover(); p != nil {
			err = fmt.Errorf("boltstore: open %s: the file is damaged: %v", path, p)
		}
	}()
	return fn()
}

// prepare checks the opened file and creates the store's buckets.
func (s *Store) prepare() error {
	// A file cut short still has valid header pages, and bbolt would
	// map pages past its end: compare its size with the database's.
	fi, err := os.Stat(s.path)
	if err != nil {
		return fmt.Errorf("boltstore: open %s: %w", s.path, err)
	}
	err = s.db.View(func(tx *bolt.Tx) error {
		if size := tx.Size(); size > fi.Size() {
			return fmt.Errorf("boltstore: open %s: the file is damaged: it is cut short (%d bytes of %d)", s.path, fi.Size(), size)
		}
		if s.opts.NoCheck {
			return nil
		}
		// Read every page first, in this goroutine, where guard turns a
		// fault on a page outside the file into an error: bbolt's Check
		// reads pages in a goroutine of its own, where a fault would end
		// the process. Once every page has been read safely, it cannot.
		if err := s.readAll(tx); err != nil {
			return err
		}
		var problems []error
		for err := range tx.Check() { // drained to the end: it is a goroutine's
			if len(problems) < 5 {
				problems = append(problems, err)
			}
		}
		if len(problems) > 0 {
			return fmt.Errorf("boltstore: open %s: the file is damaged: %w", s.path, errors.Join(problems...))
		}
		return nil
	})
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(metaBucket)
		if err != nil {
			return fmt.Errorf("boltstore: open %s: %w", s.path, err)
		}
		upgrade := false
		switch v := meta.Get(schemaKey); {
		case v == nil:
			upgrade = true
		case len(v) != 4:
			return fmt.Errorf("boltstore: open %s: the file is damaged: its schema version is %d bytes long, not 4", s.path, len(v))
		default:
			switch version := binary.BigEndian.Uint32(v); version {
			case schemaVersion:
			case unguardedSchema:
				upgrade = true
				if err := dropGuards(meta); err != nil {
					return fmt.Errorf("boltstore: open %s: %w", s.path, err)
				}
			default:
				return fmt.Errorf("boltstore: open %s: the file has schema version %d, and this version of WeGO reads versions %d to %d only: open it with the WeGO that wrote it", s.path, version, unguardedSchema, schemaVersion)
			}
		}
		if upgrade {
			var b [4]byte
			binary.BigEndian.PutUint32(b[:], schemaVersion)
			if err := meta.Put(schemaKey, b[:]); err != nil {
				return fmt.Errorf("boltstore: open %s: %w", s.path, err)
			}
		}
		for _, name := range [][]byte{s.name, s.idxName} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("boltstore: open %s: bucket %s: %w", s.path, name, err)
			}
		}
		return s.readGuard(tx, meta)
	})
}

// dropGuards deletes every bucket's guard mark, so that each store's
// Open reads its records again to set it.
func dropGuards(meta *bolt.Bucket) error {
	var keys [][]byte
	c := meta.Cursor()
	for k, _ := c.Seek([]byte(guardPrefix)); k != nil && bytes.HasPrefix(k, []byte(guardPrefix)); k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		if err := meta.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// readGuard learns whether the store's bucket may hold records with a
// fence or an expiry (see writer.guarded): from the file's own bucket,
// or, in a file that does not say, by reading the records once.
func (s *Store) readGuard(tx *bolt.Tx, meta *bolt.Bucket) error {
	switch v := meta.Get(s.guardKey); {
	case bytes.Equal(v, guardedYes):
		s.w.guarded = true
		return nil
	case bytes.Equal(v, guardedNo):
		s.w.guarded = false
		return nil
	case v != nil:
		return fmt.Errorf("boltstore: open %s: the file is damaged: the key %s of bucket %s holds %x, not 0 or 1", s.path, s.guardKey, metaBucket, v)
	}
	guarded := false
	if k, _ := tx.Bucket(s.idxName).Cursor().First(); k != nil {
		guarded = true
	}
	c := tx.Bucket(s.name).Cursor()
	for k, v := c.First(); k != nil && !guarded; k, v = c.Next() {
		if v == nil {
			continue // a nested bucket, which is not a record
		}
		// A record that does not decode counts as guarded: writes then
		// read it, and report it as corrupt, as they did before the mark
		// (Open finds it first unless Options.NoCheck).
		h, _, _, err := decodeHeader(v)
		guarded = err != nil || h.fence != 0 || h.expires != 0
	}
	s.w.guarded = guarded
	mark := guardedNo
	if guarded {
		mark = guardedYes
	}
	if err := meta.Put(s.guardKey, mark); err != nil {
		return fmt.Errorf("boltstore: open %s: %w", s.path, err)
	}
	return nil
}

// readAll reads every key and value of every bucket of the file, and
// decodes the records of the store's bucket.
func (s *Store) readAll(tx *bolt.Tx) error {
	var sum byte // keeps the reads
	var walk func(name []byte, b *bolt.Bucket) error
	walk = func(name []byte, b *bolt.Bucket) error {
		ours := bytes.Equal(name, s.name)
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if v == nil {
				if child := b.Bucket(k); child != nil {
					if err := walk(k, child); err != nil {
						return err
					}
				}
				continue
			}
			for i := 0; i < len(v); i += 1024 {
				sum += v[i]
			}
			if ours {
				var r store.Record
				if _, err := decodeRecord(&r, string(k), v); err != nil {
					return fmt.Errorf("boltstore: open %s: the file is damaged: record %q of bucket %s: %w", s.path, k, name, err)
				}
			}
		}
		return nil
	}
	err := tx.ForEach(walk)
	s.checksum = sum
	return err
}

// closeQuietly closes a database that failed its checks. bbolt may panic
// closing a damaged one: the file is then closed directly, which releases
// its lock.
func closeQuietly(db *bolt.DB, file *os.File) {
	defer func() {
		if recover() != nil {
			unlock(file)
			_ = file.Close()
		}
	}()
	_ = db.Close()
}
