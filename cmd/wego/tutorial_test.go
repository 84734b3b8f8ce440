//go:build unix

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wegomesh/wego/templates"
)

// TestTutorial is the CI test of code generation: it follows
// docs/tutorial.md step by step, running every shell command of the page
// as written (through sh, in an environment without WEGO_ variables) and
// applying every code block: go install ./cmd/wego in this checkout, with
// GOBIN a temporary directory first in PATH, then, in a temporary
// directory that stands for ~, wego new, go mod tidy, make run and the
// curl calls against the running binary, make test (go test -race ./...,
// the feature files included) before and after implementing the
// operation, make lint (go vet, gofmt), wego gen after a spec change. The
// output the page shows after a command must be what the command printed.
//
// Beyond the page it checks that the service builds against this checkout
// (the go.mod that wego new wrote replaces WeGO with it), that a signal to
// make run stops the service and frees its port — Ctrl-C (SIGINT to the
// process group) for the first run, SIGTERM to make alone for the second —,
// that the binary links neither test-only modules (godog) nor the New
// Relic agent or gRPC, which it does not use, that go build ./...
// and go vet ./... pass, and that a last wego gen changes nothing.
//
// It needs the go command, make, and the modules WeGO depends on (in the
// module cache, or through the module proxy, both inherited); it takes
// tens of seconds with a warm build cache: -short skips it.
func TestTutorial(t *testing.T) {
	if testing.Short() {
		t.Skip("builds, vets and tests a generated service with the go command (tens of seconds); skipped in -short mode")
	}
	for _, tool := range []string{"go", "make", "sh"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the tutorial needs %s in PATH: %v", tool, err)
		}
	}
	root := checkoutRoot(t)
	doc, err := os.ReadFile(filepath.Join(root, "docs", "tutorial.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := parseBlocks(string(doc))
	tu := &tutorial{t: t, root: root, home: t.TempDir(), bin: t.TempDir(), start: time.Now()}
	tu.cwd = root // the page starts in the root of a clone of WeGO
	t.Cleanup(tu.killServer)

	for i := 0; i < len(blocks); i++ {
		b := blocks[i]
		switch {
		case b.directive == "output":
			tu.checkOutput(b)
		case b.directive != "":
			tu.apply(b)
		case b.lang == "sh":
			for line := range strings.SplitSeq(b.body, "\n") {
				line = strings.TrimSpace(line)
				if line == "" || strings.HasPrefix(line, "#") {
					continue
				}
				var expect *block
				if strings.HasPrefix(line, "curl ") {
					if i+1 >= len(blocks) || blocks[i+1].lang != "http" {
						t.Fatalf("tutorial line %d: %q is not followed by an http block with the expected response", b.line, line)
					}
					i++
					expect = &blocks[i]
				}
				tu.command(b.line, line, expect)
			}
		}
	}
	if !tu.ranTests || !tu.curled || !tu.created || tu.runs < 2 {
		t.Fatal("the tutorial no longer creates a service, runs it twice, calls it with curl and runs make test: this test checks less than it says")
	}

	// What CI asks of every generated service, beyond the tutorial.
	tu.checkLinked(filepath.Join(tu.cwd, "bin", "billing"))
	tu.stopServer(syscall.SIGTERM, false) // kill <make's pid>
	tu.run("go", "build", "./...")
	tu.run("go", "vet", "./...")
	before := tree(t, tu.cwd)
	tu.run("wego", "gen")
	if after := tree(t, tu.cwd); !reflect.DeepEqual(before, after) {
		t.Error("a second wego gen with the same spec changed files")
	}
	t.Logf("tutorial done in %s", time.Since(tu.start).Round(time.Millisecond))
}

// block is a fenced code block of the tutorial, with the directive
// (<!-- tutorial: ... -->) that precedes it, if any.
type block struct {
	line      int
	lang      string
	body      string
	directive string
}

func parseBlocks(doc string) []block {
	var out []block
	var cur *block
	directive := ""
	for i, line := range strings.Split(doc, "\n") {
		switch {
		case cur != nil && strings.HasPrefix(line, "```"):
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.body += line + "\n"
		case strings.HasPrefix(line, "```"):
			cur = &block{line: i + 1, lang: strings.TrimPrefix(line, "```"), directive: directive}
			directive = ""
		case strings.HasPrefix(line, "<!-- tutorial:"):
			directive = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(line, "<!-- tutorial:"), "-->"))
		}
	}
	return out
}

type tutorial struct {
	t *testing.T
	// root is this checkout; home stands for ~; bin is GOBIN.
	root, home, bin string
	cwd             string
	start           time.Time
	// last is what the last command printed, for an output block, unless
	// serverLast: the last command was make run, which prints into out.
	last       string
	serverLast bool
	// server is the running make run, addr where it listens, out what
	// it printed.
	server           *exec.Cmd
	exited           chan struct{} // closed when make run has exited
	addr             string
	out              *syncBuffer
	runs             int
	ranTests, curled bool
	created          bool
}

// env is the environment of the commands: the test's, without WEGO_
// variables and go.work, with GOBIN a temporary directory first in PATH,
// as it would be for someone who follows the tutorial.
func (tu *tutorial) env(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		switch {
		case strings.HasPrefix(kv, "WEGO_"), strings.HasPrefix(kv, "GOWORK="), strings.HasPrefix(kv, "PATH="), strings.HasPrefix(kv, "GOBIN="):
		default:
			env = append(env, kv)
		}
	}
	env = append(env, "GOWORK=off", "GOBIN="+tu.bin, "PATH="+tu.bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	return append(env, extra...)
}

// run runs a command in the current directory and fails the test when it
// fails. wego is the one installed in GOBIN.
func (tu *tutorial) run(name string, args ...string) string {
	tu.t.Helper()
	out, err := tu.try(name, args...)
	if err != nil {
		tu.t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

func (tu *tutorial) try(name string, args ...string) (string, error) {
	start := time.Now()
	if name == "wego" { // not the test process's PATH: the commands'
		name = filepath.Join(tu.bin, "wego")
	}
	cmd := exec.Command(name, args...)
	cmd.Dir, cmd.Env = tu.cwd, tu.env()
	out, err := cmd.CombinedOutput()
	tu.t.Logf("%6.1fs  %s %s (%s)", time.Since(tu.start).Seconds(), filepath.Base(name), strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	return string(out), err
}

// command runs one shell line of the tutorial; a line it does not know
// fails the test, so that every command of the page is exercised.
func (tu *tutorial) command(line int, cmdline string, expect *block) {
	t := tu.t
	t.Helper()
	args := strings.Fields(cmdline)
	switch {
	case args[0] == "cd" && len(args) == 2:
		dir := args[1]
		if dir == "~" || strings.HasPrefix(dir, "~/") {
			dir = filepath.Join(tu.home, strings.TrimPrefix(dir[1:], "/"))
		} else {
			dir = filepath.Join(tu.cwd, dir)
		}
		if info, err := os.Stat(dir); err != nil || !info.IsDir() {
			t.Fatalf("tutorial line %d: %s: not a directory: %v", line, cmdline, err)
		}
		tu.cwd = dir
	case cmdline == "make run":
		tu.startServer()
	case args[0] == "curl":
		tu.curl(line, args[1:], expect)
	case args[0] == "go" && len(args) > 1 && (args[1] == "install" || cmdline == "go mod tidy"),
		args[0] == "wego",
		args[0] == "make" && len(args) == 2:
		if args[0] == "wego" {
			if _, err := os.Stat(filepath.Join(tu.bin, "wego")); err != nil {
				t.Fatalf("tutorial line %d: %s: wego is not installed in GOBIN (%v): the page must install it first", line, cmdline, err)
			}
		}
		tu.last, tu.serverLast = tu.sh(line, cmdline), false
		switch {
		case len(args) > 2 && args[0] == "wego" && args[1] == "new":
			tu.created = true
			tu.checkReplace(line)
		case cmdline == "make test":
			tu.ranTests = true
		}
	default:
		t.Fatalf("tutorial line %d: %q is not a command this test knows how to run: teach TestTutorial", line, cmdline)
	}
}

// sh runs a line of the tutorial as it is written, with sh, in the
// current directory, and returns its output.
func (tu *tutorial) sh(line int, cmdline string) string {
	t := tu.t
	t.Helper()
	start := time.Now()
	cmd := exec.Command("sh", "-c", cmdline)
	cmd.Dir, cmd.Env = tu.cwd, tu.env()
	out, err := cmd.CombinedOutput()
	t.Logf("%6.1fs  %s (%s)", time.Since(tu.start).Seconds(), cmdline, time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("tutorial line %d: %s: %v\n%s", line, cmdline, err, out)
	}
	return string(out)
}

// checkReplace checks what the tutorial says of the go.mod that wego new
// wrote: it replaces WeGO with the checkout wego was installed from.
func (tu *tutorial) checkReplace(line int) {
	t := tu.t
	t.Helper()
	dirs, _ := filepath.Glob(filepath.Join(tu.cwd, "*", "go.mod"))
	if len(dirs) != 1 {
		t.Fatalf("tutorial line %d: wego new wrote %d go.mod files below %s, want one", line, len(dirs), tu.cwd)
	}
	gomod, err := os.ReadFile(dirs[0])
	if err != nil {
		t.Fatal(err)
	}
	if want := "\nreplace " + templates.WegoModule + " => " + tu.root + "\n"; !strings.Contains(string(gomod), want) {
		t.Errorf("tutorial line %d: the go.mod that the installed wego wrote does not replace WeGO with the checkout %s:\n%s", line, tu.root, gomod)
	}
}

// checkOutput checks an output block of the tutorial: its lines must be
// lines of what the last command printed, in that order. The address of
// a running service stands for the one shown, [::]:8080.
func (tu *tutorial) checkOutput(b block) {
	t := tu.t
	t.Helper()
	got := tu.last
	if tu.serverLast {
		got = tu.out.String()
	}
	lines := strings.Split(got, "\n")
	for want := range strings.SplitSeq(strings.TrimRight(b.body, "\n"), "\n") {
		if tu.serverLast && tu.addr != "" {
			want = strings.ReplaceAll(want, "[::]:8080", tu.addr)
		}
		for len(lines) > 0 && strings.TrimRight(lines[0], " \r") != want {
			lines = lines[1:]
		}
		if len(lines) == 0 {
			t.Errorf("tutorial line %d: the page shows the line\n%s\nwhich the command did not print (in that order); it printed:\n%s", b.line, want, got)
			return
		}
		lines = lines[1:]
	}
}

var listeningRE = regexp.MustCompile(`listening on http://(\S+)`)

// syncBuffer is a bytes.Buffer that make run's output goroutine writes
// while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServer runs make run on a free loopback port, in its own process
// group as in a terminal, stopping the one started before as Ctrl-C would,
// and waits until the service says where it listens.
func (tu *tutorial) startServer() {
	t := tu.t
	t.Helper()
	if tu.server != nil {
		tu.stopServer(syscall.SIGINT, true) // Ctrl-C
	}
	start := time.Now()
	cmd := exec.Command("make", "run")
	cmd.Dir = tu.cwd
	cmd.Env = tu.env("WEGO_HTTP_ADDR=127.0.0.1:0")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	tu.out = &syncBuffer{}
	cmd.Stdout, cmd.Stderr = tu.out, tu.out
	// Once make has exited, Wait does not wait for a service it left
	// behind to close its output: stopServer reports that service.
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tu.server, tu.serverLast = cmd, true
	tu.runs++
	exited := make(chan struct{})
	tu.exited = exited
	go func() { cmd.Wait(); close(exited) }()
	for deadline := time.Now().Add(5 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
		if m := listeningRE.FindStringSubmatch(tu.out.String()); m != nil {
			tu.addr = m[1]
			break
		}
		select {
		case <-exited:
			tu.killServer()
			t.Fatalf("make run exited before the service listened:\n%s", tu.out.String())
		default:
		}
		if time.Now().After(deadline) {
			tu.killServer()
			t.Fatalf("make run did not start listening within 5 minutes:\n%s", tu.out.String())
		}
	}
	t.Logf("%6.1fs  make run: listening on %s (%s)", time.Since(tu.start).Seconds(), tu.addr, time.Since(start).Round(time.Millisecond))
}

// stopServer stops make run with sig, sent to its process group (as the
// terminal does for Ctrl-C) or to make alone (as kill does), and checks
// that it stopped: make exits, nothing of its process group is left, and
// nothing listens on the service's address.
func (tu *tutorial) stopServer(sig syscall.Signal, group bool) {
	t := tu.t
	t.Helper()
	cmd, addr := tu.server, tu.addr
	pgid := cmd.Process.Pid
	what := fmt.Sprintf("%s to make", sig)
	if group {
		what = fmt.Sprintf("%s to make's process group", sig)
		syscall.Kill(-pgid, sig)
	} else {
		cmd.Process.Signal(sig)
	}
	select {
	case <-tu.exited:
	case <-time.After(20 * time.Second):
		tu.killServer()
		t.Fatalf("make run did not stop within 20s of %s:\n%s", what, tu.out.String())
	}
	// make exits once its recipe has: the service must be gone too.
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Errorf("after %s, something still listens on %s", what, addr)
	}
	var left error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if left = syscall.Kill(-pgid, 0); errors.Is(left, syscall.ESRCH) {
			break
		}
	}
	if !errors.Is(left, syscall.ESRCH) {
		syscall.Kill(-pgid, syscall.SIGKILL)
		t.Errorf("after %s, make exited but left processes of its group running (killed now)", what)
	}
	tu.server, tu.addr = nil, ""
	t.Logf("%6.1fs  stopped make run with %s", time.Since(tu.start).Seconds(), what)
}

// killServer kills what is left of make run, when the test fails.
func (tu *tutorial) killServer() {
	if tu.server == nil {
		return
	}
	syscall.Kill(-tu.server.Process.Pid, syscall.SIGKILL)
	<-tu.exited
	tu.server, tu.addr = nil, ""
}

// checkLinked checks which modules the service's binary links: never a
// test-only one (godog and the cucumber modules come with package bdd, for
// the features), and not the New Relic agent nor gRPC, which it brings:
// fw links the agent only when a service imports fw/newrelic, and the
// generated one does not.
func (tu *tutorial) checkLinked(binary string) {
	t := tu.t
	t.Helper()
	out := tu.run("go", "version", "-m", binary)
	var mods []string
	for line := range strings.SplitSeq(out, "\n") {
		if f := strings.Fields(line); len(f) >= 2 && (f[0] == "dep" || f[0] == "=>") {
			mods = append(mods, f[1])
		}
	}
	if len(mods) == 0 || !slices.Contains(mods, "go.uber.org/zap") {
		t.Fatalf("go version -m %s does not list the modules the service links (zap at least):\n%s", binary, out)
	}
	banned := []string{"github.com/cucumber/", "github.com/newrelic/", "google.golang.org/grpc"}
	for _, m := range mods {
		for _, b := range banned {
			if strings.HasPrefix(m, b) {
				t.Errorf("the service's binary links %s, which it does not use", m)
			}
		}
	}
}

// curl makes the request of a curl line of the tutorial with net/http,
// against the running service, and compares the response with the
// tutorial's: status, the headers shown, and the JSON body, where "…"
// stands for any value.
func (tu *tutorial) curl(line int, args []string, expect *block) {
	t := tu.t
	t.Helper()
	if tu.addr == "" {
		t.Fatalf("tutorial line %d: curl without a running service", line)
	}
	method, target := "GET", ""
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-i":
		case a == "-X" && i+1 < len(args):
			method = args[i+1]
			i++
		case strings.HasPrefix(a, "http://"):
			target = a
		default:
			t.Fatalf("tutorial line %d: curl option %q is not supported by this test", line, a)
		}
	}
	u, err := url.Parse(target)
	if err != nil || u.Host != "localhost:8080" {
		t.Fatalf("tutorial line %d: curl %q: want a URL on localhost:8080, the default port", line, target)
	}
	u.Host = tu.addr
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, u.String(), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	tu.curled = true

	head, wantBody, _ := strings.Cut(expect.body, "\n\n")
	lines := strings.Split(head, "\n")
	status := strings.Fields(lines[0])
	if len(status) < 2 || status[1] != strconv.Itoa(resp.StatusCode) {
		t.Errorf("tutorial line %d: %s %s answered %d, the tutorial shows %q", expect.line, method, target, resp.StatusCode, lines[0])
	}
	for _, h := range lines[1:] {
		name, value, _ := strings.Cut(h, ": ")
		if got := resp.Header.Get(name); got != value {
			t.Errorf("tutorial line %d: header %s is %q, the tutorial shows %q", expect.line, name, got, value)
		}
	}
	var got, want any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("response body %q: %v", body, err)
	}
	if err := json.Unmarshal([]byte(wantBody), &want); err != nil {
		t.Fatalf("tutorial line %d: the body shown is not JSON: %v", expect.line, err)
	}
	if !jsonMatch(want, got) {
		t.Errorf("tutorial line %d: %s %s answered\n%s\nthe tutorial shows\n%s", expect.line, method, target, body, wantBody)
	}
}

// jsonMatch compares JSON values; "…" in want matches anything.
func jsonMatch(want, got any) bool {
	if want == "…" {
		return true
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for k, v := range w {
			if !jsonMatch(v, g[k]) {
				return false
			}
		}
		return true
	default:
		return reflect.DeepEqual(want, got)
	}
}

// apply carries out a code block with a directive:
//
//	replace-func FILE NAME     replace the method NAME (with its doc comment)
//	write FILE                 write the block as the whole file
//	insert-before FILE LINE    insert the block before the line LINE
func (tu *tutorial) apply(b block) {
	t := tu.t
	t.Helper()
	f := strings.Fields(b.directive)
	if len(f) < 2 {
		t.Fatalf("tutorial line %d: bad directive %q", b.line, b.directive)
	}
	name := filepath.Join(tu.cwd, filepath.FromSlash(f[1]))
	data, err := os.ReadFile(name)
	if err != nil && f[0] != "write" {
		t.Fatalf("tutorial line %d: %v", b.line, err)
	}
	text := string(data)
	switch {
	case f[0] == "write" && len(f) == 2:
		text = b.body
	case f[0] == "replace-func" && len(f) == 3:
		start := strings.Index(text, ") "+f[2]+"(")
		if start < 0 {
			t.Fatalf("tutorial line %d: %s has no method %s", b.line, f[1], f[2])
		}
		start = strings.LastIndex(text[:start], "\nfunc ") + 1
		for { // take the doc comment too
			prev := strings.LastIndex(text[:start-1], "\n") + 1
			if !strings.HasPrefix(text[prev:], "//") {
				break
			}
			start = prev
		}
		end := strings.Index(text[start:], "\n}\n")
		if end < 0 {
			t.Fatalf("tutorial line %d: method %s has no end", b.line, f[2])
		}
		text = text[:start] + b.body + text[start+end+3:]
	case f[0] == "insert-before" && len(f) == 3:
		at := strings.Index(text, "\n"+f[2]+"\n")
		if at < 0 {
			t.Fatalf("tutorial line %d: %s has no line %q", b.line, f[1], f[2])
		}
		text = text[:at+1] + b.body + text[at+1:]
	default:
		t.Fatalf("tutorial line %d: unknown directive %q", b.line, b.directive)
	}
	if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("%6.1fs  %s", time.Since(tu.start).Seconds(), b.directive)
}

// tree returns the content and modification time of every file under dir
// except bin/.
func tree(t *testing.T, dir string) map[string]string {
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "bin" {
			return filepath.SkipDir
		}
		if d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		out[p] = fmt.Sprint(info.ModTime(), len(data))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestFullSpec generates the service of templates/testdata/billing.yaml —
// every field type, path, query and header fields, 201 and 204 statuses,
// retry, cache and audit attributes, two error codes — and builds, vets
// and tests it (its features included) against this checkout. -short
// skips it, like TestTutorial.
func TestFullSpec(t *testing.T) {
	if testing.Short() {
		t.Skip("builds, vets and tests a generated service with the go command; skipped in -short mode")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skipf("needs go in PATH: %v", err)
	}
	root := checkoutRoot(t)
	tu := &tutorial{t: t, root: root, bin: t.TempDir(), start: time.Now()}
	tu.cwd = filepath.Join(t.TempDir(), "billing")
	if code, _, stderr := wego(t, "new", "service", "billing", "--spec", filepath.Join(root, "templates", "testdata", "billing.yaml"),
		"--dir", tu.cwd); code != exitOK { // builds against this checkout: the default of a wego built from it
		t.Fatalf("wego new = %d\n%s", code, stderr)
	}
	tu.run("go", "mod", "tidy")
	tu.run("go", "build", "./...")
	tu.run("go", "vet", "./...")
	out := tu.run("go", "test", "-count=1", "./...")
	if !strings.Contains(out, "ok  \texample.com/billing\t") {
		t.Errorf("the features did not run:\n%s", out)
	}
}
