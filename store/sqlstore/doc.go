// Package sqlstore keeps the records of package store in a table of a
// SQLite file or a PostgreSQL database: store.kind "sqlite" (with
// store.path) and "postgres" (with store.dsn), or [Open] in code.
//
// Both engines share one implementation with a dialect each. SQLite is
// embedded (modernc.org/sqlite, pure Go): one file on this host, in WAL
// mode, written with synchronous=FULL. PostgreSQL is reached with
// github.com/jackc/pgx/v5 and may be shared by any number of processes.
//
// A store's table is named from its name (store.name, default "wego"),
// with the columns key, value, metadata, revision, expires_at and fence.
// Two tables are shared by the stores of a database: wego_store_tables
// holds each table's schema version and revision counter, and
// wego_store_changes each store's recent changes, from which watches
// read. Tables are created on first use; a table whose schema version
// the program does not know stops the store from starting, with a
// message naming the table.
//
// Every write is one statement: its conditions (Create, IfRevision,
// Fence), the next revision and the change in the history are checked and
// written atomically. Revisions are store-wide and commit in order, which
// lets a watch resume after a lost connection from the revision it
// reached. PostgreSQL notifies watches of changes (LISTEN/NOTIFY); on
// SQLite, a Store's own writes wake its watches at once and the writes of
// other processes are seen within [Options.PollInterval].
//
// A database that cannot be reached makes every call fail with an error
// matching [store.ErrUnavailable], and nothing is written; the store
// reconnects by itself when the database is back.
package sqlstore
