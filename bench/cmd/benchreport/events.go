package main

import (
	"fmt"
	"strings"
	"time"
)

// ---- events suite ----

// eventsSuite is the events suite: BenchmarkTargets of package
// eventsbench, which measures the sides of each pair in turns itself
// and reports the results as metrics.
var eventsSuite = goSuite{pkg: "eventsbench", pattern: "^BenchmarkTargets$"}

// Events targets of the issue.
const (
	eventsMaxRatio   = 1.1 // a synchronous publish ≤ 1.1× the latency of bare nats.go
	eventsMinRate    = 0.9 // asynchronous publishing ≥ 0.9× the throughput of bare nats.go
	eventsMoreAllocs = 5   // allocations ≤ bare + 5
)

// eventsMinBenchtime is the least -benchtime of the events suite: a round
// of its asynchronous benchmark, four sides of 1,000 publishes, takes
// about 50 ms, and a median wants a score of them.
const eventsMinBenchtime = time.Second

func runEvents(s settings) (string, error) {
	started, load := time.Now(), loadAvg()
	es := s
	if d, err := time.ParseDuration(s.benchtime); err != nil || d < eventsMinBenchtime {
		es.benchtime = eventsMinBenchtime.String()
	}
	res, skips, err := runGoBench(es, eventsSuite)
	if err != nil {
		return "", err
	}
	run := fmt.Sprintf("Measured by the run of %s (%s mode: %d runs of the suite at `-benchtime %s`, each on a new server); the 1-minute load average was %s at the section's start and %s at its end, on %s.\n\n",
		started.UTC().Format("2006-01-02 15:04 MST"), modeName(s), es.count, es.benchtime, load, loadAvg(), machineSummary())
	return eventsTable(res, skips, run), nil
}

func modeName(s settings) string {
	if s.quick {
		return "quick"
	}
	return "full"
}

// eventsPair is a row of the events table: a WeGO side and the bare side
// that sends what it sends, by their names in eventsbench's metrics.
type eventsPair struct {
	label      string
	bare, wego string
}

var eventsPairs = []eventsPair{
	{"no request id in the context: no headers", "bare", "wego"},
	{"a request id in the context (behind the requestid middleware): `X-Correlation-Id`", "bare-cid", "wego-rid"},
}

func eventsTable(r inprocResult, skips map[string]string, run string) string {
	var b strings.Builder
	b.WriteString("## Events\n\n")
	b.WriteString("An event published on JetStream through a topic of package `events` with empty chains (package `events/jsevents`), ")
	b.WriteString("beside a bare nats.go JetStream publish of the same JSON (51 bytes) with the same headers, on WeGO's engine embedded in the ")
	b.WriteString("benchmark's process (`bench/eventsbench`). Each side has a stream of its own, of the backend's settings, on one server ")
	b.WriteString("that syncs every 2 minutes rather than before each acknowledgement (a sync would hide WeGO's cost), and one connection. ")
	b.WriteString("WeGO sends the headers that carry information only: an event has none unless its publisher's context has a request id, ")
	b.WriteString("which becomes its `X-Correlation-Id`, or it has a message id; so there are two pairs. In each run the sides take turns, ")
	b.WriteString("one publish each (synchronous), or 1,000 publishes and their acknowledgements each (asynchronous), starting with a ")
	b.WriteString("different side each round, and each side's figure is its median; ratios are the medians over the runs of the ratios ")
	b.WriteString("within each run, with their quartiles in brackets. Allocations count the client's and the server's.\n\n")
	b.WriteString(run)
	b.WriteString("| publish | headers | bare nats.go | WeGO | × bare (quartiles) | allocs/op, bare → WeGO | target | |\n")
	b.WriteString("|---|---|--:|--:|--:|--:|---|---|\n")
	for _, mode := range []string{"sync", "async"} {
		name := "Targets/" + mode
		if _, ok := r[name]; !ok {
			fmt.Fprintf(&b, "| %s | | not measured: %s | | | | | |\n", mode, skipReason(skips, name))
			continue
		}
		for _, p := range eventsPairs {
			ratio := spreadOf(r.metricRuns(name, p.wego+"/"+p.bare))
			if mode == "sync" {
				bare, _ := r.metric(name, p.bare+"-ns")
				wego, _ := r.metric(name, p.wego+"-ns")
				ab, _ := r.metric(name, p.bare+"-allocs")
				aw, _ := r.metric(name, p.wego+"-allocs")
				v := verdict{fmt.Sprintf("latency ≤ %.1f× bare, allocs ≤ bare + %d (%+.0f)", eventsMaxRatio, eventsMoreAllocs, aw-ab),
					status(ratio.med <= eventsMaxRatio && aw <= ab+eventsMoreAllocs)}
				fmt.Fprintf(&b, "| synchronous, latency | %s | %s | %s | %s | %s → %s | %s | %s |\n",
					p.label, fmtTime(bare), fmtTime(wego), ratio, fmtAllocs(ab), fmtAllocs(aw), v.target, v.status)
				continue
			}
			bare, _ := r.metric(name, p.bare+"-ev/s")
			wego, _ := r.metric(name, p.wego+"-ev/s")
			v := verdict{fmt.Sprintf("throughput ≥ %.1f× bare", eventsMinRate), status(ratio.med >= eventsMinRate)}
			fmt.Fprintf(&b, "| asynchronous, events/s | %s | %.0f | %.0f | %s | | %s | %s |\n",
				p.label, bare, wego, ratio, v.target, v.status)
		}
	}
	b.WriteString("\n```sh\ncd bench\ngo run ./cmd/benchreport -only events -out -   # this section alone, on stdout\n")
	b.WriteString("go test -run 'TestPublish' -v ./eventsbench   # one run of each pair, logged\n")
	b.WriteString("go test -run '^$' -bench 'PublishSync/wego$' -cpuprofile cpu.out ./eventsbench   # profile one side\n```\n\n")
	return b.String()
}

// metricRuns returns the metric unit of the benchmark name in each run
// that reported it.
func (r inprocResult) metricRuns(name, unit string) []float64 {
	var xs []float64
	for _, s := range r[name] {
		if v, ok := s.metrics[unit]; ok {
			xs = append(xs, v)
		}
	}
	return xs
}
