package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// ---- sections ----

// sectionNames are the sections of the report that -only chooses from.
var sectionNames = []string{"inproc", "http", "nats", "store", "auth", "events"}

// choose runs the sections that list names, and no other.
func (s *settings) choose(list string) error {
	s.inproc, s.http, s.nats, s.store, s.auth, s.events = false, false, false, false, false, false
	for name := range strings.SplitSeq(list, ",") {
		switch strings.TrimSpace(name) {
		case "inproc":
			s.inproc = true
		case "http":
			s.http = true
		case "nats":
			s.nats = true
		case "store":
			s.store = true
		case "auth":
			s.auth = true
		case "events":
			s.events = true
		default:
			return fmt.Errorf("-only: unknown section %q: want a comma-separated list of %s", name, strings.Join(sectionNames, ", "))
		}
	}
	return nil
}

// all says whether every section runs, so that the report is a page of
// its own.
func (s *settings) all() bool { return s.inproc && s.http && s.nats && s.store && s.auth && s.events }

// section is a part of the page that starts with a "## " heading, up to
// the next one.
type section struct{ title, text string }

// splitSections splits a page into what precedes its first "## " heading
// and its sections.
func splitSections(page string) (preamble string, secs []section) {
	lines := strings.SplitAfter(page, "\n")
	var cur *section
	var pre strings.Builder
	for _, l := range lines {
		if title, ok := strings.CutPrefix(l, "## "); ok {
			secs = append(secs, section{title: strings.TrimSpace(title)})
			cur = &secs[len(secs)-1]
		}
		if cur == nil {
			pre.WriteString(l)
		} else {
			cur.text += l
		}
	}
	return pre.String(), secs
}

// splice returns the page old with the sections of ran in place of the
// sections of the same titles, or before "How to reproduce" when old has
// none of that title, and with the preamble (title and introduction) of
// header, the new run's: it names what the suite measures, which does not
// depend on the run. The other sections of old, the machine's table
// among them, are those of the runs that measured them.
func splice(old, header, ran string) string {
	pre, secs := splitSections(old)
	if newPre, _ := splitSections(header); newPre != "" {
		pre = newPre
	}
	_, add := splitSections(ran)
	for _, a := range add {
		i := slices.IndexFunc(secs, func(s section) bool { return s.title == a.title })
		if i >= 0 {
			secs[i] = a
			continue
		}
		at := slices.IndexFunc(secs, func(s section) bool { return s.title == "How to reproduce" })
		if at < 0 {
			at = len(secs)
		}
		secs = slices.Insert(secs, at, a)
	}
	var b strings.Builder
	b.WriteString(pre)
	for _, s := range secs {
		b.WriteString(s.text)
	}
	return b.String()
}

// runLine says, in a section, which run measured it: a partial run puts
// its sections in a page whose machine table and footer are another
// run's.
func runLine(s settings, started time.Time, loadStart string) string {
	mode := "full"
	if s.quick {
		mode = "quick"
	}
	return fmt.Sprintf("Measured by the run of %s (%s mode: %d interleaved runs of the suite at `-benchtime %s`, the order of each pair's sides reversed in every other run); the 1-minute load average was %s at the section's start and %s at its end, on %s.\n\n",
		started.UTC().Format("2006-01-02 15:04 MST"), mode, s.count, s.benchtime, loadStart, loadAvg(), machineSummary())
}

// machineSummary names the machine in a few words, for a section that
// another run's machine table precedes.
func machineSummary() string {
	return fmt.Sprintf("%s, %d cores, %s", cpuModel(), runtime.NumCPU(), goVersion())
}

// ---- Go benchmark suites ----

// envOrder is the environment variable that makes the benchmarks of
// packages storebench and authbench run the sides of each pair in reverse
// order when it is "reverse".
const envOrder = "WEGO_BENCH_ORDER"

// goSuite is a package of Go benchmarks that the report runs.
type goSuite struct {
	pkg       string // the package's directory in the bench module
	pattern   string // -test.bench
	alternate bool   // reverse the order of each pair's sides in every other run (envOrder)
}

// runGoBench builds the test binary of a suite and runs its benchmarks
// s.count times, each a whole run of the suite, and returns their samples
// and, by benchmark, why those that skipped did.
func runGoBench(s settings, suite goSuite) (inprocResult, map[string]string, error) {
	dir, err := os.MkdirTemp("", "wego-bench-")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, suite.pkg+".test")
	logf("go test -c -o %s ./%s", bin, suite.pkg)
	build := exec.Command("go", "test", "-c", "-o", bin, "./"+suite.pkg)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return nil, nil, fmt.Errorf("building the suite of %s: %w", suite.pkg, err)
	}
	// The repetitions are whole runs of the suite, one after the other,
	// rather than -count N (which repeats each benchmark N times in a row):
	// every benchmark and its baseline then share the machine's noise.
	args := []string{"-test.run", "^$", "-test.bench", suite.pattern, "-test.benchmem", "-test.count", "1", "-test.benchtime", s.benchtime}
	var out bytes.Buffer
	for i := range s.count {
		env := os.Environ()
		order := ""
		if suite.alternate && i%2 == 1 {
			env = append(env, envOrder+"=reverse")
			order = " " + envOrder + "=reverse"
		}
		logf("%s repetition %d/%d:%s %s.test %s", suite.pkg, i+1, s.count, order, suite.pkg, strings.Join(args, " "))
		cmd := exec.Command(bin, args...)
		cmd.Dir = suite.pkg
		cmd.Env = env
		cmd.Stdout = io.MultiWriter(&out, os.Stderr)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			return nil, nil, fmt.Errorf("the suite of %s: %w", suite.pkg, err)
		}
	}
	if raw := filepath.Join(os.TempDir(), "wego-bench-"+suite.pkg+".txt"); os.WriteFile(raw, out.Bytes(), 0o644) == nil {
		logf("raw output in %s (benchstat reads it)", raw)
	}
	return parseBench(bytes.NewReader(out.Bytes())), parseSkips(bytes.NewReader(out.Bytes())), nil
}

// parseSkips reads, from `go test -bench` output, the benchmarks that
// skipped and the first line of what they logged.
func parseSkips(r io.Reader) map[string]string {
	skips := map[string]string{}
	sc := bufio.NewScanner(r)
	name := ""
	for sc.Scan() {
		line := sc.Text()
		if n, ok := strings.CutPrefix(line, "--- SKIP: Benchmark"); ok {
			name = strings.TrimSpace(n)
			if i := strings.LastIndexByte(name, '-'); i > 0 && strings.Trim(name[i+1:], "0123456789") == "" {
				name = name[:i]
			}
			continue
		}
		if name != "" && strings.HasPrefix(line, "    ") {
			msg := strings.TrimSpace(line)
			if _, after, ok := strings.Cut(msg, ".go:"); ok { // file.go:12: message
				if _, m, ok := strings.Cut(after, ": "); ok {
					msg = m
				}
			}
			if skips[name] == "" {
				skips[name] = msg
			}
			continue
		}
		name = ""
	}
	return skips
}

// metric returns the median over the runs of the metric unit of the
// benchmark name, and whether every run reported it.
func (r inprocResult) metric(name, unit string) (float64, bool) {
	var xs []float64
	for _, s := range r[name] {
		v, ok := s.metrics[unit]
		if !ok {
			return 0, false
		}
		xs = append(xs, v)
	}
	return median(xs), len(xs) > 0
}

// ratios returns f(a) / f(b) in each run.
func (r inprocResult) ratios(a, b string, f func(sample) float64) []float64 {
	as, bs := r[a], r[b]
	var rs []float64
	for i := range min(len(as), len(bs)) {
		if f(bs[i]) > 0 {
			rs = append(rs, f(as[i])/f(bs[i]))
		}
	}
	return rs
}

// spread is the median of xs with its quartiles, which show how much the
// machine's load moved a ratio from one run to the next.
type spread struct{ med, lo, hi float64 }

func spreadOf(xs []float64) spread {
	if len(xs) == 0 {
		return spread{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return spread{median(s), s[len(s)/4], s[(3*len(s)-1)/4]}
}

// String formats a ratio and its quartiles: "1.04× (0.98–1.10)".
func (s spread) String() string {
	return fmt.Sprintf("%s× (%s–%s)", fmtRatio(s.med), fmtRatio(s.lo), fmtRatio(s.hi))
}

func nsOf(s sample) float64 { return s.ns }

// fmtTime formats a time per operation, given in nanoseconds, in the unit
// that suits it.
func fmtTime(ns float64) string {
	switch {
	case ns < 1e3:
		return fmtNs(ns) + " ns"
	case ns < 1e6:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	}
	return fmt.Sprintf("%.2f ms", ns/1e6)
}
