// Package eventsbench holds the benchmarks of the JetStream backend of
// events (package events/jsevents): an event published through a topic
// — its client chain, the JSON encoding, the headers, the stream's
// acknowledgement — beside a bare nats.go JetStream publish of the same
// JSON with the same headers, on one embedded server in the same run,
// so that the ratio of the two is WeGO's own cost.
//
// WeGO sends only the headers that carry information, so there are two
// pairs: a publish whose context has no request id, which sends no
// header, beside a bare publish without headers; and a publish whose
// context has a request id, as behind the requestid middleware, which
// sends it as X-Correlation-Id, beside a bare publish with that header.
//
// BenchmarkTargets measures the sides of both pairs in turns and reports
// the medians and ratios as metrics; command benchreport makes the Events
// section of docs/performance.md from several runs of it:
//
//	go run ./cmd/benchreport -only events
//
// BenchmarkPublishSync and BenchmarkPublishAsync time each side alone,
// for profiling. The package's tests check the allocations of the
// synchronous pairs, which do not depend on the machine's load, and log
// the ratios of the latencies (synchronous) and of the throughputs
// (asynchronous), measured in turns so that the load weighs on both
// sides alike.
package eventsbench
