package storebench

import (
	"bytes"
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	_ "modernc.org/sqlite" // database/sql's "sqlite"

	"github.com/wegomesh/wego/store"
	"github.com/wegomesh/wego/store/sqlstore"
)

// The SQL benchmarks compare package store/sqlstore with the statements
// it runs, run by hand on the bare driver: a prepared statement of
// database/sql on modernc.org/sqlite, a pgx pool for PostgreSQL. The
// statements are copied from store/sqlstore (dialect.go), for the table
// "wego" that a Store made; the bare side scans the same columns into
// locals and copies nothing else.

// The record both sides read and write: a short key and a 100-byte value.
var (
	sqlKey   = "bench/key-0001"
	sqlValue = bytes.Repeat([]byte("v"), 100)
)

var (
	sqlSinkRecord store.Record
	sqlSinkBytes  []byte
	sqlSinkRev    uint64
	sqlSinkErr    error
)

// SQLite's statements of the store "wego" (store/sqlstore, dialect.go).
const (
	sqliteNow = "CAST(unixepoch('subsec') * 1000000 AS INTEGER)"
	sqliteGet = `SELECT value, metadata, revision, COALESCE(expires_at, 0), fence FROM "wego" WHERE key = ?1 AND (expires_at IS NULL OR expires_at > ` + sqliteNow + `)`
	sqlitePut = `INSERT INTO "wego" (key, value, metadata, revision, expires_at, fence) VALUES (?1, ?2, ?3, (SELECT revision + 1 FROM wego_store_tables WHERE name = 'wego'), CASE WHEN ?4 > 0 THEN ` + sqliteNow + ` + ?4 END, ?5)` +
		` ON CONFLICT (key) DO UPDATE SET value = excluded.value, metadata = excluded.metadata, revision = excluded.revision,` +
		` expires_at = excluded.expires_at, fence = CASE WHEN excluded.fence <> 0 OR ("wego".expires_at IS NOT NULL AND "wego".expires_at <= ` + sqliteNow + `) THEN excluded.fence ELSE "wego".fence END` +
		` WHERE (?6 = 0 OR ("wego".expires_at IS NOT NULL AND "wego".expires_at <= ` + sqliteNow + `)) AND (excluded.fence = 0 OR "wego".fence <= excluded.fence OR ("wego".expires_at IS NOT NULL AND "wego".expires_at <= ` + sqliteNow + `))` +
		` RETURNING revision`
)

// sqliteDB opens the SQLite file of a store, with its settings; sync
// chooses synchronous=FULL (the store's) or OFF (to measure the CPU's
// share of a write, without the fsync).
func sqliteDB(tb testing.TB, sync bool) *sql.DB {
	tb.Helper()
	mode := "OFF"
	if sync {
		mode = "FULL"
	}
	path := filepath.Join(tb.TempDir(), "store.db")
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous("+mode+")&_txlock=immediate")
	if err != nil {
		tb.Fatal(err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

// sqliteSides returns a Store and the bare prepared statements, each on
// a database of its own, both holding the record.
func sqliteSides(tb testing.TB, sync bool) (s *sqlstore.Store, get, put *sql.Stmt) {
	tb.Helper()
	ctx := context.Background()
	s, err := sqlstore.OpenDB(ctx, sqlstore.SQLite, sqliteDB(tb, sync), sqlstore.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	if _, err := s.Put(ctx, sqlKey, sqlValue, store.PutOptions{}); err != nil {
		tb.Fatal(err)
	}
	// The bare side: the tables of a store, made by one, then statements
	// of its own.
	db := sqliteDB(tb, sync)
	made, err := sqlstore.OpenDB(ctx, sqlstore.SQLite, db, sqlstore.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	_ = made.Close()
	if get, err = db.PrepareContext(ctx, sqliteGet); err != nil {
		tb.Fatal(err)
	}
	if put, err = db.PrepareContext(ctx, sqlitePut); err != nil {
		tb.Fatal(err)
	}
	if err := bareSQLitePut(ctx, put); err != nil {
		tb.Fatal(err)
	}
	return s, get, put
}

// bareSQLiteGet reads the record as the store does.
func bareSQLiteGet(ctx context.Context, get *sql.Stmt) ([]byte, error) {
	var value, metadata []byte
	var revision, expires, fence int64
	err := get.QueryRowContext(ctx, sqlKey).Scan(&value, &metadata, &revision, &expires, &fence)
	return value, err
}

// bareSQLitePut writes the record as the store does.
func bareSQLitePut(ctx context.Context, put *sql.Stmt) error {
	var revision int64
	return put.QueryRowContext(ctx, sqlKey, sqlValue, nil, int64(0), int64(0), int64(0)).Scan(&revision)
}

// BenchmarkSQLiteGet reads one record: bare database/sql on
// modernc.org/sqlite, and the Store.
func BenchmarkSQLiteGet(b *testing.B) {
	s, get, _ := sqliteSides(b, true)
	ctx := context.Background()
	runSides(b,
		side{"bare", func(b *testing.B) {
			loop(b, true, func() error { sqlSinkBytes, sqlSinkErr = bareSQLiteGet(ctx, get); return sqlSinkErr })
		}},
		side{"store", func(b *testing.B) {
			loop(b, true, func() error { sqlSinkRecord, sqlSinkErr = s.Get(ctx, sqlKey); return sqlSinkErr })
		}})
}

// BenchmarkSQLitePut writes one record, synchronous=FULL (the store's
// setting: an fsync of the WAL per write), and without the fsync (the
// CPU's share).
func BenchmarkSQLitePut(b *testing.B) {
	for _, sync := range []bool{true, false} {
		name := "sync"
		if !sync {
			name = "nosync"
		}
		s, _, put := sqliteSides(b, sync)
		ctx := context.Background()
		runSides(b,
			side{name + "/bare", func(b *testing.B) {
				loop(b, true, func() error { sqlSinkErr = bareSQLitePut(ctx, put); return sqlSinkErr })
			}},
			side{name + "/store", func(b *testing.B) {
				loop(b, true, func() error {
					sqlSinkRev, sqlSinkErr = s.Put(ctx, sqlKey, sqlValue, store.PutOptions{})
					return sqlSinkErr
				})
			}})
	}
}

// TestSQLiteAllocs checks the target on allocations for a read
// and a write on SQLite: the Store makes at most 3 allocations more than
// the bare driver running the same statement. The times are measured by
// the benchmarks, and their ratios reported by command benchreport.
func TestSQLiteAllocs(t *testing.T) {
	ctx := context.Background()
	s, get, _ := sqliteSides(t, true)
	sqlAllocs(t, "SQLite Get",
		func() { sqlSinkBytes, sqlSinkErr = bareSQLiteGet(ctx, get) },
		func() { sqlSinkRecord, sqlSinkErr = s.Get(ctx, sqlKey) })
	s, _, put := sqliteSides(t, false)
	sqlAllocs(t, "SQLite Put (synchronous=OFF)",
		func() { sqlSinkErr = bareSQLitePut(ctx, put) },
		func() { sqlSinkRev, sqlSinkErr = s.Put(ctx, sqlKey, sqlValue, store.PutOptions{}) })
}

// sqlAllocs warms bare and st up, checks that they succeed, and checks
// their allocations (see allocsAtMost3More).
func sqlAllocs(t *testing.T, name string, bare, st func()) {
	t.Helper()
	for _, f := range []func(){bare, st} {
		for range 10 {
			f()
			if sqlSinkErr != nil {
				t.Fatalf("%s: %v", name, sqlSinkErr)
			}
		}
	}
	allocsAtMost3More(t, name, bare, st)
	if sqlSinkErr != nil {
		t.Fatalf("%s: %v", name, sqlSinkErr)
	}
}
