// Package boltstore keeps the records of package store in a bbolt file
// (go.etcd.io/bbolt): one file on this host, one process at a time,
// every write fsynced before it returns.
//
// Import it for its effect to make store.kind "bbolt" available:
//
//	import _ "github.com/wegomesh/wego/store/boltstore"
//
// and configure the file and the bucket:
//
//	store:
//	  kind: bbolt
//	  path: data/wego.db
//	  name: wego
//
// or open a [Store] in code with [Open].
//
// The records of a store are in one bucket of the file, named after the
// store (store.name), each value behind a small header with its
// revision, expiry, fencing token and metadata; the store's revision is
// the bucket's sequence, so it survives restarts. A second bucket
// indexes expiries, from which a sweeper removes the records that have
// expired, at their expiry, and reports them to watches as deletes;
// reads never return an expired record, even before the sweeper removes
// it.
//
// bbolt lets one process at a time open a file, and its writes are one
// transaction at a time. Concurrent writes through one Store share
// transactions (a group commit), so that eight writers commit about
// eight times as many writes per fsync as one. Watches report the
// writes made through the Store, which is the file's only writer.
//
// Open checks the file before it serves it: a file that is not a bbolt
// database, that is damaged or cut short, or that a newer version of this
// package wrote, fails Open with an error that names it.
package boltstore
