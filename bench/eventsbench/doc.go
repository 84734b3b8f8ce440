// Package eventsbench holds the benchmarks of the JetStream backend of
// events (package events/jsevents): an event published through a topic
// — its client chain, the JSON encoding, the headers, the stream's
// acknowledgement — beside a bare nats.go JetStream publish of the same
// JSON, on one embedded server in the same run, so that the ratio of the
// two is WeGO's own cost. Run them with
//
//	go test -run '^$' -bench . -benchmem -count 6 ./eventsbench
//
// The package's tests check the allocations of the synchronous pair,
// which do not depend on the machine's load, and log the ratios of the
// latencies (synchronous) and of the throughputs (asynchronous), measured
// in turns so that the load weighs on both sides alike.
package eventsbench
