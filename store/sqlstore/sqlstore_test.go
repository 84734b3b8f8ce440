package sqlstore_test

import (
	"path/filepath"
	"testing"

	"github.com/wegomesh/wego/internal/pgtest"
	"github.com/wegomesh/wego/store"
	"github.com/wegomesh/wego/store/sqlstore"
	"github.com/wegomesh/wego/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

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
