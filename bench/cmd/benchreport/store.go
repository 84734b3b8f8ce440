package main

import (
	"fmt"
	"strings"
	"time"
)

// ---- store suite ----

// storeSuite is the store's suite: every pair of package storebench but
// the parallel writers of bbolt, whose figure is writes per second.
var storeSuite = goSuite{
	pkg:       "storebench",
	pattern:   "^Benchmark(MemoryGet|BoltGet|BoltPut|BoltPutNoSync|SQLiteGet|SQLitePut|PostgresGet|PostgresPut|NATS|Lock)$",
	alternate: true,
}

// Store targets of the issue.
const (
	storeMaxRatio   = 1.1 // through the store ≤ 1.1× the bare library
	storeMoreAllocs = 3   // allocations ≤ bare + 3
	memoryMaxNs     = 100 // a hit of the memory store ≤ 100 ns, 0 allocations
	lockMaxTrips    = 2   // lock acquire + release on NATS KV ≤ 2 round trips
)

// storePair is a row of the store's table: one operation, bare and
// through the store.
type storePair struct {
	backend, op string
	bare, store string // the benchmarks, without the Benchmark prefix
	// timed says whether the time ratio carries the target; a write with
	// an fsync is the disk's time, on which only allocations are judged.
	timed bool
}

var storePairs = []storePair{
	{"bbolt", "Get", "BoltGet/bare", "BoltGet/store", true},
	{"bbolt", "Put, no fsync", "BoltPutNoSync/bare", "BoltPutNoSync/store", true},
	{"bbolt", "Put, fsynced", "BoltPut/bare", "BoltPut/store", false},
	{"SQLite", "Get", "SQLiteGet/bare", "SQLiteGet/store", true},
	{"SQLite", "Put, synchronous=OFF", "SQLitePut/nosync/bare", "SQLitePut/nosync/store", true},
	{"SQLite", "Put, synchronous=FULL", "SQLitePut/sync/bare", "SQLitePut/sync/store", false},
	{"PostgreSQL", "Get", "PostgresGet/bare", "PostgresGet/store", true},
	{"PostgreSQL", "Put", "PostgresPut/bare", "PostgresPut/store", true},
	{"NATS key-value", "Get", "NATS/Get/bare", "NATS/Get/wego", true},
	{"NATS key-value", "Put", "NATS/Put/bare", "NATS/Put/wego", true},
}

func runStore(s settings) (string, error) {
	started, load := time.Now(), loadAvg()
	res, skips, err := runGoBench(s, storeSuite)
	if err != nil {
		return "", err
	}
	return storeTable(res, skips, runLine(s, started, load)), nil
}

// skipReason returns why the benchmark name, or the benchmark it is a
// sub-benchmark of, skipped.
func skipReason(skips map[string]string, name string) string {
	for n := name; n != ""; {
		if r, ok := skips[n]; ok {
			return r
		}
		i := strings.LastIndexByte(n, '/')
		if i < 0 {
			break
		}
		n = n[:i]
	}
	return "no result"
}

func storeTable(r inprocResult, skips map[string]string, run string) string {
	var b strings.Builder
	b.WriteString("## Store\n\n")
	b.WriteString("One record (a short key, a value of about 100 bytes) read and written through package `store` and through the bare library ")
	b.WriteString("it wraps, doing the same: bbolt's `View` and `Update`; the store's own SQL statements on bare `database/sql` with ")
	b.WriteString("modernc.org/sqlite and on a bare pgx pool; nats.go's `KeyValue` `Get` and `Put`. The two sides of a pair have databases ")
	b.WriteString("of the same settings — a file each for bbolt and SQLite, a schema each on one PostgreSQL server, keys of one bucket on one ")
	b.WriteString("NATS server — and call one at a time, from the benchmark's process (`bench/storebench`). The bare bbolt side opens a file that a ")
	b.WriteString("Store made and writes the Store's record bytes, so that both files have one layout: bbolt copies a bucket's header that lies ")
	b.WriteString("unaligned in its parent's page, in every transaction, and where it lies depends on the buckets before it. Times are medians of the runs, and every ratio the median ")
	b.WriteString("of the ratios within each run, with their quartiles in brackets: on a loaded machine they are wide, and a ratio is ")
	b.WriteString("to be read with them. For bbolt and SQLite, whose calls run wholly on the calling goroutine, the benchmarks also ")
	b.WriteString("measure the calling thread's CPU time, which leaves out the time the thread waited for a core on a loaded machine: the ")
	b.WriteString("target is judged on that ratio for them, on wall time for the others. A write with an fsync is the disk's time, ")
	b.WriteString("the same on both sides: its row is judged on allocations, and the row without the fsync carries the time target. ")
	b.WriteString("PostgreSQL is the server that `WEGO_TEST_POSTGRES_DSN` names or else a throwaway server (with fsync off) that the ")
	b.WriteString("suite starts from the machine's binaries; NATS is WeGO's engine embedded in the benchmark's process (syncing every 2 minutes, ")
	b.WriteString("the same for both sides), so its allocations count the server's with the client's. The in-process store is timed beside ")
	b.WriteString("a map lookup under a read lock, the least such a read can do.\n\n")
	b.WriteString(run)
	b.WriteString("| backend | operation | bare | store | × bare (quartiles) | × bare, thread CPU (quartiles) | allocs/op, bare → store | B/op, store | target | |\n")
	b.WriteString("|---|---|--:|--:|--:|--:|--:|--:|---|---|\n")

	// The in-process store: an absolute target.
	if m, ok := r.med("MemoryGet/store"); ok {
		bare, _ := r.med("MemoryGet/bare")
		v := verdict{fmt.Sprintf("≤ %d ns, 0 allocs", memoryMaxNs), status(m.ns <= memoryMaxNs && m.allocs == 0)}
		fmt.Fprintf(&b, "| memory (in process) | Get, a hit (bare: a map under `sync.RWMutex`) | %s | %s | %s | — | %s → %s | %.0f | %s | %s |\n",
			fmtTime(bare.ns), fmtTime(m.ns), spreadOf(r.ratios("MemoryGet/store", "MemoryGet/bare", nsOf)), fmtAllocs(bare.allocs), fmtAllocs(m.allocs), m.bytes, v.target, v.status)
	} else {
		fmt.Fprintf(&b, "| memory (in process) | Get, a hit | not measured: %s | | | | | | | |\n", skipReason(skips, "MemoryGet/store"))
	}

	for _, p := range storePairs {
		bare, okBare := r.med(p.bare)
		st, okStore := r.med(p.store)
		if !okBare || !okStore {
			fmt.Fprintf(&b, "| %s | %s | not measured: %s | | | | | | | |\n", p.backend, p.op, skipReason(skips, p.store))
			continue
		}
		wall := spreadOf(r.ratios(p.store, p.bare, nsOf))
		_, cpuBare := r.metric(p.bare, "cpu-ns/op")
		_, cpuStore := r.metric(p.store, "cpu-ns/op")
		cpuCell, clock, judged := "—", "wall", wall.med
		if cpuBare && cpuStore {
			cpu := spreadOf(r.ratios(p.store, p.bare, func(s sample) float64 { return s.metrics["cpu-ns/op"] }))
			cpuCell, clock, judged = cpu.String(), "thread CPU", cpu.med
		}
		more := st.allocs - bare.allocs
		allocsOK := more <= storeMoreAllocs
		var v verdict
		if p.timed {
			v = verdict{fmt.Sprintf("≤ %.1f× bare (%s), allocs ≤ bare + %d (%+.0f)", storeMaxRatio, clock, storeMoreAllocs, more),
				status(judged <= storeMaxRatio && allocsOK)}
		} else {
			v = verdict{fmt.Sprintf("allocs ≤ bare + %d (%+.0f); time: the fsync's", storeMoreAllocs, more), status(allocsOK)}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s → %s (%+.0f) | %.0f | %s | %s |\n",
			p.backend, p.op, fmtTime(bare.ns), fmtTime(st.ns), wall, cpuCell, fmtAllocs(bare.allocs), fmtAllocs(st.allocs), more, st.bytes, v.target, v.status)
	}
	b.WriteString("\n")
	b.WriteString(lockTable(r, skips))
	b.WriteString("```sh\ncd bench\ngo run ./cmd/benchreport -only store -out -   # this section alone, on stdout\n")
	b.WriteString("go test -run '^$' -bench 'Bolt(Get|Put)' -benchmem -count 6 ./storebench   # one backend's pairs, for benchstat\n```\n\n")
	return b.String()
}

// lockTable is the Store section's table of locks on NATS key-value.
func lockTable(r inprocResult, skips map[string]string) string {
	var b strings.Builder
	b.WriteString("### Locks\n\n")
	b.WriteString("A lock of package `lock` taken and released on NATS key-value (`TryAcquire`, then `Release`) beside the two atomic steps ")
	b.WriteString("it stands for, done with nats.go: `KeyValue.Create` with a time-to-live, then `Delete` at the created revision. ")
	b.WriteString("Round trips are the requests the client's connection sent per acquisition and release (each had its reply), counted ")
	b.WriteString("with the connection's statistics. A name used again lies over the delete marker its last release left, which nats.go's ")
	b.WriteString("`Create` reads before writing again, bare or not.\n\n")
	b.WriteString("| lock on NATS key-value | bare Create + Delete | lock TryAcquire + Release | × bare (quartiles) | allocs/op, bare → lock | round trips, bare → lock | target | |\n")
	b.WriteString("|---|--:|--:|--:|--:|--:|---|---|\n")
	for _, row := range []struct {
		label, name string
		target      bool
	}{
		{"a name never used before", "Lock/AcquireRelease/new", true},
		{"the same name again", "Lock/AcquireRelease/same", false},
	} {
		bareName, wegoName := row.name+"/bare", row.name+"/wego"
		bare, okBare := r.med(bareName)
		w, okWeGO := r.med(wegoName)
		if !okBare || !okWeGO {
			fmt.Fprintf(&b, "| %s | not measured: %s | | | | | | |\n", row.label, skipReason(skips, wegoName))
			continue
		}
		trips := func(name string) float64 {
			out, _ := r.metric(name, "reqs/op")
			in, _ := r.metric(name, "replies/op")
			return max(out, in)
		}
		tb, tw := trips(bareName), trips(wegoName)
		v := verdict{"", info}
		if row.target {
			v = verdict{fmt.Sprintf("≤ %d round trips of the engine", lockMaxTrips), status(tw <= lockMaxTrips)}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s → %s | %s → %s | %s | %s |\n",
			row.label, fmtTime(bare.ns), fmtTime(w.ns), spreadOf(r.ratios(wegoName, bareName, nsOf)), fmtAllocs(bare.allocs), fmtAllocs(w.allocs),
			fmtTrips(tb), fmtTrips(tw), v.target, v.status)
	}
	b.WriteString("\n")
	return b.String()
}

func fmtTrips(x float64) string { return fmt.Sprintf("%.0f", x) }
