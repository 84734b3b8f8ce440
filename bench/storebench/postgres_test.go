package storebench

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wegomesh/wego/internal/pgtest"
	"github.com/wegomesh/wego/store"
	"github.com/wegomesh/wego/store/sqlstore"
)

// TestMain stops the throwaway PostgreSQL server of the benchmarks (see
// package internal/pgtest, which finds or starts one).
func TestMain(m *testing.M) { pgtest.Main(m) }

// PostgreSQL's statements of the store "wego" (store/sqlstore,
// dialect.go).
const (
	pgNow     = "(EXTRACT(EPOCH FROM statement_timestamp()) * 1000000)::bigint"
	pgExpired = "(t.expires_at IS NOT NULL AND t.expires_at <= " + pgNow + ")"
	pgGet     = `SELECT value, metadata, revision, COALESCE(expires_at, 0), fence FROM "wego" WHERE key = $1 AND (expires_at IS NULL OR expires_at > ` + pgNow + `)`
	pgPut     = `WITH r AS (UPDATE wego_store_tables SET revision = revision + 1 WHERE name = 'wego' RETURNING revision), ` +
		`w AS (INSERT INTO "wego" AS t (key, value, metadata, revision, expires_at, fence)` +
		` SELECT $1::text, $2::bytea, $3::bytea, r.revision, CASE WHEN $4::bigint > 0 THEN ` + pgNow + ` + $4::bigint END, $5::bigint FROM r` +
		` ON CONFLICT (key) DO UPDATE SET value = excluded.value, metadata = excluded.metadata, revision = excluded.revision,` +
		` expires_at = excluded.expires_at, fence = CASE WHEN excluded.fence <> 0 OR ` + pgExpired + ` THEN excluded.fence ELSE t.fence END` +
		` WHERE (NOT $6::boolean OR ` + pgExpired + `) AND (excluded.fence = 0 OR t.fence <= excluded.fence OR ` + pgExpired + `)` +
		` RETURNING t.key, t.value, t.metadata, t.revision, t.expires_at, t.fence)` +
		`, l AS (INSERT INTO wego_store_changes (name, revision, key, deleted, value, metadata, expires_at, fence)` +
		` SELECT 'wego', revision, key, false, value, metadata, expires_at, fence FROM w) SELECT revision FROM w`
)

// pgSides returns a Store and a bare pgx pool, each on a schema of its
// own of the test server, both holding the record.
func pgSides(tb testing.TB) (*sqlstore.Store, *pgxpool.Pool) {
	tb.Helper()
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, sqlstore.Postgres, pgtest.DSN(tb), sqlstore.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	if _, err := s.Put(ctx, sqlKey, sqlValue, store.PutOptions{}); err != nil {
		tb.Fatal(err)
	}
	dsn := pgtest.DSN(tb)
	made, err := sqlstore.Open(ctx, sqlstore.Postgres, dsn, sqlstore.Options{}) // the tables
	if err != nil {
		tb.Fatal(err)
	}
	_ = made.Close()
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	if err := barePgPut(ctx, pool); err != nil {
		tb.Fatal(err)
	}
	return s, pool
}

// barePgGet reads the record as the store does.
func barePgGet(ctx context.Context, pool *pgxpool.Pool) ([]byte, error) {
	var value, metadata []byte
	var revision, expires, fence int64
	err := pool.QueryRow(ctx, pgGet, sqlKey).Scan(&value, &metadata, &revision, &expires, &fence)
	return value, err
}

// barePgPut writes the record as the store does.
func barePgPut(ctx context.Context, pool *pgxpool.Pool) error {
	var revision int64
	return pool.QueryRow(ctx, pgPut, sqlKey, sqlValue, nil, int64(0), int64(0), false).Scan(&revision)
}

// BenchmarkPostgresGet reads one record: a bare pgx pool, and the Store.
func BenchmarkPostgresGet(b *testing.B) {
	s, pool := pgSides(b)
	ctx := context.Background()
	runSides(b,
		side{"bare", func(b *testing.B) {
			loop(b, false, func() error { sqlSinkBytes, sqlSinkErr = barePgGet(ctx, pool); return sqlSinkErr })
		}},
		side{"store", func(b *testing.B) {
			loop(b, false, func() error { sqlSinkRecord, sqlSinkErr = s.Get(ctx, sqlKey); return sqlSinkErr })
		}})
}

// BenchmarkPostgresPut writes one record: a bare pgx pool, and the
// Store. The throwaway test server runs with fsync off (see
// internal/pgtest).
func BenchmarkPostgresPut(b *testing.B) {
	s, pool := pgSides(b)
	ctx := context.Background()
	runSides(b,
		side{"bare", func(b *testing.B) {
			loop(b, false, func() error { sqlSinkErr = barePgPut(ctx, pool); return sqlSinkErr })
		}},
		side{"store", func(b *testing.B) {
			loop(b, false, func() error {
				sqlSinkRev, sqlSinkErr = s.Put(ctx, sqlKey, sqlValue, store.PutOptions{})
				return sqlSinkErr
			})
		}})
}

// TestPostgresAllocs checks the target on allocations for a read
// and a write on PostgreSQL: the Store makes at most 3 allocations more
// than a bare pgx pool running the same statement. The times are
// measured by the benchmarks, and their ratios reported by command
// benchreport.
func TestPostgresAllocs(t *testing.T) {
	ctx := context.Background()
	s, pool := pgSides(t)
	sqlAllocs(t, "PostgreSQL Get",
		func() { sqlSinkBytes, sqlSinkErr = barePgGet(ctx, pool) },
		func() { sqlSinkRecord, sqlSinkErr = s.Get(ctx, sqlKey) })
	sqlAllocs(t, "PostgreSQL Put",
		func() { sqlSinkErr = barePgPut(ctx, pool) },
		func() { sqlSinkRev, sqlSinkErr = s.Put(ctx, sqlKey, sqlValue, store.PutOptions{}) })
}
