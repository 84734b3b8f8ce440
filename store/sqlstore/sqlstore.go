package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"
	"modernc.org/sqlite" // and the "sqlite" driver of database/sql
	sqlite3 "modernc.org/sqlite/lib"

	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/store"
)

// MaxValue is the largest value a Store accepts: 1 MiB, as the other
// stores of package store, so that records move between backends.
const MaxValue = 1 << 20

// Options configure a [Store]. The zero value is usable.
type Options struct {
	// Name is the table that holds the records: 1 to 64 letters, digits,
	// "-" and "_" (63 on PostgreSQL), not starting with "wego_store_".
	// Default "wego".
	Name string
	// Logger receives what goes wrong in the background (a sweep of
	// expired records, a watch's reconnection). Default: none.
	Logger *zap.Logger
	// History is how long the store's changes are kept for its watches:
	// a watch whose database connection comes back within History resumes
	// with the changes it missed; after longer it gets an EventReset and
	// the current records. Default 5 minutes.
	History time.Duration
	// PollInterval is how often a watch looks for changes that no
	// notification announced: the writes of other processes to a SQLite
	// file, and PostgreSQL's while its listening connection is lost.
	// Default 1 second.
	PollInterval time.Duration
}

// The defaults of Options.
const (
	defaultName         = "wego"
	defaultHistory      = 5 * time.Minute
	defaultPollInterval = time.Second
	sweepInterval       = 500 * time.Millisecond
)

// A Store's life: built by a factory, open after Start (Open does both),
// closed by Close.
const (
	stateNew int32 = iota
	stateOpen
	stateClosed
)

// Store is a [store.Store] in a table of a SQLite or PostgreSQL database.
//
// Every write is one statement (one transaction) that checks its
// conditions, takes the next revision of the store's counter and appends
// the change to the store's history, so that a write is whole or absent,
// and a compare-and-set never loses an update. Expired records are never
// returned, and a sweep every half second deletes them, which watches
// report as EventDelete.
//
// A Store is safe for concurrent use, by any number of Stores in any
// number of processes on the same table: SQLite serializes their writes
// with its write lock (a Store hands it its own writes one at a time, so
// that they do not wait in SQLite's busy loop, and a call waits for the
// lock as long as its context allows, up to a minute), PostgreSQL with
// the lock of the table's counter row; either way writes commit one at a
// time, in revision order.
type Store struct {
	dialect Dialect
	name    string
	dsn     string  // Open and the factories
	db      *sql.DB // OpenDB
	opts    Options
	log     *zap.Logger
	q       queries

	x       executor
	channel string // PostgreSQL: the channel of the change notifications

	state     atomic.Int32
	startOnce sync.Mutex
	started   bool
	startErr  error

	writing chan struct{} // SQLite: holds a token while a write runs, so that a Store's writes go one at a time

	hubMu sync.Mutex
	hub   atomic.Pointer[hub]

	bg   context.Context // ends when the store closes
	stop context.CancelFunc
	wg   sync.WaitGroup
}

var (
	_ store.Store   = (*Store)(nil)
	_ store.Starter = (*Store)(nil)
)

// Open opens the store of dialect: for [SQLite], dsn is the path of the
// database file, created when missing (not its directory); for
// [Postgres], a connection string such as
// "postgres://user@127.0.0.1:5432/db?sslmode=disable". It creates the
// store's tables when they do not exist, and fails when the database
// cannot be reached or its tables have a schema version this package
// does not know.
//
// On SQLite, the database is put in WAL mode, with synchronous=FULL (a
// write is on disk when Put returns) and a busy timeout of 10 seconds.
func Open(ctx context.Context, dialect Dialect, dsn string, opts Options) (*Store, error) {
	s, err := newStore(dialect, dsn, nil, opts)
	return start(ctx, s, err)
}

// OpenDB opens the store of dialect on db, which the caller keeps and
// closes after the store. For SQLite, db should be opened with the
// driver "sqlite" of modernc.org/sqlite, in WAL mode and with a
// busy_timeout (see [Open]). For PostgreSQL, watches are notified of
// changes when db's driver is pgx's (github.com/jackc/pgx/v5/stdlib), and
// otherwise look for them every [Options.PollInterval].
func OpenDB(ctx context.Context, dialect Dialect, db *sql.DB, opts Options) (*Store, error) {
	if db == nil {
		return nil, errors.New("sqlstore: OpenDB needs a database")
	}
	s, err := newStore(dialect, "", db, opts)
	return start(ctx, s, err)
}

// start starts s, which newStore returned with err, and closes it if it
// fails to start.
func start(ctx context.Context, s *Store, err error) (*Store, error) {
	if err != nil {
		return nil, err
	}
	if err := s.Start(ctx); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// newStore checks the options and returns a store that Start opens.
func newStore(dialect Dialect, dsn string, db *sql.DB, opts Options) (*Store, error) {
	if dialect != SQLite && dialect != Postgres {
		return nil, fmt.Errorf("sqlstore: unknown dialect %q (sqlite, postgres)", dialect)
	}
	if opts.Name == "" {
		opts.Name = defaultName
	}
	if err := checkName(dialect, opts.Name); err != nil {
		return nil, fmt.Errorf("sqlstore: table name %q %s", opts.Name, err)
	}
	if db == nil && dsn == "" {
		return nil, fmt.Errorf("sqlstore: no database: give %s", map[Dialect]string{SQLite: "the path of a file", Postgres: "a connection string"}[dialect])
	}
	if dialect == SQLite && db == nil && (dsn == ":memory:" || strings.Contains(dsn, "mode=memory")) {
		return nil, errors.New("sqlstore: a SQLite database in memory is not shared by the store's connections: give a file (or use store.kind memory)")
	}
	if opts.History <= 0 {
		opts.History = defaultHistory
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = defaultPollInterval
	}
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	s := &Store{dialect: dialect, name: opts.Name, dsn: dsn, db: db, opts: opts, log: log.With(zap.String("store", string(dialect)+":"+opts.Name))}
	s.q = buildQueries(dialect, opts.Name)
	s.bg, s.stop = context.WithCancel(context.Background())
	if dialect == SQLite {
		s.writing = make(chan struct{}, 1)
	}
	return s, nil
}

// checkName says what is wrong with name as a table name, or nil.
func checkName(d Dialect, name string) error {
	if len(name) > 64 {
		return errors.New("is longer than 64 bytes")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return errors.New("has a character other than letters, digits, - and _")
		}
	}
	if d == Postgres && len(name) > maxPostgresName {
		return fmt.Errorf("is longer than PostgreSQL's %d bytes", maxPostgresName)
	}
	if strings.HasPrefix(strings.ToLower(name), "wego_store_") {
		return errors.New("starts with wego_store_, the prefix of the tables the stores share")
	}
	return nil
}

// Start implements [store.Starter]: it connects to the database, creates
// or upgrades the store's tables, and returns once the store works. Open
// and OpenDB have called it; a store made by the factory of its kind
// needs it. Later calls return the first one's result.
func (s *Store) Start(ctx context.Context) error {
	s.startOnce.Lock()
	defer s.startOnce.Unlock()
	if s.started {
		return s.startErr
	}
	if s.state.Load() == stateClosed {
		return store.ErrClosed.New()
	}
	s.started = true
	s.startErr = s.start(ctx)
	if s.startErr == nil {
		s.state.CompareAndSwap(stateNew, stateOpen)
	}
	return s.startErr
}

func (s *Store) start(ctx context.Context) error {
	switch {
	case s.db != nil:
		s.x = &sqlExec{db: s.db, dialect: s.dialect}
	case s.dialect == SQLite:
		db, err := sql.Open("sqlite", sqliteDSN(s.dsn))
		if err != nil {
			return store.ErrUnavailable.Wrap(fmt.Errorf("sqlstore: open %s: %w", s.dsn, err))
		}
		db.SetMaxOpenConns(8)
		db.SetMaxIdleConns(8)
		s.x = &sqlExec{db: db, dialect: SQLite, owned: true}
	default:
		cfg, err := pgxpool.ParseConfig(s.dsn)
		if err != nil {
			return fmt.Errorf("sqlstore: the connection string: %w", err)
		}
		if cfg.ConnConfig.ConnectTimeout == 0 {
			cfg.ConnConfig.ConnectTimeout = 10 * time.Second
		}
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			return store.ErrUnavailable.Wrap(fmt.Errorf("sqlstore: connect: %w", err))
		}
		s.x = &pgxExec{pool: pool, owned: true}
	}
	var err error
	var busy time.Time
	for {
		err = s.migrate(ctx)
		if !s.retryBusy(ctx, err, &busy) {
			break
		}
	}
	if err != nil {
		var se *schemaError
		if errors.As(err, &se) {
			return se
		}
		return store.ErrUnavailable.Wrap(fmt.Errorf("sqlstore: prepare the table %q: %w", s.name, err))
	}
	if s.dialect == Postgres {
		var oid uint32
		if err := s.x.queryRow(ctx, "SELECT '"+changesTable+"'::regclass::oid").Scan(&oid); err != nil {
			return store.ErrUnavailable.Wrap(fmt.Errorf("sqlstore: find %s: %w", changesTable, err))
		}
		s.channel = fmt.Sprintf("wego_store_%d", oid)
	}
	if x, ok := s.x.(*sqlExec); ok {
		q := &s.q
		if err := x.prepare(ctx, q.get, q.list[0], q.list[1], q.keys[0], q.keys[1], q.upsert, q.update, q.delete, q.expire, q.current, q.expired, q.changes, q.horizon); err != nil {
			return store.ErrUnavailable.Wrap(fmt.Errorf("sqlstore: prepare the statements of %q: %w", s.name, err))
		}
	}
	s.wg.Add(1)
	go s.sweeper()
	return nil
}

// sqliteDSN returns the DSN of the database file path for the driver,
// with the store's settings.
func sqliteDSN(path string) string {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return path + sep + "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate"
}

// Features reports watch, TTL, read-your-writes, synced durability and a
// largest value of [MaxValue]. On PostgreSQL, synced means the server's
// defaults (fsync and synchronous_commit on): the write is in the
// server's write-ahead log on its disk when Put returns.
func (s *Store) Features() store.Features {
	return store.Features{Watch: true, TTL: true, Durability: store.DurabilitySynced, ReadYourWrites: true, MaxValue: MaxValue}
}

// ready returns nil when the store is open, and otherwise its error.
func (s *Store) ready() error {
	switch s.state.Load() {
	case stateOpen:
		return nil
	case stateClosed:
		return store.ErrClosed.New()
	}
	return store.ErrUnavailable.Wrap(errors.New("sqlstore: the store has not been started"))
}

// dbError is the error of a failed statement: ErrClosed when the store
// has closed meanwhile, otherwise ErrUnavailable with the cause.
func (s *Store) dbError(err error) error {
	if s.state.Load() == stateClosed {
		return store.ErrClosed.Wrap(err)
	}
	return store.ErrUnavailable.Wrap(err)
}

// scanned holds what a row of records scans into, so that a row costs
// one allocation for all of them.
type scanned struct {
	key      string
	value    []byte
	metadata []byte
	revision int64
	expires  int64
	fence    int64
}

// record makes the record of sc.
func (sc *scanned) record() (store.Record, error) {
	md, err := decodeMetadata(sc.metadata)
	if err != nil {
		return store.Record{}, err
	}
	r := store.Record{Key: sc.key, Value: sc.value, Metadata: md, Revision: uint64(sc.revision), Fence: uint64(sc.fence)}
	if r.Value == nil {
		r.Value = []byte{}
	}
	if sc.expires != 0 {
		r.Expires = time.UnixMicro(sc.expires)
	}
	return r, nil
}

// Get returns the record of key.
func (s *Store) Get(ctx context.Context, key string) (store.Record, error) {
	if err := store.CheckKeyContext(ctx, key); err != nil {
		return store.Record{}, err
	}
	if err := s.ready(); err != nil {
		return store.Record{}, err
	}
	sc := &scanned{key: key}
	var err error
	var busy time.Time
	for {
		err = s.x.queryRow(ctx, s.q.get, key).Scan(&sc.value, &sc.metadata, &sc.revision, &sc.expires, &sc.fence)
		if !s.retryBusy(ctx, err, &busy) {
			break
		}
	}
	if err != nil {
		if s.x.isNoRows(err) {
			return store.Record{}, store.ErrNotFound.New(errs.P("key", key))
		}
		return store.Record{}, s.dbError(err)
	}
	r, err := sc.record()
	if err != nil {
		return store.Record{}, s.dbError(err)
	}
	return r, nil
}

// List returns the records under prefix.
func (s *Store) List(ctx context.Context, prefix string, opts store.ListOptions) ([]store.Record, error) {
	var out []store.Record
	err := s.list(ctx, prefix, opts, false, func(sc *scanned) error {
		r, err := sc.record()
		if err == nil {
			out = append(out, r)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []store.Record{}
	}
	return out, nil
}

// Keys returns the keys under prefix.
func (s *Store) Keys(ctx context.Context, prefix string, opts store.ListOptions) ([]string, error) {
	out := []string{}
	err := s.list(ctx, prefix, opts, true, func(sc *scanned) error {
		out = append(out, sc.key)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// list runs the listing of prefix and calls each with its rows, the keys
// only when keysOnly.
func (s *Store) list(ctx context.Context, prefix string, opts store.ListOptions, keysOnly bool, each func(*scanned) error) error {
	if err := store.CheckList(opts); err != nil {
		return err
	}
	if err := s.ready(); err != nil {
		return err
	}
	lo, hi, ok := prefixRange(prefix)
	if !ok {
		return nil // no key can start with prefix
	}
	dir := 0
	after := clampKey(opts.After)
	if opts.Reverse {
		dir = 1
		if opts.After == "" {
			after = keyCeiling
		}
	}
	limit := s.dialect.noLimit()
	if opts.Limit > 0 {
		limit = int64(opts.Limit)
	}
	query := s.q.list[dir]
	if keysOnly {
		query = s.q.keys[dir]
	}
	var rs rows
	var err error
	var busy time.Time
	for {
		rs, err = s.x.query(ctx, query, lo, hi, after, limit)
		if !s.retryBusy(ctx, err, &busy) {
			break
		}
	}
	if err != nil {
		return s.dbError(err)
	}
	defer rs.Close()
	for rs.Next() {
		sc := &scanned{}
		if keysOnly {
			err = rs.Scan(&sc.key)
		} else {
			err = rs.Scan(&sc.key, &sc.value, &sc.metadata, &sc.revision, &sc.expires, &sc.fence)
		}
		if err == nil {
			err = each(sc)
		}
		if err != nil {
			return s.dbError(err)
		}
	}
	if err := rs.Err(); err != nil {
		return s.dbError(err)
	}
	return nil
}

// keyCeiling is above every valid key: keys are ASCII below DEL.
const keyCeiling = "\x7f"

// keyByte reports whether c can be in a key.
func keyByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '/' || c == '=' || c == '.'
}

// prefixRange returns the keys that start with prefix as [lo, hi), or
// false when no key can.
func prefixRange(prefix string) (lo, hi string, ok bool) {
	if prefix == "" {
		return "", keyCeiling, true
	}
	for i := 0; i < len(prefix); i++ {
		if !keyByte(prefix[i]) {
			return "", "", false
		}
	}
	last := prefix[len(prefix)-1]
	return prefix, prefix[:len(prefix)-1] + string(rune(last+1)), true
}

// clampKey returns a string that every key compares with as with s, and
// that both databases accept as text (valid UTF-8, no NUL): s up to its
// first byte that no key has, then DEL or SOH in its place.
func clampKey(s string) string {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == 0:
			return s[:i] + "\x01"
		case c >= 0x7f:
			return s[:i] + keyCeiling
		}
	}
	return s
}

// ttlMicros is ttl in microseconds, rounded up.
func ttlMicros(ttl time.Duration) int64 {
	return int64((ttl + time.Microsecond - 1) / time.Microsecond)
}

// Put writes value under key if the conditions of opts hold.
func (s *Store) Put(ctx context.Context, key string, value []byte, opts store.PutOptions) (uint64, error) {
	if err := checkPut(ctx, key, value, opts); err != nil {
		return 0, err
	}
	if err := s.ready(); err != nil {
		return 0, err
	}
	if opts.IfRevision > math.MaxInt64 {
		return 0, store.ErrConflict.New(errs.P("key", key)) // no record has it
	}
	var md any
	if b := encodeMetadata(opts.Metadata); b != nil {
		md = b
	}
	if value == nil {
		value = []byte{}
	}
	if err := s.lockWrite(ctx); err != nil {
		return 0, err
	}
	var rev int64
	var err error
	var busy time.Time
	for {
		if opts.IfRevision != 0 {
			err = s.x.queryRow(ctx, s.q.update, key, value, md, ttlMicros(opts.TTL), int64(opts.Fence), int64(opts.IfRevision)).Scan(&rev)
		} else {
			err = s.x.queryRow(ctx, s.q.upsert, key, value, md, ttlMicros(opts.TTL), int64(opts.Fence), s.dialect.boolArg(opts.Create)).Scan(&rev)
		}
		if !s.retryBusy(ctx, err, &busy) {
			break
		}
	}
	s.unlockWrite()
	if err != nil {
		if s.x.isNoRows(err) {
			return 0, s.refused(ctx, key, opts.Fence, opts.Create || opts.IfRevision != 0)
		}
		return 0, s.dbError(err)
	}
	s.changed()
	return uint64(rev), nil
}

// checkPut checks what Put accepts, as every store does, and a fencing
// token that a BIGINT column can hold.
func checkPut(ctx context.Context, key string, value []byte, opts store.PutOptions) error {
	if err := store.CheckPutContext(ctx, key, value, opts, MaxValue); err != nil {
		return err
	}
	if opts.Fence > math.MaxInt64 {
		return invalid("fence", "is above 2^63-1, the largest the database keeps")
	}
	return nil
}

func invalid(field, reason string) error {
	return store.ErrInvalid.New(errs.P("field", field), errs.P("reason", reason))
}

// refused returns the error of a write whose conditions did not hold: a
// fencing token older than the key's is ErrFenced (as it is first in
// store.Memory), any other failed condition ErrConflict. conditional
// says whether the write had a condition other than its fence.
func (s *Store) refused(ctx context.Context, key string, fence uint64, conditional bool) error {
	switch {
	case fence == 0:
		return store.ErrConflict.New(errs.P("key", key))
	case !conditional:
		return store.ErrFenced.New(errs.P("key", key))
	}
	var rev, stored, live int64
	err := s.x.queryRow(ctx, s.q.current, key).Scan(&rev, &stored, &live)
	switch {
	case err == nil && live == 1 && uint64(stored) > fence:
		return store.ErrFenced.New(errs.P("key", key))
	case err != nil && !s.x.isNoRows(err):
		return s.dbError(err)
	}
	return store.ErrConflict.New(errs.P("key", key))
}

// Delete removes key if the conditions of opts hold.
func (s *Store) Delete(ctx context.Context, key string, opts store.DeleteOptions) error {
	if err := store.CheckKeyContext(ctx, key); err != nil {
		return err
	}
	if err := s.ready(); err != nil {
		return err
	}
	if opts.IfRevision > math.MaxInt64 {
		return store.ErrConflict.New(errs.P("key", key))
	}
	fence := opts.Fence
	if fence > math.MaxInt64 {
		fence = math.MaxInt64 // no stored fence is larger
	}
	n, err := s.delete(ctx, key, int64(opts.IfRevision), int64(fence))
	if err != nil {
		return s.dbError(err)
	}
	if n > 0 {
		s.changed()
		return nil
	}
	if opts.IfRevision == 0 && opts.Fence == 0 {
		return nil
	}
	var rev, stored, live int64
	err = s.x.queryRow(ctx, s.q.current, key).Scan(&rev, &stored, &live)
	switch {
	case err != nil && !s.x.isNoRows(err):
		return s.dbError(err)
	case err == nil && live == 1 && opts.Fence != 0 && uint64(stored) > opts.Fence:
		return store.ErrFenced.New(errs.P("key", key))
	case opts.IfRevision != 0:
		return store.ErrConflict.New(errs.P("key", key))
	}
	return nil
}

// delete deletes key if the conditions hold (0: none) and returns how
// many records it deleted.
func (s *Store) delete(ctx context.Context, key string, ifRevision, fence int64) (int64, error) {
	return s.deleteWith(ctx, s.q.delete, key, ifRevision, fence)
}

// deleteWith runs a delete statement and returns how many records it
// deleted.
func (s *Store) deleteWith(ctx context.Context, query string, args ...any) (int64, error) {
	if err := s.lockWrite(ctx); err != nil {
		return 0, err
	}
	defer s.unlockWrite()
	var n int64
	var err error
	var busy time.Time
	for {
		err = s.x.queryRow(ctx, query, args...).Scan(&n)
		if !s.retryBusy(ctx, err, &busy) {
			break
		}
	}
	if err != nil && s.x.isNoRows(err) {
		return 0, nil
	}
	return n, err
}

// maxBusy is how long, in all, a SQLite call waits for the lock that
// other connections hold (other processes writing the file), before it
// fails as unavailable.
const maxBusy = time.Minute

// retryBusy reports whether a call that failed with err is to be made
// again: SQLite's lock was still busy after busy_timeout (its waiters are
// not served in turn, so a writer among many can be passed over), and
// neither ctx has ended nor has the call waited maxBusy since busy was
// first set. A call that fails so has written nothing.
func (s *Store) retryBusy(ctx context.Context, err error, busy *time.Time) bool {
	if err == nil || s.dialect != SQLite || !isBusy(err) || ctx.Err() != nil {
		return false
	}
	if busy.IsZero() {
		*busy = time.Now()
	}
	return time.Since(*busy) < maxBusy
}

// isBusy reports whether err is SQLite's SQLITE_BUSY or SQLITE_LOCKED.
func isBusy(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	code := e.Code() & 0xff
	return code == sqlite3.SQLITE_BUSY || code == sqlite3.SQLITE_LOCKED
}

// lockWrite waits for the Store's turn to write, on SQLite, or for ctx
// to end.
func (s *Store) lockWrite(ctx context.Context) error {
	if s.writing == nil {
		return nil
	}
	select {
	case s.writing <- struct{}{}:
		return nil
	default:
	}
	select {
	case s.writing <- struct{}{}:
		return nil
	case <-ctx.Done():
		return s.dbError(ctx.Err())
	}
}

// unlockWrite ends the write that lockWrite let start.
func (s *Store) unlockWrite() {
	if s.writing != nil {
		<-s.writing
	}
}

// changed tells the watches of this process that the store has changed,
// unless the database notifies them.
func (s *Store) changed() {
	if h := s.hub.Load(); h != nil && !h.listening.Load() {
		h.kick()
	}
}

// Close stops the store's sweeper and watches (their channels close) and
// closes the database, unless the caller gave it (OpenDB). Later calls of
// its methods fail with ErrClosed.
func (s *Store) Close() error {
	s.startOnce.Lock() // after a Start in progress
	if s.state.Swap(stateClosed) == stateClosed {
		s.startOnce.Unlock()
		return nil
	}
	s.startOnce.Unlock()
	s.stop()
	s.wg.Wait()
	if s.x != nil {
		s.x.close()
	}
	return nil
}
