// Package authbench measures package auth against its targets, in one
// run so that the ratios compare figures taken on the same machine at the
// same time:
//
//   - a repeated valid token (answered from the cache of verified tokens)
//     costs at most 0.1× a bare jwt.Parse of it, and 0 allocations;
//   - a token seen for the first time costs at most 1.1× a bare jwt.Parse;
//   - deciding a call, for a catalog of 1,000 commands and 1,000 rules,
//     takes at most 100 ns and 0 allocations.
//
// Run it from the bench module's directory:
//
//	go test -run '^$' -bench . -benchmem ./authbench
//
// Command benchreport runs BenchmarkJWT and BenchmarkDecide in interleaved
// repetitions and reports the medians of the ratios within each
// repetition beside the targets, in docs/performance.md. BenchmarkTargets
// measures the same in one process: it runs the pairs in alternating
// slices and reports the ratios as metrics (hit/parse, first/parse)
// beside the decision's ns/op.
package authbench
