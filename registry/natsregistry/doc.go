// Package natsregistry is WeGO's service registry on NATS: the
// [registry.Registry] of the NATS engine (package engine), kept in a
// JetStream key-value bucket.
//
// Each node is one key of the bucket [Bucket], service.id, whose value is
// the node's JSON with its format's version ([registry.Encode]). A
// registered node's key is written again every heartbeat with a per-key
// TTL (NATS 2.11's per-message TTL); when the writes stop, the server
// removes the key at the end of its TTL and leaves a marker that every
// watcher sees. Deregister purges the key at once, with a marker too.
// Every Registry watches the whole bucket into a local cache, from which
// Lookup answers without I/O; after a reconnect (or any failure of the
// watch) it reads the bucket again and tells its watchers what changed
// meanwhile, and writes its own nodes again at once.
//
// An application whose registry.kind is "nats" — the default when it has
// a NATS engine — gets one: importing the NATS transport (package
// transport/nats) links this package, which registers the kind.
//
//	reg, err := natsregistry.New(eng, registry.Config{}, logger)
//	...
//	err = reg.Start(ctx) // after the engine's Start
package natsregistry
