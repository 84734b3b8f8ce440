package sqlstore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/wegomesh/wego/internal/pgtest"
	"github.com/wegomesh/wego/store"
	"github.com/wegomesh/wego/store/sqlstore"
	"github.com/wegomesh/wego/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// openSQLite opens a store in a new file of t.
func openSQLite(t testing.TB, opts sqlstore.Options) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), sqlstore.SQLite, filepath.Join(t.TempDir(), "store.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// openPostgres opens a store in a new schema of the test server.
func openPostgres(t testing.TB, opts sqlstore.Options) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), sqlstore.Postgres, pgtest.DSN(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// pgName is storetest.Name cut to PostgreSQL's 63 bytes (its start, which
// makes it unique, is kept).
func pgName(t testing.TB) string {
	n := storetest.Name(t)
	return n[:min(len(n), 63)]
}

func TestConformanceSQLite(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "store.db")
	storetest.Run(t, func(t *testing.T) store.Store {
		// One file, a table per subtest, as stores share a database.
		s, err := sqlstore.Open(t.Context(), sqlstore.SQLite, path, sqlstore.Options{Name: storetest.Name(t)})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, storetest.ShortIncrements(100))
}

func TestConformancePostgres(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := sqlstore.Open(t.Context(), sqlstore.Postgres, dsn, sqlstore.Options{Name: pgName(t)})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, storetest.ShortIncrements(100))
}
