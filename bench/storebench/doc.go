// Package storebench holds the benchmarks of package store's backends:
// each reads and writes one record through the store and through the bare
// library it wraps (bbolt's View and Update, nats.go's KeyValue), on the
// same database or server in the same run, so that the ratio of the two
// is the store's own cost. Run them with
//
//	go test -run '^$' -bench . -benchmem -count 6 ./storebench
//
// The package's tests check the allocations of each pair, which do not
// depend on the machine's load; TestBoltOverhead also compares the
// thread's CPU time of the two, on a machine quiet enough to measure.
package storebench
