// Package inproc holds the in-process benchmarks of WeGO's call path and
// of the go-kit code that does the same work. Run them with
//
//	go test -run '^$' -bench . -benchmem -count 6 ./inproc
//
// or through cmd/benchreport, which takes medians and writes the report.
package inproc
