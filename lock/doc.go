// Package lock takes distributed locks and runs leader elections on any
// [store.Store] whose backend has time-to-lives and compare-and-set: the
// in-process [store.Memory], NATS key-value (store/natsstore), SQL
// databases (store/sqlstore), and any other backend that passes
// store/storetest.
//
// A [Locker] acquires a lock by name with a time-to-live, blocking until
// it is free ([Locker.Acquire]) or trying once ([Locker.TryAcquire]). The
// [Lease] it returns is held until it is released, or until its
// time-to-live passes without a refresh; [Lease.Lost] reports the end.
//
// # Fencing tokens
//
// A lock cannot by itself guarantee that two processes never act as its
// holder at once: a holder that pauses (a stop-the-world collection, a
// stopped virtual machine, a slow disk) past its time-to-live still
// believes it holds the lock when it wakes, while another process has
// taken it. Every lease therefore carries a fencing token
// ([Lease.Token]): the store's revision of the write that took the lock,
// so that every later holder of any lock of the store has a larger one.
// A holder passes it with each write of the records the lock protects
// ([store.PutOptions.Fence]), and the store rejects a write whose token is
// older than one that has already written the record, with an error that
// matches [store.ErrFenced]. The late write of a paused holder fails
// instead of overwriting its successor's.
//
// # Elections
//
// An election is a lock whose record names its holder, the leader.
// [Locker.Campaign] blocks until the candidate leads and keeps its term
// alive in the background until it resigns ([Term.Resign]) or loses it
// ([Term.Lost]); [Locker.Leader] and [Locker.Observe] tell anyone who
// leads.
//
// # Keys
//
// A lock named n is the record "_lock.n" of the store, and an election
// named n the record "_leader.n": keys that start with "_" are reserved
// for WeGO ([store.ValidKey]), so they never collide with an
// application's records. A name is any valid store key.
package lock
