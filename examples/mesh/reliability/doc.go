// Package reliability is the reliability and security suite of the example
// mesh: orders calling inventory over HTTP on loopback, under load, under
// injected faults, while inventory shuts down, against hostile input, and
// checking that no internal detail reaches a client.
//
// TestShipmentsAcrossCrashes runs the whole mesh as processes — a NATS
// server with JetStream on file storage, inventory, orders and shipping,
// built from their main packages — and places 1,000 orders (soak: 10,000)
// while shipping is killed and restarted twice and the server restarted
// once: every order gets exactly one shipment, no event is lost, and the
// duplicates that reach shipping's subscriber create nothing twice.
//
// The package holds tests only (and this comment); see docs/reliability.md.
// `go test ./examples/mesh/reliability` runs the short version; WEGO_SOAK=1
// runs the long one (`make soak`).
package reliability
