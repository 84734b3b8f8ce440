// Package registry is WeGO's service discovery: where the running nodes of
// a mesh's services, and their endpoints, are found.
//
// A node registers itself ([Registry.Register]) with the endpoints where
// it is reached — {"http": "http://10.0.0.5:8081"} — and the registry
// keeps its entry alive by heartbeats until it deregisters or its registry
// closes. Callers find the nodes of a service with [Registry.Lookup], from
// a local copy, without I/O, a lock or an allocation, or follow them with
// [Registry.Watch]:
//
//	nodes, err := reg.Lookup("inventory") // shared: read, never modify
//
// # Heartbeats and time-to-live
//
// An entry is written again every heartbeat (registry.heartbeat, 2s) and
// expires one TTL (registry.ttl, 6s: three heartbeats) after its last
// write. A node that stops cleanly deregisters, and is gone for everyone
// at once; one that is killed, frozen or cut off stops writing and is
// gone within the TTL.
//
// # Implementations
//
// [Memory] keeps the entries in the process, with the same heartbeats and
// TTL; package registry/natsregistry keeps them in a JetStream key-value
// bucket of the NATS engine, one key per node. Both read entries through
// a [Cache], which ignores malformed entries and entries of another
// [Format] and logs each once. Package registry/registrytest is the
// conformance suite that each passes.
//
// This package imports no NATS: a program that does not use NATS does not
// link it. An application (package fw) makes its registry from the
// "registry" section ([Config]) through the factory registered for its
// kind ([RegisterKind]), registers its own node when it starts and
// deregisters it first when it stops.
package registry
