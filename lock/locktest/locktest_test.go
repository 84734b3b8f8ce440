package locktest_test

import (
	"path/filepath"
	"testing"

	"github.com/wegomesh/wego/internal/pgtest"
	"github.com/wegomesh/wego/lock/locktest"
	"github.com/wegomesh/wego/store"
	"github.com/wegomesh/wego/store/boltstore"
	"github.com/wegomesh/wego/store/sqlstore"
	"github.com/wegomesh/wego/store/storetest"
)

// The suite on the SQL and bbolt backends. Package lock's own tests run it on the
// in-process store and on NATS key-value.

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestPostgres(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	locktest.Run(t, func(t *testing.T) store.Store {
		n := storetest.Name(t)
		s, err := sqlstore.Open(t.Context(), sqlstore.Postgres, dsn, sqlstore.Options{Name: n[:min(len(n), 63)]})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}, locktest.WithAcquisitions(shortOr(100, 1000)))
}

func TestSQLite(t *testing.T) {
	t.Parallel()
	locktest.Run(t, func(t *testing.T) store.Store {
		// A file per subtest: SQLite writes one at a time per file.
		path := filepath.Join(t.TempDir(), "locks.db")
		s, err := sqlstore.Open(t.Context(), sqlstore.SQLite, path, sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}, locktest.WithAcquisitions(shortOr(100, 1000)))
}

func TestBbolt(t *testing.T) {
	t.Parallel()
	locktest.Run(t, func(t *testing.T) store.Store {
		// Without fsync: the suite checks the lock, not the disk.
		s, err := boltstore.Open(filepath.Join(t.TempDir(), "locks.db"), boltstore.Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}, locktest.WithAcquisitions(shortOr(100, 1000)))
}

func shortOr(short, long int) int {
	if testing.Short() {
		return short
	}
	return long
}
