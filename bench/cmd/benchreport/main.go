// Command benchreport runs WeGO's benchmark suites — the in-process Go
// benchmarks of package inproc, the HTTP suite of package httpbench, the
// NATS suite of package natsbench, and the Go benchmarks of the store's
// backends and locks (package storebench), of authentication and
// authorization (package authbench) and of publishing events on
// JetStream (package eventsbench) — takes the median of the repetitions, compares each figure with its target and writes the report
// (docs/performance.md by default).
//
//	go run ./cmd/benchreport                   # full: -count 10, 1s benchtime, 9 HTTP rounds
//	go run ./cmd/benchreport -quick            # a few minutes
//	go run ./cmd/benchreport -only store,auth  # those sections alone, put in place in the page
//	go run ./cmd/benchreport -only events      # the events section alone
//
// Run it from the bench module's directory. The HTTP targets, the NATS
// server and the NATS responders run in child processes of this program
// (it calls itself with -serve NAME), so that their allocations are
// counted apart from the load generator's and the callers'.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wegomesh/wego/bench/fixture"
	"github.com/wegomesh/wego/bench/httpbench"
	"github.com/wegomesh/wego/bench/natsbench"
)

type settings struct {
	quick     bool
	out       string
	count     int
	benchtime string
	bench     string
	rounds    int
	requests  int
	conns     int
	calls     int
	inproc    bool
	http      bool
	nats      bool
	store     bool
	auth      bool
	events    bool
	only      string
	natsDiag  bool
	profile   string
}

func main() {
	serve := flag.String("serve", "", "internal: run the HTTP or NATS target `name` (used by the runner itself)")
	natsURL := flag.String("nats-url", "", "internal: the NATS server a NATS responder connects to")
	var s settings
	flag.BoolVar(&s.quick, "quick", false, "a quick run (a few minutes): fewer, shorter repetitions")
	flag.StringVar(&s.out, "out", "../docs/performance.md", "where to write the report (- for stdout only); when some sections do not run, only the sections that ran replace theirs in the page")
	flag.IntVar(&s.count, "count", 0, "repetitions of the in-process suite, each a whole run (default 10, quick 6)")
	flag.StringVar(&s.benchtime, "benchtime", "", "go test -benchtime (default 1s, quick 100ms)")
	flag.StringVar(&s.bench, "bench", ".", "go test -bench pattern of the in-process suite")
	flag.IntVar(&s.rounds, "rounds", 0, "interleaved rounds of the HTTP suite (default 9, quick 5)")
	flag.IntVar(&s.requests, "requests", 0, "requests per target and round (default 40000, quick 8000)")
	flag.IntVar(&s.conns, "conns", 16, "keep-alive connections of the load generator")
	flag.IntVar(&s.calls, "calls", 0, "remote-route calls per client round (default 10000, quick 2000)")
	flag.BoolVar(&s.inproc, "inproc", true, "run the in-process suite")
	flag.BoolVar(&s.http, "http", true, "run the HTTP suite")
	flag.BoolVar(&s.nats, "nats", true, "run the NATS suite (the remote route over NATS)")
	flag.BoolVar(&s.store, "store", true, "run the store's suite (its backends and locks beside the bare libraries)")
	flag.BoolVar(&s.auth, "auth", true, "run the auth suite (token verification and rule decisions)")
	flag.BoolVar(&s.events, "events", true, "run the events suite (publishing on JetStream beside bare nats.go)")
	flag.StringVar(&s.only, "only", "", "run only the sections `list` names, comma-separated, of "+strings.Join(sectionNames, ", ")+
		"; the other flags that choose sections are then ignored")
	flag.BoolVar(&s.natsDiag, "nats-diag", false, "add the NATS suite's diagnostic pairs (mixed pairs, bare pair with WeGO's headers) to its table")
	flag.StringVar(&s.profile, "profile", "", "write CPU and allocation profiles of each HTTP server and NATS process into `dir`")
	flag.Parse()
	if *serve != "" {
		serveTarget := httpbench.Serve
		if natsbench.IsTarget(*serve) {
			serveTarget = func(name string) error { return natsbench.Serve(name, *natsURL) }
		}
		if err := serveTarget(*serve); err != nil {
			fmt.Fprintln(os.Stderr, "benchreport:", err)
			os.Exit(1)
		}
		return
	}
	def := func(v *int, full, quick int) {
		if *v == 0 {
			*v = full
			if s.quick {
				*v = quick
			}
		}
	}
	def(&s.count, 10, 6)
	def(&s.rounds, 9, 5)
	def(&s.requests, 40000, 8000)
	def(&s.calls, 10000, 2000)
	if s.benchtime == "" {
		s.benchtime = "1s"
		if s.quick {
			s.benchtime = "100ms"
		}
	}
	if s.conns < 16 {
		fail(fmt.Errorf("-conns must be at least 16"))
	}
	if s.only != "" {
		if err := s.choose(s.only); err != nil {
			fail(err)
		}
	}
	if err := run(s); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "benchreport:", err)
	os.Exit(1)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "benchreport: "+format+"\n", args...)
}

func run(s settings) error {
	started := time.Now()
	if l, err := strconv.ParseFloat(loadAvg(), 64); err == nil && l > float64(runtime.NumCPU())/2 {
		logf("warning: load average %.2f on %d cores: other work will make the figures noisy", l, runtime.NumCPU())
	}
	var doc, sections strings.Builder
	doc.WriteString(header(s, started))
	if s.inproc {
		res, err := runInproc(s)
		if err != nil {
			return err
		}
		sections.WriteString(inprocTable(res))
	}
	var servers []*httpbench.Server
	defer func() {
		for _, srv := range servers {
			_ = srv.Stop()
		}
	}()
	if s.http {
		tbl, srvs, err := runHTTP(s)
		servers = srvs
		if err != nil {
			return err
		}
		sections.WriteString(tbl)
	}
	if s.http || s.nats {
		tbl, err := runRemote(s, servers)
		if err != nil {
			return err
		}
		sections.WriteString(tbl)
	}
	if s.store {
		tbl, err := runStore(s)
		if err != nil {
			return err
		}
		sections.WriteString(tbl)
	}
	if s.auth {
		tbl, err := runAuth(s)
		if err != nil {
			return err
		}
		sections.WriteString(tbl)
	}
	if s.events {
		tbl, err := runEvents(s)
		if err != nil {
			return err
		}
		sections.WriteString(tbl)
	}
	doc.WriteString(sections.String())
	doc.WriteString(footer(s, time.Since(started)))
	fmt.Print(doc.String())
	if s.out == "-" {
		return nil
	}
	page := doc.String()
	if !s.all() {
		// A partial run replaces its own sections of the page and keeps the
		// others, which other runs measured.
		old, err := os.ReadFile(s.out)
		switch {
		case err == nil:
			page = splice(string(old), header(s, started), sections.String())
			logf("replacing the sections that ran in %s, keeping the others", s.out)
		case !os.IsNotExist(err):
			return err
		}
	}
	if err := os.WriteFile(s.out, []byte(page), 0o644); err != nil {
		return err
	}
	logf("wrote %s in %s", s.out, time.Since(started).Round(time.Second))
	return nil
}

// ---- machine ----

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func kernel() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return runtime.GOOS
	}
	return runtime.GOOS + " " + strings.TrimSpace(string(b))
}

// loadAvg returns the 1-minute load average, which says how busy the
// machine was with other work.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}

func goVersion() string {
	out, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		return runtime.Version()
	}
	return strings.TrimSpace(string(out))
}

func header(s settings, t time.Time) string {
	mode := "full"
	if s.quick {
		mode = "quick"
	}
	var b strings.Builder
	b.WriteString("# Performance\n\n")
	b.WriteString("<!-- Generated by bench/cmd/benchreport; do not edit by hand. Regenerate with `make bench` (or `make bench-quick`). -->\n\n")
	b.WriteString("WeGO's benchmark suite (module `bench/`): the call path in process, the HTTP transport on loopback, remote calls over HTTP and NATS, the store's backends and locks, authentication and authorization, and publishing events on JetStream, ")
	b.WriteString("each against a baseline measured in the same run and against the targets of the design ")
	b.WriteString("([architecture.md, \"The cost of a call\"](architecture.md#the-cost-of-a-call)). Figures are medians of the repetitions; ratios are to the ")
	b.WriteString("baseline of the same run, so they compare across machines better than the absolute times do. ")
	b.WriteString("Allocation counts are exact on any machine, and `internal/hotpath` asserts them in CI.\n\n")
	b.WriteString("## Machine\n\n")
	fmt.Fprintf(&b, "| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| CPU | %s |\n", cpuModel())
	fmt.Fprintf(&b, "| cores | %d (GOMAXPROCS %d) |\n", runtime.NumCPU(), runtime.GOMAXPROCS(0))
	fmt.Fprintf(&b, "| OS | %s/%s |\n", kernel(), runtime.GOARCH)
	fmt.Fprintf(&b, "| Go | %s |\n", goVersion())
	fmt.Fprintf(&b, "| date | %s |\n", t.UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "| load average at start | %s |\n", loadAvg())
	fmt.Fprintf(&b, "| mode | %s: Go benchmarks %d interleaved runs of the suite at `-benchtime %s`; HTTP %d interleaved rounds × %d requests per target over %d keep-alive connections; %d interleaved rounds of %d remote calls per client, serial then from %d goroutines |\n\n",
		mode, s.count, s.benchtime, s.rounds, s.requests, s.conns, s.rounds, s.calls, s.conns)
	return b.String()
}

func footer(s settings, d time.Duration) string {
	var b strings.Builder
	b.WriteString("## How to reproduce\n\n")
	b.WriteString("```sh\ncd bench\ngo run ./cmd/benchreport           # full run, writes docs/performance.md\n")
	b.WriteString("go run ./cmd/benchreport -quick    # a few minutes\n")
	b.WriteString("go test -run '^$' -bench . -benchmem -count 6 ./inproc   # the Go benchmarks alone\n")
	b.WriteString("go test -run '^$' -bench 'Audit/wego' -benchmem -cpuprofile cpu.out -memprofile mem.out ./inproc  # profile one\n")
	b.WriteString("go run ./cmd/benchreport -inproc=false -http=false -nats-diag -out -   # the NATS pairs alone, with diagnostic pairs\n")
	b.WriteString("go test -run '^$' -bench . -benchmem ./natsbench   # the NATS pairs in one process, for profiling\n")
	b.WriteString("go run ./cmd/benchreport -only store,auth   # the store's and auth's sections alone, put in place in the page\n")
	b.WriteString("go run ./cmd/benchreport -only events   # the events section alone, put in place in the page\n```\n\n")
	fmt.Fprintf(&b, "This run took %s; the 1-minute load average was %s at its end. A load average well above 0 ", d.Round(time.Second), loadAvg())
	b.WriteString("means other work shared the cores, and absolute times are then high and noisy; ratios suffer less, allocation counts not at all.\n")
	return b.String()
}

// ---- in-process suite ----

// sample is one result line of a benchmark: its time, bytes and
// allocations per operation, and the metrics it reports beside them
// (b.ReportMetric), by unit.
type sample struct {
	ns, bytes, allocs float64
	metrics           map[string]float64
}

// inprocResult holds the samples of each benchmark of a Go suite (the
// in-process suite's, or another package's), one per run of the suite,
// in run order (runs[i] of two benchmarks come from the same run).
type inprocResult map[string][]sample

func runInproc(s settings) (inprocResult, error) {
	res, _, err := runGoBench(s, goSuite{pkg: "inproc", pattern: s.bench})
	return res, err
}

// parseBench reads `go test -bench -benchmem` output.
func parseBench(r io.Reader) inprocResult {
	res := inprocResult{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := strings.TrimPrefix(f[0], "Benchmark")
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		var sm sample
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			switch f[i+1] {
			case "ns/op":
				sm.ns = v
			case "B/op":
				sm.bytes = v
			case "allocs/op":
				sm.allocs = v
			default:
				if sm.metrics == nil {
					sm.metrics = map[string]float64{}
				}
				sm.metrics[f[i+1]] = v
			}
		}
		res[name] = append(res[name], sm)
	}
	return res
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func (r inprocResult) med(name string) (sample, bool) {
	ss, ok := r[name]
	if !ok {
		return sample{}, false
	}
	var ns, by, al []float64
	for _, s := range ss {
		ns, by, al = append(ns, s.ns), append(by, s.bytes), append(al, s.allocs)
	}
	return sample{ns: median(ns), bytes: median(by), allocs: median(al)}, true
}

// ratio is the median over the runs of a's time divided by b's time in
// the same run: paired, so that noise common to a run cancels out.
func (r inprocResult) ratio(a, b string) float64 {
	as, bs := r[a], r[b]
	var rs []float64
	for i := range min(len(as), len(bs)) {
		if bs[i].ns > 0 {
			rs = append(rs, as[i].ns/bs[i].ns)
		}
	}
	return median(rs)
}

// diff is the median over the runs of a's time less b's time.
func (r inprocResult) diff(a, b string) float64 {
	as, bs := r[a], r[b]
	var ds []float64
	for i := range min(len(as), len(bs)) {
		ds = append(ds, as[i].ns-bs[i].ns)
	}
	return median(ds)
}

type verdict struct{ target, status string }

const (
	met    = "met"
	notMet = "**not met**"
	info   = "—"
)

func status(ok bool) string {
	if ok {
		return met
	}
	return notMet
}

type row struct {
	label, bench string
	check        func(r inprocResult, s sample) verdict
}

func inprocTable(r inprocResult) string {
	zeroAllocs := func(s sample) bool { return s.allocs == 0 }
	rows := []row{
		{"direct call of the function (baseline)", "Direct", nil},
		{"typed handle, empty chains", "HandleEmpty", func(r inprocResult, s sample) verdict {
			return verdict{"≤ 2× direct, 0 allocs", status(r.ratio("HandleEmpty", "Direct") <= 2 && zeroAllocs(s))}
		}},
		{"call by name, empty chains", "ByNameEmpty", func(r inprocResult, s sample) verdict {
			return verdict{"≤ 6× direct, 0 allocs", status(r.ratio("ByNameEmpty", "Direct") <= 6 && zeroAllocs(s))}
		}},
		{"typed handle, 5 no-op middleware (3 client, 2 server), as many as go-kit's", "Handle5", func(r inprocResult, s sample) verdict {
			d, x := r.diff("Handle5", "Direct"), r.ratio("Handle5", "GoKit5")
			return verdict{fmt.Sprintf("≤ 40 ns added, 0 allocs: %+.1f ns (%.2f× go-kit's 5)", d, x), status(d <= 40 && zeroAllocs(s))}
		}},
		{"typed handle, 5 no-op middleware per side (10 in all)", "Handle5x5", func(r inprocResult, s sample) verdict {
			d, x := r.diff("Handle5x5", "Direct"), r.ratio("Handle5x5", "GoKit5")
			return verdict{fmt.Sprintf("≤ 40 ns added, read per side, 0 allocs: %+.1f ns (%.2f× go-kit's 5)", d, x), status(d <= 40 && zeroAllocs(s))}
		}},
		{"call by name, 5 no-op middleware per side", "ByName5x5", func(_ inprocResult, s sample) verdict {
			return verdict{"0 allocs", status(zeroAllocs(s))}
		}},
		{"go-kit endpoint, 5 no-op middleware", "GoKit5", nil},
		{"full default chain, logs off, request id in ctx", "DefaultChain/id=present", func(_ inprocResult, s sample) verdict {
			return verdict{"≤ 400 ns, 0 allocs", status(s.ns <= 400 && zeroAllocs(s))}
		}},
		{"full default chain, logs off, no request id", "DefaultChain/id=absent", func(_ inprocResult, s sample) verdict {
			return verdict{"≤ 400 ns, ≤ 1 alloc", status(s.ns <= 400 && s.allocs <= 1)}
		}},
		{"go-kit: breaker + recovery + zap logging (same work)", "DefaultChain/gokit", nil},
		{"one bare zap line (audit fields, JSON to io.Discard)", "Audit/bare-zap-line", nil},
		{"full default chain + one audit line (zap sink)", "Audit/wego", func(r inprocResult, s sample) verdict {
			d := r.diff("Audit/wego", "Audit/bare-zap-line")
			return verdict{fmt.Sprintf("≤ bare zap line + 300 ns, ≤ 2 allocs: %+.0f ns", d), status(d <= 300 && s.allocs <= 2)}
		}},
		{"go-kit: breaker + recovery + logging + audit line (zap)", "Audit/gokit-zap", nil},
		{"go-kit: same, audit line through go-kit's log adapter", "Audit/gokit-kitlog", nil},
		{"parallel: direct", "Parallel/direct", nil},
		{"parallel: typed handle, empty chains", "Parallel/handle-empty", func(_ inprocResult, s sample) verdict {
			return verdict{"0 allocs", status(zeroAllocs(s))}
		}},
		{"parallel: call by name, empty chains", "Parallel/by-name-empty", func(_ inprocResult, s sample) verdict {
			return verdict{"0 allocs", status(zeroAllocs(s))}
		}},
		{"parallel: typed handle, 5 no-op per side", "Parallel/handle-5x5", func(_ inprocResult, s sample) verdict {
			return verdict{"0 allocs", status(zeroAllocs(s))}
		}},
		{"parallel: go-kit, 5 no-op", "Parallel/gokit-5", nil},
		{"parallel: full default chain, request id in ctx", "Parallel/default-chain", func(_ inprocResult, s sample) verdict {
			return verdict{"0 allocs", status(zeroAllocs(s))}
		}},
		{"call by name, catalog of 10 commands", "CatalogSize/commands=10", nil},
		{"call by name, catalog of 10,000 commands", "CatalogSize/commands=10000", func(r inprocResult, s sample) verdict {
			x := r.ratio("CatalogSize/commands=10000", "CatalogSize/commands=10")
			return verdict{fmt.Sprintf("within 10 %% of 10 commands: %+.1f %%", 100*(x-1)), status(x <= 1.1 && zeroAllocs(s))}
		}},
	}
	var b strings.Builder
	b.WriteString("## In process\n\n")
	b.WriteString("One call of `inventory.Reserve` (a not-inlined function of a small struct) per operation; `go test -bench` ")
	b.WriteString("with `-benchmem`; times are medians of the repetitions, and every ratio — to the direct call, or to the figure a target names — is the median of the ratios within each repetition (the repetitions are whole runs of the suite, so a figure and its baseline share the noise of their run). Parallel rows run from ")
	b.WriteString("GOMAXPROCS goroutines (`b.RunParallel`): ns/op is wall time per call over all of them.\n\n")
	b.WriteString("| path | ns/op | × direct | B/op | allocs/op | target | |\n|---|--:|--:|--:|--:|---|---|\n")
	for _, rw := range rows {
		s, found := r.med(rw.bench)
		if !found {
			continue
		}
		v := verdict{"", info}
		if rw.check != nil {
			v = rw.check(r, s)
		}
		fmt.Fprintf(&b, "| %s | %s | %.1f× | %.0f | %s | %s | %s |\n", rw.label, fmtNs(s.ns), r.ratio(rw.bench, "Direct"), s.bytes, fmtAllocs(s.allocs), v.target, v.status)
	}
	b.WriteString("\n")
	return b.String()
}

func fmtNs(ns float64) string {
	switch {
	case ns < 10:
		return fmt.Sprintf("%.2f", ns)
	case ns < 100:
		return fmt.Sprintf("%.1f", ns)
	}
	return fmt.Sprintf("%.0f", ns)
}

func fmtAllocs(a float64) string {
	if a == float64(int64(a)) {
		return strconv.FormatInt(int64(a), 10)
	}
	return fmt.Sprintf("%.1f", a)
}

// ---- HTTP suite ----

func runHTTP(s settings) (tbl string, servers []*httpbench.Server, err error) {
	exe, err := os.Executable()
	if err != nil {
		return "", nil, err
	}
	env, err := childEnv(s)
	if err != nil {
		return "", nil, err
	}
	loads := map[string]*httpbench.Load{}
	defer func() {
		for _, l := range loads {
			l.Close()
		}
	}()
	for _, t := range fixture.Handlers {
		srv, err := httpbench.Start(exe, t.Name, env)
		if err != nil {
			return "", servers, err
		}
		servers = append(servers, srv)
		l, err := httpbench.NewLoad(srv, s.conns)
		if err != nil {
			return "", servers, err
		}
		loads[t.Name] = l
	}
	// Warm-up: every target once, with half a round.
	for _, t := range fixture.Handlers {
		if _, err := loads[t.Name].Run(s.requests / 2); err != nil {
			return "", servers, err
		}
	}
	rounds := map[string][]httpbench.Round{}
	for i := range s.rounds {
		// Rotate the order so that no target always follows the same one.
		for j := range fixture.Handlers {
			t := fixture.Handlers[(i+j)%len(fixture.Handlers)]
			r, err := loads[t.Name].Run(s.requests)
			if err != nil {
				return "", servers, err
			}
			rounds[t.Name] = append(rounds[t.Name], r)
		}
		logf("HTTP round %d/%d done", i+1, s.rounds)
	}
	return httpTable(rounds), servers, nil
}

// childEnv is the environment of the child processes: the servers must
// not be slowed by anything the environment sets.
func childEnv(s settings) ([]string, error) {
	env := []string{"NEW_RELIC_LICENSE_KEY=", "GOGC=100"}
	if s.profile != "" {
		dir, err := filepath.Abs(s.profile)
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		env = append(env, httpbench.ProfileEnv+"="+dir)
	}
	return env, nil
}

// remoteClient is one caller of the remote suite and what it calls.
type remoteClient struct {
	name string
	run  func() error
}

// runRemote measures the remote routes: over HTTP, against the servers of
// the HTTP suite (when it ran), and over NATS, against a NATS server and
// responders of their own; every client in turn in each round, so that
// they share the machine's noise.
func runRemote(s settings, servers []*httpbench.Server) (string, error) {
	httpRounds := map[string][]httpbench.ClientRound{}
	natsRounds := map[string][]natsbench.Round{}
	var clients []remoteClient
	byName := map[string]*httpbench.Server{}
	for _, srv := range servers {
		byName[srv.Name] = srv
	}
	if wego, bare := byName["wego-empty"], byName["bare"]; wego != nil && bare != nil {
		add := func(name string, srv *httpbench.Server, call httpbench.CallFunc) {
			clients = append(clients, remoteClient{name, func() error {
				r, err := httpbench.RunClient(srv, call, s.calls, s.conns)
				httpRounds[name] = append(httpRounds[name], r)
				return err
			}})
		}
		// The WeGO HTTP server with empty chains, from a bare client and from
		// a route; and the bare pair, for the NATS table.
		bareCall, closeBare := httpbench.BareClient(wego.Addr)
		defer closeBare()
		route, closeRoute, err := httpbench.RouteClient(wego.Addr)
		if err != nil {
			return "", err
		}
		defer closeRoute()
		pair, closePair := httpbench.BareClient(bare.Addr)
		defer closePair()
		add("bare", wego, bareCall)
		add("route", wego, route)
		add("bare-pair", bare, pair)
	}
	if s.nats {
		stop, err := startNATS(s, natsRounds, &clients)
		defer stop()
		if err != nil {
			return "", err
		}
	}
	for i := range s.rounds {
		for j := range clients {
			c := clients[(i+j)%len(clients)]
			if err := c.run(); err != nil {
				return "", fmt.Errorf("client %s: %w", c.name, err)
			}
		}
		logf("remote round %d/%d done", i+1, s.rounds)
	}
	var b strings.Builder
	if len(httpRounds) > 0 {
		b.WriteString(clientTable(httpRounds))
	}
	if s.nats {
		b.WriteString(natsTable(natsRounds, httpRounds))
	}
	return b.String(), nil
}

// startNATS starts the NATS server and the two responders in processes of
// their own, and adds the two NATS callers to clients.
func startNATS(s settings, rounds map[string][]natsbench.Round, clients *[]remoteClient) (stop func(), err error) {
	var procs []*natsbench.Process
	var closers []func()
	stop = func() {
		for _, c := range closers {
			c()
		}
		for i := len(procs) - 1; i >= 0; i-- {
			_ = procs[i].Stop()
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return stop, err
	}
	env, err := childEnv(s)
	if err != nil {
		return stop, err
	}
	broker, err := natsbench.Start(natsbench.TargetServer, exe, []string{"-serve", natsbench.TargetServer}, env)
	if err != nil {
		return stop, err
	}
	procs = append(procs, broker)
	responders := map[string]*natsbench.Process{}
	for _, name := range []string{natsbench.TargetBare, natsbench.TargetWeGO} {
		p, err := natsbench.Start(name, exe, []string{"-serve", name, "-nats-url", broker.URL}, env)
		if err != nil {
			return stop, err
		}
		procs = append(procs, p)
		responders[name] = p
	}
	bare, closeBare, err := natsbench.BareCaller(broker.URL)
	if err != nil {
		return stop, err
	}
	closers = append(closers, closeBare)
	route, closeRoute, err := natsbench.RouteCaller(context.Background(), broker.URL)
	if err != nil {
		return stop, err
	}
	closers = append(closers, closeRoute)
	add := func(name string, p *natsbench.Process, call natsbench.CallFunc) {
		*clients = append(*clients, remoteClient{name, func() error {
			r, err := natsbench.RunClient(broker, p, call, s.calls, s.conns)
			rounds[name] = append(rounds[name], r)
			return err
		}})
	}
	add("nats-bare", responders[natsbench.TargetBare], bare)
	add("nats-route", responders[natsbench.TargetWeGO], route)
	if s.natsDiag {
		bareToWeGO, closeA, err := natsbench.BareCallerTo(broker.URL, fixture.Name)
		if err != nil {
			return stop, err
		}
		closers = append(closers, closeA)
		routeToBare, closeB, err := natsbench.RouteCallerTo(context.Background(), broker.URL, natsbench.BareSubject)
		if err != nil {
			return stop, err
		}
		closers = append(closers, closeB)
		headers, closeC, err := natsbench.HeadersCaller(broker.URL)
		if err != nil {
			return stop, err
		}
		closers = append(closers, closeC)
		add("diag-bare-to-wego", responders[natsbench.TargetWeGO], bareToWeGO)
		add("diag-route-to-bare", responders[natsbench.TargetBare], routeToBare)
		add("diag-headers", responders[natsbench.TargetBare], headers)
	}
	return stop, nil
}

type httpMed struct {
	rps, p50, p99, allocs, bytes float64
	conns                        int64
}

func medHTTP(rs []httpbench.Round) httpMed {
	var rps, p50, p99, al, by []float64
	var m httpMed
	for _, r := range rs {
		rps = append(rps, r.RPS())
		p50 = append(p50, float64(r.P50.Microseconds()))
		p99 = append(p99, float64(r.P99.Microseconds()))
		al = append(al, r.AllocsReq)
		by = append(by, r.BytesReq)
		m.conns += r.NewConns
	}
	m.rps, m.p50, m.p99, m.allocs, m.bytes = median(rps), median(p50), median(p99), median(al), median(by)
	return m
}

func httpTable(rounds map[string][]httpbench.Round) string {
	var b strings.Builder
	b.WriteString("## HTTP server\n\n")
	b.WriteString("POST /inventory/reserve with a 27-byte JSON body, answered with JSON, on loopback. Each target runs in a ")
	b.WriteString("process of its own under the same `http.Server` settings; the load generator (a minimal HTTP/1.1 client) ")
	b.WriteString("keeps a fixed set of keep-alive connections, warms every target up, then runs the rounds interleaved, each ")
	b.WriteString("target in turn, so that they share the machine's noise. Allocations are counted in the server process ")
	b.WriteString("(runtime.MemStats), less what reading them costs. Latencies are per request as the generator sees them; ")
	b.WriteString("the figures are medians over the rounds, and the ratios medians of the ratios to bare within each round. On a 2-core machine the generator and the server share the cores.\n\n")
	b.WriteString("| server | req/s | × bare | p50 µs | p99 µs | p99 × bare | allocs/req | B/req | new conns | target | |\n")
	b.WriteString("|---|--:|--:|--:|--:|--:|--:|--:|--:|---|---|\n")
	base := medHTTP(rounds["bare"])
	paired := func(name string, f func(httpbench.Round) float64) float64 {
		var rs []float64
		for i, r := range rounds[name] {
			if i < len(rounds["bare"]) {
				rs = append(rs, f(r)/f(rounds["bare"][i]))
			}
		}
		return median(rs)
	}
	rps := func(r httpbench.Round) float64 { return r.RPS() }
	p99 := func(r httpbench.Round) float64 { return float64(r.P99) }
	for _, t := range fixture.Handlers {
		m := medHTTP(rounds[t.Name])
		v := verdict{"", info}
		thr, lat := paired(t.Name, rps), paired(t.Name, p99)
		if strings.HasPrefix(t.Name, "wego") {
			al := m.allocs - base.allocs
			ok := thr >= 1.0 && lat <= 1.1 && al <= 5
			stretch := "stretch ≥ 1.2× not reached"
			if thr >= 1.2 {
				stretch = "stretch ≥ 1.2× reached"
			}
			v = verdict{fmt.Sprintf("≥ 1.0× bare req/s, p99 ≤ 1.1× bare, allocs ≤ bare + 5 (%+.1f); %s", al, stretch), status(ok)}
		}
		if t.Name == "bare" {
			v.target = "baseline"
		}
		fmt.Fprintf(&b, "| %s | %.0f | %.2f× | %.0f | %.0f | %.2f× | %.1f | %.0f | %d | %s | %s |\n",
			t.Desc, m.rps, thr, m.p50, m.p99, lat, m.allocs, m.bytes, m.conns, v.target, v.status)
	}
	b.WriteString("\n")
	return b.String()
}

func clientTable(cs map[string][]httpbench.ClientRound) string {
	type med struct {
		us, allocs, bytes, parUs, parAllocs float64
		calls, parCalls, conns, parConns    int64
	}
	get := func(rs []httpbench.ClientRound) med {
		var us, al, by, pus, pal []float64
		var m med
		for _, r := range rs {
			us = append(us, float64(r.PerCall.Nanoseconds())/1e3)
			al = append(al, r.AllocsOp)
			by = append(by, r.BytesOp)
			pus = append(pus, float64(r.ParPerOp.Nanoseconds())/1e3)
			pal = append(pal, r.ParAllocs)
			m.calls += int64(r.Calls)
			m.parCalls += int64(r.ParCalls)
			m.conns += r.NewConns
			m.parConns += r.ParConns
		}
		m.us, m.allocs, m.bytes, m.parUs, m.parAllocs = median(us), median(al), median(by), median(pus), median(pal)
		return m
	}
	bare, route := get(cs["bare"]), get(cs["route"])
	var b strings.Builder
	b.WriteString("## Remote route (HTTP client)\n\n")
	b.WriteString("The same command called from another process: a hand-written `http.Client` call (encoding/json, same pool ")
	b.WriteString("size) against a typed handle whose catalog routes it with `httptransport.NewClient().Route(url)` (empty ")
	b.WriteString("chains), both to the WeGO server with empty chains. Allocations are the caller's only (the server is another ")
	b.WriteString("process). Serial calls, then as many from as many goroutines as the load generator has connections, after a ")
	b.WriteString("warm-up at that concurrency; the server's ConnState hook counts the connections opened meanwhile: with ")
	b.WriteString("keep-alive, none. (In parallel, net/http's Transport may dial while every idle connection is busy and keep ")
	b.WriteString("the extra one: that is a new connection without any connection having been given up.)\n\n")
	b.WriteString("| client | µs/call | allocs/call | B/call | µs/call, parallel | allocs/call, parallel | new conns serial | new conns parallel | reuse | target | |\n")
	b.WriteString("|---|--:|--:|--:|--:|--:|--:|--:|--:|---|---|\n")
	reuse := func(m med) float64 { return 100 * (1 - float64(m.conns+m.parConns)/float64(m.calls+m.parCalls)) }
	fmt.Fprintf(&b, "| bare http.Client + encoding/json (baseline) | %.1f | %.1f | %.0f | %.1f | %.1f | %d of %d | %d of %d | %.3f %% | baseline | |\n",
		bare.us, bare.allocs, bare.bytes, bare.parUs, bare.parAllocs, bare.conns, bare.calls, bare.parConns, bare.parCalls, reuse(bare))
	ok := route.allocs <= bare.allocs+5 && route.conns == 0 && route.parConns <= bare.parConns
	fmt.Fprintf(&b, "| WeGO remote route | %.1f | %.1f | %.0f | %.1f | %.1f | %d of %d | %d of %d | %.3f %% | ≤ bare + 5 allocs (%+.1f); 100 %% reuse: no new connection serially, no more than bare in parallel | %s |\n\n",
		route.us, route.allocs, route.bytes, route.parUs, route.parAllocs, route.conns, route.calls, route.parConns, route.parCalls, reuse(route), route.allocs-bare.allocs, status(ok))
	return b.String()
}

// ---- remote routes over NATS ----

// remote is one round of a caller and its server, over HTTP or NATS.
type remote struct {
	us, p99, cps, cpu, srvCPU            float64 // serial µs/call and p99 µs; calls/s and CPU µs/call from the goroutines
	allocs, srvAllocs, parAllocs, parSrv float64
}

func fromNATS(rs []natsbench.Round) []remote {
	out := make([]remote, len(rs))
	for i, r := range rs {
		out[i] = remote{us: us(r.PerCall), p99: us(r.P99), cps: r.CallsPerSec(), cpu: us(r.ParCPU), srvCPU: us(r.ParSrvCPU),
			allocs: r.AllocsOp, srvAllocs: r.SrvAllocs, parAllocs: r.ParAllocs, parSrv: r.ParSrvAllocs}
	}
	return out
}

func fromHTTP(rs []httpbench.ClientRound) []remote {
	out := make([]remote, len(rs))
	for i, r := range rs {
		out[i] = remote{us: us(r.PerCall), p99: us(r.P99), cps: float64(time.Second) / float64(r.ParPerOp), cpu: us(r.ParCPU), srvCPU: us(r.ParSrvCPU),
			allocs: r.AllocsOp, srvAllocs: r.SrvAllocs, parAllocs: r.ParAllocs, parSrv: r.ParSrvAllocs}
	}
	return out
}

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }

// medOf returns the median of f over rs.
func medOf(rs []remote, f func(remote) float64) float64 {
	xs := make([]float64, len(rs))
	for i, r := range rs {
		xs[i] = f(r)
	}
	return median(xs)
}

// pairedOf returns the median over the rounds of f(a) / f(b) in the same
// round.
func pairedOf(a, b []remote, f func(remote) float64) float64 {
	var xs []float64
	for i := range min(len(a), len(b)) {
		if f(b[i]) > 0 {
			xs = append(xs, f(a[i])/f(b[i]))
		}
	}
	return median(xs)
}

func natsTable(nr map[string][]natsbench.Round, hr map[string][]httpbench.ClientRound) string {
	perCall := func(r remote) float64 { return r.us }
	cps := func(r remote) float64 { return r.cps }
	base := fromNATS(nr["nats-bare"])
	callers := 0
	if rs := nr["nats-bare"]; len(rs) > 0 {
		callers = rs[0].Par
	}
	rows := []struct {
		label string
		rs    []remote
		check func(rs []remote) verdict
	}{
		{"bare nats.go `Request` + encoding/json → bare nats.go responder (baseline)", base, func([]remote) verdict {
			return verdict{"baseline", info}
		}},
		{"WeGO NATS route → `natstransport.Server`, empty chains", fromNATS(nr["nats-route"]), func(rs []remote) verdict {
			lat, thr := pairedOf(rs, base, perCall), pairedOf(rs, base, cps)
			al := medOf(rs, func(r remote) float64 { return r.allocs }) - medOf(base, func(r remote) float64 { return r.allocs })
			return verdict{fmt.Sprintf("serial ≤ 1.1× bare (%.2f×), caller allocs ≤ bare + 5 (%+.1f), %d callers ≥ 0.9× bare calls/s (%.2f×)", lat, al, callers, thr),
				status(lat <= 1.1 && al <= 5 && thr >= 0.9)}
		}},
	}
	for _, d := range []struct{ name, label string }{
		{"diag-bare-to-wego", "diagnostic: bare nats.go caller → `natstransport.Server`"},
		{"diag-route-to-bare", "diagnostic: WeGO NATS route → bare nats.go responder"},
		{"diag-headers", "diagnostic: the bare pair with WeGO's headers both ways (X-Request-Id, Content-Type)"},
	} {
		if rs := nr[d.name]; len(rs) > 0 {
			rows = append(rows, struct {
				label string
				rs    []remote
				check func(rs []remote) verdict
			}{d.label, fromNATS(rs), func([]remote) verdict { return verdict{"", info} }})
		}
	}
	if len(hr) > 0 {
		bareHTTP, routeHTTP := fromHTTP(hr["bare-pair"]), fromHTTP(hr["route"])
		rows = append(rows, []struct {
			label string
			rs    []remote
			check func(rs []remote) verdict
		}{
			{"bare `http.Client` + encoding/json → net/http + encoding/json", bareHTTP, func([]remote) verdict {
				return verdict{"", info}
			}},
			{"WeGO HTTP route → WeGO HTTP transport, empty chains", routeHTTP, func(rs []remote) verdict {
				return verdict{fmt.Sprintf("× the bare HTTP pair: serial %.2f×, %d callers %.2f× calls/s", pairedOf(rs, bareHTTP, perCall), callers, pairedOf(rs, bareHTTP, cps)), info}
			}},
		}...)
	}
	var b strings.Builder
	b.WriteString("## Remote route (NATS)\n\n")
	b.WriteString("The same command called from another process over NATS: a WeGO typed handle whose catalog routes it with ")
	b.WriteString("`natstransport.NewRoute` (empty chains) to a `natstransport.Server` (empty chains), beside a hand-written ")
	b.WriteString("nats.go `Request` with encoding/json to a hand-written nats.go responder (a queue subscription that decodes ")
	b.WriteString("and encodes with encoding/json). The NATS server (WeGO's engine, embedded) and each responder run in a process of its own, ")
	b.WriteString("each caller and responder on a TCP connection of its own to it, on loopback. Beside them, the same calls over HTTP: ")
	b.WriteString("a bare `http.Client` to a bare net/http server, and the WeGO HTTP route to the WeGO HTTP server, so that the ")
	b.WriteString("table shows what NATS costs or saves. Serial calls (latency), then as many calls from ")
	b.WriteString("as many goroutines as the load generator has connections (throughput), after a warm-up; every client runs in ")
	b.WriteString("each round, in turn. Figures are medians over the rounds, ratios medians of the ratios to the bare NATS pair within each round. ")
	b.WriteString("Allocations are counted in the caller's process and in the server's (the responder's; the NATS server's own are in neither), serially; ")
	b.WriteString("the target on allocations is the caller's, as for the HTTP route. CPU is the time per call of every process involved — the caller's, the ")
	b.WriteString("NATS server's and the responder's, or the HTTP client's and server's — while the goroutines call: on a 2-core machine they share the cores, ")
	b.WriteString("and it is what bounds the throughput.\n\n")
	b.WriteString("| caller → server | µs/call | × bare NATS | p99 µs | calls/s, parallel | × bare NATS | CPU µs/call, parallel (server's) | allocs/call, caller | allocs/call, server | target | |\n")
	b.WriteString("|---|--:|--:|--:|--:|--:|--:|--:|--:|---|---|\n")
	for _, rw := range rows {
		if len(rw.rs) == 0 {
			continue
		}
		v := rw.check(rw.rs)
		m := func(f func(remote) float64) float64 { return medOf(rw.rs, f) }
		fmt.Fprintf(&b, "| %s | %.1f | %.2f× | %.0f | %.0f | %.2f× | %.1f (%.1f) | %.1f | %.1f | %s | %s |\n",
			rw.label, m(perCall), pairedOf(rw.rs, base, perCall), m(func(r remote) float64 { return r.p99 }),
			m(cps), pairedOf(rw.rs, base, cps), m(func(r remote) float64 { return r.cpu }), m(func(r remote) float64 { return r.srvCPU }),
			m(func(r remote) float64 { return r.allocs }), m(func(r remote) float64 { return r.srvAllocs }), v.target, v.status)
	}
	b.WriteString("\n")
	return b.String()
}
