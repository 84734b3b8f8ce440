// Package natsstore is the [store.Store] on NATS: the records are the keys
// of a JetStream key-value bucket of the NATS engine (package engine),
// which every process connected to the same NATS servers shares.
//
// An application chooses it with store.kind "nats"; importing this
// package registers the kind. The bucket is store.name ("wego" by
// default), created when it does not exist with store.replicas copies;
// use 3 in a cluster.
//
//	s, err := natsstore.New(eng, store.Config{Name: "orders", Replicas: 1}, logger)
//	...
//	err = s.Start(ctx) // after the engine's Start
//
// # Records
//
// A record is the last message of the subject $KV.<bucket>.<key>: its
// value is the message's data, its revision the message's sequence in the
// bucket's stream (one counter for the whole bucket), and its metadata,
// fence and time-to-live are headers of the message (Wego-Meta,
// Wego-Fence and NATS's own Nats-TTL). Conditions are the server's: a
// compare-and-set publishes with Nats-Expected-Last-Subject-Sequence, so
// two writers never both win. A write without a fencing token keeps the
// key's token: keys once written with one are marked by a hidden record,
// _fence.<key>, and a write to a marked key reads its record first and
// carries the token over in a compare-and-set; other unconditional writes
// are one message. A time-to-live is per write, rounded up to
// whole seconds, and the server removes the record when it ends, leaving
// a marker that watches report as a delete; reads never return an expired
// record, even before the server has removed it.
//
// # Durability
//
// A write returns once the bucket's stream has stored it. On the engine's
// embedded server that is after a sync to disk (nats.server.sync_interval,
// default always: [store.DurabilitySynced]); with 3 replicas, after a
// majority of the servers have it ([store.DurabilityReplicated]). With one
// replica on external servers, whose sync settings a client cannot see,
// Features reports [store.DurabilityOS].
//
// # Watches
//
// A watch is an ephemeral consumer of the bucket's stream, with flow
// control and heartbeats. When the connection comes back after a
// disconnection, or the consumer is lost (a server restart), the watch
// starts a new consumer at the revision after the last one it handled, so
// that it misses and repeats nothing. When it cannot know that (it was
// away for longer than the bucket keeps delete markers, 15 minutes, or
// the bucket was made again), it sends a [store.EventReset] and the
// current records instead.
package natsstore
