//go:build unix

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestTutorial is the CI test of code generation: it follows
// docs/tutorial.md step by step — every shell command and every code block
// of the page — on a service generated into a temporary directory that
// builds against this checkout (go.mod replaces github.com/wegomesh/wego
// with it): wego new, go mod tidy, make run and the curl calls against the
// running binary, make test (go test -race ./..., the feature files
// included) before and after implementing the operation, make lint (go
// vet, gofmt), wego gen after a spec change; then go build ./... and go
// vet ./..., and a last wego gen that must change nothing.
//
// It needs the go command, make and the modules WeGO depends on (in the
// module cache, or through GOPROXY, both inherited), and takes tens of
// seconds with a warm build cache: -short skips it.
func TestTutorial(t *testing.T) {
	if testing.Short() {
		t.Skip("builds, vets and tests a generated service with the go command (tens of seconds); skipped in -short mode")
	}
	for _, tool := range []string{"go", "make"} {
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
	tu := &tutorial{t: t, root: root, work: t.TempDir(), bin: t.TempDir(), start: time.Now()}
	tu.cwd = tu.work
	t.Cleanup(tu.stopServer)

	for i := 0; i < len(blocks); i++ {
		b := blocks[i]
		switch {
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
	if !tu.ranTests || !tu.curled {
		t.Fatal("the tutorial no longer runs make test and curl: this test checks nothing")
	}

	// What CI asks of every generated service, beyond the tutorial.
	tu.run("go", "build", "./...")
	tu.run("go", "vet", "./...")
	before := tree(t, tu.cwd)
	tu.run(filepath.Join(tu.bin, "wego"), "gen")
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
	t                  *testing.T
	root, work, bin    string
	cwd                string
	start              time.Time
	server             *exec.Cmd
	addr               string
	ranTests, curled   bool
	builtWego, created bool
}

// env is the environment of the commands: the test's, without WEGO_
// variables and go.work, with the built wego first in PATH.
func (tu *tutorial) env(extra ...string) []string {
	var env []string
	goflags := ""
	for _, kv := range os.Environ() {
		switch {
		case strings.HasPrefix(kv, "WEGO_"), strings.HasPrefix(kv, "GOWORK="), strings.HasPrefix(kv, "PATH="):
		case strings.HasPrefix(kv, "GOFLAGS="):
			goflags = strings.TrimPrefix(kv, "GOFLAGS=")
		default:
			env = append(env, kv)
		}
	}
	env = append(env, "GOWORK=off", "PATH="+tu.bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"GOFLAGS="+strings.TrimSpace(goflags+" -mod=mod"))
	return append(env, extra...)
}

// run runs a command in the current directory and fails the test when it
// fails.
func (tu *tutorial) run(name string, args ...string) string {
	tu.t.Helper()
	out, err := tu.try(name, args...)
	if err != nil {
		tu.t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return out
}

func (tu *tutorial) try(name string, args ...string) (string, error) {
	start := time.Now()
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
	case cmdline == "go install github.com/wegomesh/wego/cmd/wego@latest":
		// The same program, built from this checkout: @latest is the
		// published module, which this test must not depend on.
		cwd := tu.cwd
		tu.cwd = tu.root
		tu.run("go", "build", "-o", filepath.Join(tu.bin, "wego"), "./cmd/wego")
		tu.cwd, tu.builtWego = cwd, true
	case args[0] == "wego":
		if !tu.builtWego {
			t.Fatalf("tutorial line %d: wego runs before it is installed", line)
		}
		if len(args) > 2 && args[1] == "new" && args[2] == "service" {
			args = append(args, "--wego-replace", tu.root) // unpublished: build against this checkout
			tu.created = true
		}
		tu.run(filepath.Join(tu.bin, "wego"), args[1:]...)
	case args[0] == "cd" && len(args) == 2:
		tu.cwd = filepath.Join(tu.cwd, args[1])
	case cmdline == "go mod tidy":
		if out, err := tu.try("go", "mod", "tidy"); err != nil {
			// Offline, tidy cannot fetch the test-only dependencies of
			// dependencies; -e keeps what the build needs.
			t.Logf("go mod tidy failed, retrying with -e: %v\n%s", err, out)
			tu.run("go", "mod", "tidy", "-e")
		}
	case cmdline == "make run":
		tu.startServer()
	case args[0] == "make" && len(args) == 2:
		tu.run("make", args[1])
		if args[1] == "test" {
			tu.ranTests = true
		}
	case args[0] == "curl":
		tu.curl(line, args[1:], expect)
	default:
		t.Fatalf("tutorial line %d: %q is not a command this test knows how to run: teach TestTutorial", line, cmdline)
	}
}

var listeningRE = regexp.MustCompile(`listening on http://(\S+)`)

// startServer runs make run on a free loopback port (stopping the one
// started before) and waits until the service says where it listens.
func (tu *tutorial) startServer() {
	t := tu.t
	t.Helper()
	tu.stopServer()
	start := time.Now()
	cmd := exec.Command("make", "run")
	cmd.Dir = tu.cwd
	cmd.Env = tu.env("WEGO_HTTP_ADDR=127.0.0.1:0")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // make, go run and the service: one group to stop
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tu.server = cmd
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := listeningRE.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
				break
			}
		}
		io.Copy(io.Discard, out)
	}()
	select {
	case tu.addr = <-found:
		t.Logf("%6.1fs  make run: listening on %s (%s)", time.Since(tu.start).Seconds(), tu.addr, time.Since(start).Round(time.Millisecond))
	case <-time.After(2 * time.Minute):
		tu.stopServer()
		t.Fatalf("make run did not start listening:\n%s", stderr.String())
	}
}

// stopServer stops make run's process group with SIGTERM, as Ctrl-C would.
func (tu *tutorial) stopServer() {
	if tu.server == nil {
		return
	}
	pgid := tu.server.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { tu.server.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-done
	}
	tu.server, tu.addr = nil, ""
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
		"--dir", tu.cwd, "--wego-replace", root); code != exitOK {
		t.Fatalf("wego new = %d\n%s", code, stderr)
	}
	if out, err := tu.try("go", "mod", "tidy"); err != nil {
		t.Logf("go mod tidy failed, retrying with -e: %v\n%s", err, out)
		tu.run("go", "mod", "tidy", "-e")
	}
	tu.run("go", "build", "./...")
	tu.run("go", "vet", "./...")
	out := tu.run("go", "test", "-count=1", "./...")
	if !strings.Contains(out, "ok  \texample.com/billing\t") {
		t.Errorf("the features did not run:\n%s", out)
	}
}
