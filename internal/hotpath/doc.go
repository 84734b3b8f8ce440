// Package hotpath holds no code: its tests assert the allocation counts of
// WeGO's hot paths with testing.AllocsPerRun, so that a change that makes
// a call allocate fails CI. Allocation counts are exact on any machine;
// times are not asserted here (the benchmark suite in the bench module
// measures them, see docs/performance.md).
package hotpath
