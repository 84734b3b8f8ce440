package sqlstore

import (
	"regexp"
	"strings"
)

// Dialect is a database engine that a [Store] speaks.
type Dialect string

// The dialects.
const (
	// SQLite is a file on this host, through modernc.org/sqlite (pure Go,
	// embedded): store.kind sqlite.
	SQLite Dialect = "sqlite"
	// Postgres is a PostgreSQL server, through github.com/jackc/pgx/v5:
	// store.kind postgres.
	Postgres Dialect = "postgres"
)

// A database holds, besides one table per store (named from
// [Options.Name]), two tables that its stores share:
//
//   - wego_store_tables: one row per store table, with its schema version,
//     its revision counter and the revision of the newest change its
//     history has lost to a trim (and a row with the empty name for the
//     version of the shared tables);
//   - wego_store_changes: the recent changes of every store, by name and
//     revision, from which watches read.
const (
	tablesTable  = "wego_store_tables"
	changesTable = "wego_store_changes"
)

// schemaVersion is the version of a store's table that this package
// writes; sharedVersion that of the shared tables.
const (
	schemaVersion = 1
	sharedVersion = 1
)

// maxPostgresName is the longest table name PostgreSQL keeps whole.
const maxPostgresName = 63

// queries are the statements of one store, in its dialect, with its
// table's name in them.
type queries struct {
	get      string
	list     [2]string // ascending, descending
	keys     [2]string
	upsert   string // Put without IfRevision
	update   string // Put with IfRevision
	delete   string
	expire   string // delete an expired record if its revision is still $2
	current  string // the revision, fence and liveness of a key, to explain a failed condition
	expired  string
	changes  string
	horizon  string // the counter and the trimmed horizon
	snapshot [2]string
	trim     []string // run in one transaction
}

// numbered matches the $n placeholders of the statements below, written
// as PostgreSQL wants them; SQLite gets ?n.
var numbered = regexp.MustCompile(`\$(\d+)`)

// buildQueries returns the statements of the store whose table is name.
func buildQueries(d Dialect, name string) queries {
	t := quoteIdent(name)
	lit := quoteLiteral(name)
	now := d.now()
	live := "(expires_at IS NULL OR expires_at > " + now + ")"
	cols := "key, value, metadata, revision, COALESCE(expires_at, 0), fence"
	// Keys that start with "_" are WeGO's own: the listing of every key
	// (an empty prefix, so $1 = '') leaves them out (store.Under).
	own := "($1 <> '' OR key < '_' OR key >= '`')"
	var q queries
	q.get = "SELECT value, metadata, revision, COALESCE(expires_at, 0), fence FROM " + t + " WHERE key = $1 AND " + live
	// $1 lower bound, $2 upper bound of the prefix; $3 the After key
	// (ascending: keys above it; descending: below); $4 the limit.
	for i, dir := range []string{"", " DESC"} {
		after := "key > $3"
		if dir != "" {
			after = "key < $3"
		}
		where := " WHERE key >= $1 AND key < $2 AND " + own + " AND " + after + " AND " + live + " ORDER BY key" + dir + " LIMIT $4"
		q.list[i] = "SELECT " + cols + " FROM " + t + where
		q.keys[i] = "SELECT key FROM " + t + where
	}
	q.current = "SELECT revision, fence, CASE WHEN " + live + " THEN 1 ELSE 0 END FROM " + t + " WHERE key = $1"
	q.expired = "SELECT key, revision FROM " + t + " WHERE expires_at IS NOT NULL AND expires_at <= " + now + " ORDER BY expires_at LIMIT 256"
	q.changes = "SELECT revision, key, deleted, value, metadata, COALESCE(expires_at, 0), fence FROM " + changesTable +
		" WHERE name = " + lit + " AND revision > $1 AND revision <= $2 ORDER BY revision LIMIT $3"
	q.horizon = "SELECT revision, trimmed FROM " + tablesTable + " WHERE name = " + lit
	q.snapshot = q.list
	for i := range q.snapshot {
		q.snapshot[i] = "SELECT " + cols + " FROM " + t + " WHERE key >= $1 AND key < $2 AND " + own + " AND " + live + " ORDER BY key"
	}
	// A trim deletes the changes up to revision $1 and moves the horizon
	// to the newest of them, not to $1: a watch that has read that far
	// missed nothing, even if it has not read the revisions after it,
	// which failed conditional writes took without leaving a change.
	trimmedTo := "COALESCE((SELECT max(revision) FROM " + changesTable + " WHERE name = " + lit + " AND revision <= $1), 0)"
	expired := "(" + t + ".expires_at IS NOT NULL AND " + t + ".expires_at <= " + now + ")"
	ttl := "CASE WHEN $4 > 0 THEN " + now + " + $4 END"
	switch d {
	case SQLite:
		// One statement a write: the revision comes from the counter row,
		// and the table's triggers (see migrations) move the counter and
		// append the change. Writes are serialized (one at a time per
		// Store, and SQLite's write lock between processes), so the
		// revision read here is still the counter's when the trigger
		// writes it.
		next := "(SELECT revision + 1 FROM " + tablesTable + " WHERE name = " + lit + ")"
		q.upsert = "INSERT INTO " + t + " (key, value, metadata, revision, expires_at, fence) VALUES ($1, $2, $3, " + next + ", " + ttl + ", $5)" +
			" ON CONFLICT (key) DO UPDATE SET value = excluded.value, metadata = excluded.metadata, revision = excluded.revision," +
			" expires_at = excluded.expires_at, fence = CASE WHEN excluded.fence <> 0 OR " + expired + " THEN excluded.fence ELSE " + t + ".fence END" +
			" WHERE ($6 = 0 OR " + expired + ") AND (excluded.fence = 0 OR " + t + ".fence <= excluded.fence OR " + expired + ")" +
			" RETURNING revision"
		q.update = "UPDATE " + t + " SET value = $2, metadata = $3, revision = " + next + ", expires_at = " + ttl +
			", fence = CASE WHEN $5 <> 0 THEN $5 ELSE fence END" +
			" WHERE key = $1 AND revision = $6 AND " + live + " AND ($5 = 0 OR fence <= $5) RETURNING revision"
		q.delete = "DELETE FROM " + t + " WHERE key = $1 AND ($2 = 0 OR (revision = $2 AND " + live + "))" +
			" AND ($3 = 0 OR fence <= $3 OR NOT " + live + ") RETURNING 1"
		q.expire = "DELETE FROM " + t + " WHERE key = $1 AND revision = $2 AND NOT " + live + " RETURNING 1"
		q.trim = []string{
			"UPDATE " + tablesTable + " SET trimmed = max(trimmed, " + trimmedTo + ") WHERE name = " + lit,
			"DELETE FROM " + changesTable + " WHERE name = " + lit + " AND revision <= $1",
		}
	case Postgres:
		// One statement a write: the counter row is updated first, and
		// its lock, held until the commit, makes the store's writes
		// commit one at a time in revision order; the change is appended
		// in the same statement, and its insert notifies the listeners
		// (a trigger of wego_store_changes).
		next := "WITH r AS (UPDATE " + tablesTable + " SET revision = revision + 1 WHERE name = " + lit + " RETURNING revision), "
		logged := ", l AS (INSERT INTO " + changesTable + " (name, revision, key, deleted, value, metadata, expires_at, fence)" +
			" SELECT " + lit + ", revision, key, false, value, metadata, expires_at, fence FROM w) SELECT revision FROM w"
		pgTTL := "CASE WHEN $4::bigint > 0 THEN " + now + " + $4::bigint END"
		q.upsert = next + "w AS (INSERT INTO " + t + " AS t (key, value, metadata, revision, expires_at, fence)" +
			" SELECT $1::text, $2::bytea, $3::bytea, r.revision, " + pgTTL + ", $5::bigint FROM r" +
			" ON CONFLICT (key) DO UPDATE SET value = excluded.value, metadata = excluded.metadata, revision = excluded.revision," +
			" expires_at = excluded.expires_at, fence = CASE WHEN excluded.fence <> 0 OR " + pgExpired("t", now) + " THEN excluded.fence ELSE t.fence END" +
			" WHERE (NOT $6::boolean OR " + pgExpired("t", now) + ") AND (excluded.fence = 0 OR t.fence <= excluded.fence OR " + pgExpired("t", now) + ")" +
			" RETURNING t.key, t.value, t.metadata, t.revision, t.expires_at, t.fence)" + logged
		q.update = next + "w AS (UPDATE " + t + " AS t SET value = $2::bytea, metadata = $3::bytea, revision = r.revision, expires_at = " + pgTTL +
			", fence = CASE WHEN $5::bigint <> 0 THEN $5::bigint ELSE t.fence END FROM r" +
			" WHERE t.key = $1 AND t.revision = $6::bigint AND NOT " + pgExpired("t", now) + " AND ($5::bigint = 0 OR t.fence <= $5::bigint)" +
			" RETURNING t.key, t.value, t.metadata, t.revision, t.expires_at, t.fence)" + logged
		q.delete = next + "d AS (DELETE FROM " + t + " AS t USING r WHERE t.key = $1" +
			" AND ($2::bigint = 0 OR (t.revision = $2::bigint AND NOT " + pgExpired("t", now) + "))" +
			" AND ($3::bigint = 0 OR t.fence <= $3::bigint OR " + pgExpired("t", now) + ") RETURNING t.key, r.revision)," +
			" l AS (INSERT INTO " + changesTable + " (name, revision, key, deleted) SELECT " + lit + ", revision, key, true FROM d)" +
			" SELECT count(*) FROM d"
		q.expire = next + "d AS (DELETE FROM " + t + " AS t USING r WHERE t.key = $1 AND t.revision = $2::bigint AND " + pgExpired("t", now) +
			" RETURNING t.key, r.revision)," +
			" l AS (INSERT INTO " + changesTable + " (name, revision, key, deleted) SELECT " + lit + ", revision, key, true FROM d)" +
			" SELECT count(*) FROM d"
		q.trim = []string{
			"UPDATE " + tablesTable + " SET trimmed = GREATEST(trimmed, " + trimmedTo + ") WHERE name = " + lit,
			"DELETE FROM " + changesTable + " WHERE name = " + lit + " AND revision <= $1",
		}
	}
	if d == SQLite {
		for _, p := range []*string{&q.get, &q.list[0], &q.list[1], &q.keys[0], &q.keys[1], &q.upsert, &q.update, &q.delete, &q.expire,
			&q.current, &q.expired, &q.changes, &q.horizon, &q.snapshot[0], &q.snapshot[1], &q.trim[0], &q.trim[1]} {
			*p = numbered.ReplaceAllString(*p, "?$1")
		}
	}
	return q
}

func pgExpired(t, now string) string {
	return "(" + t + ".expires_at IS NOT NULL AND " + t + ".expires_at <= " + now + ")"
}

// now is the expression of the database's clock in microseconds since
// 1970: expiry is judged by the database, so that the processes that
// share a PostgreSQL database agree on it whatever their clocks say.
func (d Dialect) now() string {
	if d == Postgres {
		return "(EXTRACT(EPOCH FROM statement_timestamp()) * 1000000)::bigint"
	}
	return "CAST(unixepoch('subsec') * 1000000 AS INTEGER)"
}

// noLimit is the LIMIT parameter that means none.
func (d Dialect) noLimit() any {
	if d == Postgres {
		return nil // LIMIT NULL is LIMIT ALL
	}
	return int64(-1)
}

// boolArg is a boolean parameter: PostgreSQL has booleans, SQLite 0 and 1.
func (d Dialect) boolArg(b bool) any {
	if d == Postgres {
		return b
	}
	if b {
		return int64(1)
	}
	return int64(0)
}

// migrations returns the statements that bring a store's table from
// version i to i+1, for each i from 0.
func (d Dialect) migrations(name string) [][]string {
	t := quoteIdent(name)
	lit := quoteLiteral(name)
	switch d {
	case SQLite:
		logRow := "UPDATE " + tablesTable + " SET revision = NEW.revision WHERE name = " + lit + ";" +
			" INSERT INTO " + changesTable + " (name, revision, key, deleted, value, metadata, expires_at, fence)" +
			" VALUES (" + lit + ", NEW.revision, NEW.key, 0, NEW.value, NEW.metadata, NEW.expires_at, NEW.fence);"
		return [][]string{{
			"CREATE TABLE " + t + " (key TEXT PRIMARY KEY, value BLOB NOT NULL, metadata BLOB, revision INTEGER NOT NULL, expires_at INTEGER, fence INTEGER NOT NULL DEFAULT 0)",
			"CREATE INDEX " + quoteIdent(name+"_expires") + " ON " + t + " (expires_at) WHERE expires_at IS NOT NULL",
			"CREATE TRIGGER " + quoteIdent(name+"_insert") + " AFTER INSERT ON " + t + " BEGIN " + logRow + " END",
			"CREATE TRIGGER " + quoteIdent(name+"_update") + " AFTER UPDATE ON " + t + " BEGIN " + logRow + " END",
			"CREATE TRIGGER " + quoteIdent(name+"_delete") + " AFTER DELETE ON " + t + " BEGIN" +
				" UPDATE " + tablesTable + " SET revision = revision + 1 WHERE name = " + lit + ";" +
				" INSERT INTO " + changesTable + " (name, revision, key, deleted) SELECT " + lit + ", revision, OLD.key, 1 FROM " + tablesTable + " WHERE name = " + lit + ";" +
				" END",
		}}
	default:
		return [][]string{{
			"CREATE TABLE " + t + ` (key TEXT COLLATE "C" PRIMARY KEY, value BYTEA NOT NULL, metadata BYTEA, revision BIGINT NOT NULL, expires_at BIGINT, fence BIGINT NOT NULL DEFAULT 0)`,
			"CREATE INDEX ON " + t + " (expires_at) WHERE expires_at IS NOT NULL",
		}}
	}
}

// sharedMigrations returns the statements that create the shared tables,
// version by version as migrations does.
func (d Dialect) sharedMigrations() [][]string {
	switch d {
	case SQLite:
		return [][]string{{
			"CREATE TABLE " + changesTable + " (name TEXT NOT NULL, revision INTEGER NOT NULL, key TEXT NOT NULL, deleted INTEGER NOT NULL," +
				" value BLOB, metadata BLOB, expires_at INTEGER, fence INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (name, revision))",
		}}
	default:
		return [][]string{{
			"CREATE TABLE " + changesTable + " (name TEXT NOT NULL, revision BIGINT NOT NULL, key TEXT NOT NULL, deleted BOOLEAN NOT NULL," +
				" value BYTEA, metadata BYTEA, expires_at BIGINT, fence BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (name, revision))",
			// The listeners of a store's changes wait on channel
			// wego_store_<oid of wego_store_changes>, for payloads that
			// are the store's name.
			"CREATE FUNCTION wego_store_notify() RETURNS trigger LANGUAGE plpgsql AS $$" +
				" BEGIN PERFORM pg_notify('wego_store_' || TG_RELID::text, NEW.name); RETURN NULL; END $$",
			"CREATE TRIGGER wego_store_notify AFTER INSERT ON " + changesTable + " FOR EACH ROW EXECUTE FUNCTION wego_store_notify()",
		}}
	}
}

// createTablesTable is the statement that creates wego_store_tables when
// it does not exist.
func (d Dialect) createTablesTable() string {
	typ := "BIGINT"
	if d == SQLite {
		typ = "INTEGER"
	}
	return "CREATE TABLE IF NOT EXISTS " + tablesTable + " (name TEXT PRIMARY KEY, version INTEGER NOT NULL," +
		" revision " + typ + " NOT NULL DEFAULT 0, trimmed " + typ + " NOT NULL DEFAULT 0)"
}

// quoteIdent quotes an SQL identifier.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// quoteLiteral quotes an SQL string literal.
func quoteLiteral(s string) string { return `'` + strings.ReplaceAll(s, `'`, `''`) + `'` }
