package main

import (
	"math"
	"strings"
	"testing"
)

func TestSplice(t *testing.T) {
	old := "# Performance\n\nold intro\n\n## Machine\n\nold machine\n\n## In process\n\nold inproc\n\n## Store\n\nold store\n\n## How to reproduce\n\nold footer\n"
	header := "# Performance\n\nnew intro\n\n## Machine\n\nnew machine\n\n"
	ran := "## Store\n\nnew store\n\n### Locks\n\nnew locks\n\n## Auth\n\nnew auth\n\n"
	got := splice(old, header, ran)
	want := "# Performance\n\nnew intro\n\n## Machine\n\nold machine\n\n## In process\n\nold inproc\n\n" +
		"## Store\n\nnew store\n\n### Locks\n\nnew locks\n\n## Auth\n\nnew auth\n\n## How to reproduce\n\nold footer\n"
	if got != want {
		t.Errorf("splice:\n%s\nwant:\n%s", got, want)
	}
	// A page without a footer gets the new sections at its end.
	if got := splice("# P\n\n## A\n\na\n", "", "## B\n\nb\n"); got != "# P\n\n## A\n\na\n## B\n\nb\n" {
		t.Errorf("splice without a footer: %q", got)
	}
}

func TestParseSkips(t *testing.T) {
	out := `BenchmarkBoltGet/bare-2   	  100	  1000 ns/op
--- SKIP: BenchmarkPostgresGet
    pgtest.go:171: pgtest: no PostgreSQL server: initdb not found
    pgtest.go:172: second line
BenchmarkNATS/Get/bare-2   	  100	  1000 ns/op
`
	skips := parseSkips(strings.NewReader(out))
	if got := skips["PostgresGet"]; got != "pgtest: no PostgreSQL server: initdb not found" {
		t.Errorf("skip of PostgresGet: %q", got)
	}
	if len(skips) != 1 {
		t.Errorf("skips: %v", skips)
	}
	if got := skipReason(skips, "PostgresGet/store"); got != skips["PostgresGet"] {
		t.Errorf("skipReason of a sub-benchmark: %q", got)
	}
}

func TestParseBenchMetrics(t *testing.T) {
	out := "BenchmarkBoltGet/store-2   	  96675	      4340 ns/op	       937.8 cpu-ns/op	     720 B/op	       8 allocs/op\n"
	r := parseBench(strings.NewReader(out))
	s, ok := r.med("BoltGet/store")
	if !ok || s.ns != 4340 || s.allocs != 8 || s.bytes != 720 {
		t.Fatalf("BoltGet/store: %+v, %v", s, ok)
	}
	if v, ok := r.metric("BoltGet/store", "cpu-ns/op"); !ok || v != 937.8 {
		t.Errorf("cpu-ns/op: %v, %v", v, ok)
	}
}

func TestSpread(t *testing.T) {
	s := spreadOf([]float64{1.3, 0.9, 1.0, 1.1, 5, 1.2, 0.95, 1.05, 1.15, 1.0})
	if math.Abs(s.med-1.075) > 1e-9 || s.lo != 1.0 || s.hi != 1.2 {
		t.Errorf("spreadOf: %+v", s)
	}
	if got := s.String(); got != "1.07× (1.00–1.20)" && got != "1.08× (1.00–1.20)" {
		t.Errorf("String: %q", got)
	}
}

func TestEventsTable(t *testing.T) {
	out := `BenchmarkTargets/sync-2   	    7719	    157122 ns/op	        40.00 bare-allocs	        41.00 bare-cid-allocs	     19428 bare-cid-ns	     16872 bare-ns	        31.00 wego-allocs	     16221 wego-ns	        32.00 wego-rid-allocs	     18115 wego-rid-ns	         0.9324 wego-rid/bare-cid	         0.9614 wego/bare
BenchmarkTargets/async-2  	      20	  79993392 ns/op	     54535 bare-cid-ev/s	     69234 bare-ev/s	     56331 wego-ev/s	     48954 wego-rid-ev/s	         0.8977 wego-rid/bare-cid	         0.8136 wego/bare
`
	tbl := eventsTable(parseBench(strings.NewReader(out)), nil, "")
	for _, want := range []string{
		"| synchronous, latency | no request id in the context: no headers | 16.9 µs | 16.2 µs | 0.96× (0.96–0.96) | 40 → 31 | latency ≤ 1.1× bare, allocs ≤ bare + 5 (-9) | met |",
		"| asynchronous, events/s | no request id in the context: no headers | 69234 | 56331 | 0.81× (0.81–0.81) | | throughput ≥ 0.9× bare | **not met** |",
		"| 0.93× (0.93–0.93) | 41 → 32 |",
		"| 54535 | 48954 | 0.90× (0.90–0.90) | | throughput ≥ 0.9× bare | **not met** |",
	} {
		if !strings.Contains(tbl, want) {
			t.Errorf("the table lacks %q:\n%s", want, tbl)
		}
	}
}
