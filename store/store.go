package store

import (
	"context"
	"time"
)

// Record is the value of one key, as a store keeps it.
//
// A record that a store returns shares its Value and Metadata with the
// store and with every other reader: treat both as read-only, and copy
// them before changing them.
type Record struct {
	// Key is the record's key (see [ValidKey]).
	Key string
	// Value is the record's value: any bytes, up to the backend's
	// [Features.MaxValue].
	Value []byte
	// Metadata is string pairs stored with the value, such as a content
	// type; nil when the write gave none.
	Metadata map[string]string
	// Revision is the store's revision of the write that made this record.
	// Revisions grow with every write to the store, across all keys, so a
	// later write of any key has a larger revision; a compare-and-set
	// ([PutOptions.IfRevision]) names the revision it read.
	Revision uint64
	// Expires is when the record expires; the zero time means never. A
	// store never returns an expired record, even before its backend has
	// removed it.
	Expires time.Time
	// Fence is the fencing token of the last fenced write of this key
	// ([PutOptions.Fence]), or 0 when no fenced write has been made since
	// the key was created.
	Fence uint64
}

// PutOptions are the conditions and attributes of one write. The zero
// value writes unconditionally, with no expiry and no metadata.
type PutOptions struct {
	// TTL is how long the record lives after this write; 0 means until it
	// is deleted or written again with a TTL. Negative is an error. A
	// backend rounds it up to its own resolution (whole seconds on NATS
	// key-value) and never down.
	TTL time.Duration
	// Metadata is stored with the value (nil: none). A write replaces the
	// previous metadata with this.
	Metadata map[string]string
	// Create makes the write succeed only if the key does not exist (or
	// has expired or been deleted); otherwise it fails with an error that
	// matches [ErrConflict] and writes nothing.
	Create bool
	// IfRevision, when non-zero, makes the write succeed only if the key
	// exists and its revision is still IfRevision: optimistic concurrency.
	// Otherwise the write fails with an error that matches [ErrConflict]
	// and writes nothing. It cannot be combined with Create.
	IfRevision uint64
	// Fence, when non-zero, makes the write succeed only if no write with
	// a larger fencing token has been made to the key: the key's stored
	// [Record.Fence] must be at most Fence, and this write stores Fence in
	// it. A lock holder passes the token of its lease (package lock), so
	// that a holder that lost its lease while paused, and whose successor
	// has written since, has its late write rejected with an error that
	// matches [ErrFenced]. A write without a Fence keeps the key's stored
	// fence.
	Fence uint64
}

// DeleteOptions are the conditions of one delete. The zero value deletes
// unconditionally.
type DeleteOptions struct {
	// IfRevision, when non-zero, makes the delete succeed only if the key
	// exists with this revision; otherwise it fails with an error that
	// matches [ErrConflict] and deletes nothing.
	IfRevision uint64
	// Fence, when non-zero, makes the delete succeed only if the key's
	// stored fence is at most Fence; otherwise it fails with an error that
	// matches [ErrFenced]. Deleting a key forgets its fence.
	Fence uint64
}

// ListOptions choose which records a List or Keys returns, and in what
// order.
type ListOptions struct {
	// Limit is the most records returned; 0 means no limit.
	Limit int
	// Reverse returns the keys in descending byte order instead of
	// ascending.
	Reverse bool
	// After, when non-empty, starts the listing after this key (before it
	// when Reverse), so that a caller pages through a prefix by passing
	// the last key of the previous page.
	After string
}

// EventKind is what a watch [Event] reports.
type EventKind uint8

// The kinds of watch event.
const (
	// EventPut reports a record that was written, or, in the first part
	// of a watch, one that exists.
	EventPut EventKind = iota + 1
	// EventDelete reports a key that was deleted or has expired; the
	// event's Record has the key and the revision of the delete, where
	// the backend knows it.
	EventDelete
	// EventSynced marks the end of the current records that a watch sends
	// first: the events after it are changes.
	EventSynced
	// EventReset reports a gap: the watch may have missed changes (its
	// receiver fell behind, or its backend lost history across a
	// reconnect). The records under the prefix follow as EventPut, then
	// EventSynced, as at the start of a watch; a key that is not among
	// them no longer exists.
	EventReset
)

// Event is one change that a watch reports.
type Event struct {
	// Kind is what happened.
	Kind EventKind
	// Record is the record written (EventPut) or the key deleted
	// (EventDelete); zero for EventSynced and EventReset.
	Record Record
}

// Durability is how far a successful write has gone, as a backend reports
// it in [Features.Durability].
type Durability uint8

// The durability levels, from weakest to strongest.
const (
	// DurabilityMemory: the write is in this process's memory only; it is
	// lost when the process ends.
	DurabilityMemory Durability = iota + 1
	// DurabilityOS: the write is in the operating system's buffers; it
	// survives the process but not a crash of the machine.
	DurabilityOS
	// DurabilitySynced: the write is on this machine's disk (fsync) before
	// it is acknowledged.
	DurabilitySynced
	// DurabilityReplicated: the write is on the disks of a quorum of
	// servers before it is acknowledged.
	DurabilityReplicated
)

// Features are what a backend can do. A conformance suite
// (package store/storetest) tests each feature a backend claims, and that
// an operation it does not claim fails with [ErrUnsupported] instead of
// appearing to work.
type Features struct {
	// Watch: Watch reports changes.
	Watch bool
	// TTL: PutOptions.TTL is honoured.
	TTL bool
	// Durability is the level a successful write has reached.
	Durability Durability
	// ReadYourWrites: a Get after a successful Put on the same store
	// always sees that write (NATS key-value served by a follower need
	// not).
	ReadYourWrites bool
	// MaxValue is the largest value in bytes a Put accepts.
	MaxValue int
}

// Store keeps records by key. Every method is safe for concurrent use,
// takes a context that cancels it, and returns errors that match one of
// the errors of this package with [errors.Is] (and carry a kind of
// package errs: a key that is not valid is invalid_argument naming the
// field, a conflict is conflict, a lost database is unavailable).
//
// Implementations: [Memory] (one process, the default) and the backends
// in the sub-packages of store (bbolt files, SQL databases, NATS
// key-value); package store/storetest checks that an implementation keeps
// these promises.
type Store interface {
	// Get returns the record of key, or an error matching [ErrNotFound].
	Get(ctx context.Context, key string) (Record, error)
	// List returns the records whose keys start with prefix (every record
	// when prefix is empty), ordered by key as opts says. WeGO's own
	// records, whose keys start with "_", are listed (and watched) only
	// under a prefix that starts with "_" ([Under]).
	List(ctx context.Context, prefix string, opts ListOptions) ([]Record, error)
	// Keys is List returning the keys only.
	Keys(ctx context.Context, prefix string, opts ListOptions) ([]string, error)
	// Put writes value under key if the conditions of opts hold, and
	// returns the revision of the write. When they do not hold, or the
	// call fails, nothing is written.
	Put(ctx context.Context, key string, value []byte, opts PutOptions) (uint64, error)
	// Delete removes key if the conditions of opts hold. Deleting a key
	// that does not exist is not an error, unless opts has a condition.
	Delete(ctx context.Context, key string, opts DeleteOptions) error
	// Watch reports the changes of the keys that start with prefix: first
	// the current records as [EventPut] and an [EventSynced], then every
	// change in revision order, until ctx ends or the store closes (the
	// channel then closes). A receiver that falls behind gets an
	// [EventReset] instead of blocking writers. A backend without
	// Features.Watch returns an error matching [ErrUnsupported].
	Watch(ctx context.Context, prefix string) (<-chan Event, error)
	// Features reports what the backend can do.
	Features() Features
	// Close releases the store's resources; later calls fail with an
	// error matching [ErrClosed]. Close is idempotent.
	Close() error
}
