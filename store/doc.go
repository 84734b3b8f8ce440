// Package store keeps records by key, behind one small interface with an
// in-process default and real engines for when one process is not enough.
//
// A [Record] is a key, a value of bytes, metadata, an optional expiry, a
// revision and a fencing token. The [Store] interface reads one key or a
// prefix, writes with a time-to-live and with conditions (create only,
// only if the revision is still N, only if no newer lock holder has
// written), deletes, lists keys and watches a prefix.
//
// Revisions are the store's concurrency control: every write gets a
// revision larger than any before it, and a write that names the
// revision it read ([PutOptions.IfRevision]) fails with [ErrConflict] if
// someone wrote in between, so that read-modify-write loops never lose
// an update.
//
// Backends: [Memory] here; bbolt files, SQLite and PostgreSQL databases
// and NATS key-value buckets in the sub-packages. Each reports what it
// can do, and how durable a successful write is, in its [Features].
package store
