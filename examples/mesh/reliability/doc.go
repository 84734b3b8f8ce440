// Package reliability is the reliability and security suite of the example
// mesh: orders calling inventory over HTTP on loopback, under load, under
// injected faults, while inventory shuts down, against hostile input, and
// checking that no internal detail reaches a client.
//
// The package holds tests only (and this comment); see docs/reliability.md.
// `go test ./examples/mesh/reliability` runs the short version; WEGO_SOAK=1
// runs the long one (`make soak`).
package reliability
