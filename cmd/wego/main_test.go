package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/wegomesh/wego/templates"
)

// wego runs the command line and returns its exit status and output.
func wego(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		args []string
		want string
	}{
		{nil, "Usage:"},
		{[]string{"build"}, `unknown command "build"`},
		{[]string{"new"}, "wego new service NAME"},
		{[]string{"new", "client", "billing"}, "only services"},
		{[]string{"new", "service"}, "takes one NAME, got 0"},
		{[]string{"new", "service", "a", "b"}, "takes one NAME, got 2"},
		{[]string{"new", "service", "Billing"}, `"Billing" cannot name a service`},
		{[]string{"new", "service", "func"}, `"func" cannot name a service`},
		{[]string{"new", "service", "billing", "--colour"}, "flag provided but not defined: -colour"},
		{[]string{"new", "service", "billing", "--module", "/x", "--dir", dir}, "not a valid Go module path"},
		{[]string{"gen", "extra"}, `takes no arguments, got "extra"`},
		{[]string{"gen", "--dir"}, "flag needs an argument"},
		{[]string{"version", "now"}, "version takes no arguments"},
		{[]string{"help", "deploy"}, `no help for "deploy"`},
	}
	for _, tt := range tests {
		code, _, stderr := wego(t, tt.args...)
		if code != exitUsage || !strings.Contains(stderr, tt.want) {
			t.Errorf("wego %q = %d, stderr:\n%s\nwant 2 and %q", tt.args, code, stderr, tt.want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Error("a usage error wrote files")
	}
}

func TestHelp(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"help"}, {"--help"}, {"help", "new"}, {"help", "gen"}, {"new", "-h"}} {
		code, stdout, stderr := wego(t, args...)
		if code != exitOK || !strings.Contains(stdout+stderr, "Usage") {
			t.Errorf("wego %q = %d\n%s%s", args, code, stdout, stderr)
		}
	}
	_, stdout, _ := wego(t, "help", "new")
	if !strings.Contains(stdout, "-wego-replace") {
		t.Errorf("help new lists no flags:\n%s", stdout)
	}
}

func TestVersion(t *testing.T) {
	code, stdout, _ := wego(t, "version")
	if code != exitOK || !regexp.MustCompile(`^wego \S+.* go1\.\S+\n$`).MatchString(stdout) {
		t.Errorf("wego version = %d %q", code, stdout)
	}
	old := version
	version = "v1.2.3"
	t.Cleanup(func() { version = old })
	if _, stdout, _ := wego(t, "version"); stdout != "wego v1.2.3\n" {
		t.Errorf("stamped version: %q", stdout)
	}
}

// checkoutRoot is the root of this checkout of WeGO: two levels above
// this file.
func checkoutRoot(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("runtime.Caller failed")
	}
	root := filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil || !strings.HasPrefix(string(mod), "module github.com/wegomesh/wego\n") {
		t.Fatalf("%s is not the root of a WeGO checkout: %v", root, err)
	}
	return root
}

func TestFindSource(t *testing.T) {
	t.Parallel()
	root := checkoutRoot(t)
	here := filepath.ToSlash(filepath.Join(root, "cmd", "wego", "source.go"))
	gone := filepath.ToSlash(filepath.Join(t.TempDir(), "wego", "cmd", "wego", "source.go"))
	other := t.TempDir() // a module that is not WeGO
	if err := os.WriteFile(filepath.Join(other, "go.mod"), []byte("module example.com/fork\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	otherFile := filepath.ToSlash(filepath.Join(other, "cmd", "wego", "source.go"))
	local := func(v string) *debug.BuildInfo {
		return &debug.BuildInfo{Main: debug.Module{Path: templates.WegoModule, Version: v}}
	}
	downloaded := func(v string) *debug.BuildInfo {
		return &debug.BuildInfo{Main: debug.Module{Path: templates.WegoModule, Version: v, Sum: "h1:abc="}}
	}
	tests := []struct {
		name, stamped string
		info          *debug.BuildInfo
		file          string
		want          wegoSource
		why           string
	}{
		{name: "go install @v1.2.3", info: downloaded("v1.2.3"), file: "/root/go/pkg/mod/github.com/wegomesh/wego@v1.2.3/cmd/wego/source.go",
			want: wegoSource{Version: "v1.2.3"}},
		{name: "go install @commit", info: downloaded("v0.0.0-20261121000000-9f50543abcde"), file: here,
			want: wegoSource{Version: "v0.0.0-20261121000000-9f50543abcde"}},
		{name: "clone, -buildvcs=false", info: local("(devel)"), file: here, want: wegoSource{Checkout: root}},
		{name: "clone, pseudo-version from git", info: local("v0.0.0-20261121000000-9f50543abcde"), file: here, want: wegoSource{Checkout: root}},
		{name: "clone, dirty", info: local("v0.0.0-20261121000000-9f50543abcde+dirty"), file: here, want: wegoSource{Checkout: root}},
		{name: "clone, stamped", stamped: "v1.2.3", info: local("(devel)"), file: here, want: wegoSource{Checkout: root}},
		{name: "-trimpath, stamped", stamped: "v1.2.3", info: local("(devel)"), file: "github.com/wegomesh/wego/cmd/wego/source.go",
			want: wegoSource{Version: "v1.2.3"}},
		{name: "-trimpath", info: local("(devel)"), file: "github.com/wegomesh/wego/cmd/wego/source.go", why: "-trimpath"},
		{name: "checkout gone", info: local("(devel)"), file: gone, why: "no longer a WeGO checkout"},
		{name: "checkout gone, stamped dirty", stamped: "v1.2.3+dirty", info: local("(devel)"), file: gone, why: "no longer a WeGO checkout"},
		{name: "another module", info: local("(devel)"), file: otherFile, why: "example.com/fork"},
		{name: "no build info", file: "", why: "does not know"},
	}
	for _, tt := range tests {
		got := findSource(tt.stamped, tt.info, tt.file)
		if tt.why != "" {
			if got.Version != "" || got.Checkout != "" || !strings.Contains(got.Why, tt.why) {
				t.Errorf("%s: findSource = %+v, want no version, no checkout and a reason with %q", tt.name, got, tt.why)
			}
			continue
		}
		if got != tt.want {
			t.Errorf("%s: findSource = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

// The test binary is built from this checkout, as go install ./cmd/wego
// is: its services replace WeGO with the checkout unless told otherwise.
func TestNewReplacesWegoWithTheCheckout(t *testing.T) {
	t.Parallel()
	root := checkoutRoot(t)
	if got := source(); got.Checkout != root || got.Version != "" {
		t.Fatalf("source() = %+v, want the checkout %s", got, root)
	}
	_, help, _ := wego(t, "help", "new")
	if !strings.Contains(help, strconv.Quote(root)) {
		t.Errorf("help new does not show the default of --wego-replace:\n%s", help)
	}
	gomod := func(dir string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	tmp := t.TempDir()

	dir := filepath.Join(tmp, "default")
	code, stdout, stderr := wego(t, "new", "service", "billing", "--dir", dir)
	if code != exitOK || stderr != "" || !strings.Contains(stdout, "builds against the WeGO checkout "+root) {
		t.Fatalf("new = %d\n%s%s", code, stdout, stderr)
	}
	if got := gomod(dir); !strings.Contains(got, "\nreplace github.com/wegomesh/wego => "+root+"\n") {
		t.Errorf("go.mod does not replace WeGO with %s:\n%s", root, got)
	}

	// An explicit one, relative: made absolute.
	dir = filepath.Join(tmp, "explicit")
	rel, err := filepath.Rel(mustGetwd(t), root)
	if err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := wego(t, "new", "service", "billing", "--dir", dir, "--wego-replace", rel); code != exitOK {
		t.Fatalf("new --wego-replace %s = %d\n%s", rel, code, stderr)
	}
	if got := gomod(dir); !strings.Contains(got, "=> "+root+"\n") {
		t.Errorf("a relative --wego-replace is not made absolute:\n%s", got)
	}

	// Empty: no replace, and a note saying what go mod tidy will do.
	dir = filepath.Join(tmp, "none")
	code, _, stderr = wego(t, "new", "service", "billing", "--dir", dir, "--wego-replace=")
	if code != exitOK || !strings.Contains(stderr, "requires no version") || !strings.Contains(stderr, "--wego-replace is empty") {
		t.Fatalf("new --wego-replace= = %d\n%s", code, stderr)
	}
	if got := gomod(dir); strings.Contains(got, "replace") || strings.Contains(got, "require") {
		t.Errorf("go.mod without a replace:\n%s", got)
	}

	// Not a checkout of WeGO: refused before anything is written.
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "go.mod"), []byte("module example.com/other\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{other, filepath.Join(tmp, "missing")} {
		dir = filepath.Join(tmp, "bad")
		code, _, stderr := wego(t, "new", "service", "billing", "--dir", dir, "--wego-replace", bad)
		if code != exitFailure || !strings.Contains(stderr, "--wego-replace "+bad+" is not a WeGO checkout") {
			t.Errorf("new --wego-replace %s = %d\n%s", bad, code, stderr)
		}
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("new --wego-replace %s wrote files", bad)
		}
	}
}

func mustGetwd(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd
}

func TestNewRefusesANonEmptyDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := wego(t, "new", "service", "billing", "--dir", dir)
	if code != exitFailure || !strings.Contains(stderr, "not empty") || !strings.Contains(stderr, "--force") {
		t.Fatalf("new into a non-empty dir = %d\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
		t.Fatal("the refused new wrote files")
	}
	code, _, stderr = wego(t, "new", "service", "--force", "billing", "--dir", dir)
	if code != exitOK {
		t.Fatalf("new --force = %d\n%s", code, stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "notes.txt")); string(b) != "mine" {
		t.Error("--force removed an unrelated file")
	}
}

func TestNewWithSpec(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	spec := filepath.Join(root, "spec.yaml")
	write := func(s string) {
		if err := os.WriteFile(spec, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A spec with problems: every one reported with file:line, nothing written.
	write("service: billing\noperations:\n  - name: get\n    method: FETCH\n")
	code, _, stderr := wego(t, "new", "service", "billing", "--spec", spec, "--dir", filepath.Join(root, "bad"))
	if code != exitFailure || !strings.Contains(stderr, spec+":3: operation name") || !strings.Contains(stderr, spec+":4: unknown method") {
		t.Fatalf("bad spec = %d\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(root, "bad")); err == nil {
		t.Fatal("a bad spec wrote files")
	}
	// A spec for another service.
	write("service: orders\noperations:\n  - name: Get\n")
	if code, _, stderr := wego(t, "new", "service", "billing", "--spec", spec, "--dir", filepath.Join(root, "x")); code != exitUsage || !strings.Contains(stderr, `for the service "orders"`) {
		t.Fatalf("spec of another service = %d\n%s", code, stderr)
	}

	// A spec without a module: --module gives it, and gen finds it in go.mod.
	write("service: billing\noperations:\n  - name: Charge\n    request:\n      - {name: amount, type: int64}\n")
	dir := filepath.Join(root, "billing")
	code, stdout, stderr := wego(t, "new", "service", "billing", "--spec", spec, "--dir", dir, "--module", "example.com/billing")
	if code != exitOK || !strings.Contains(stdout, "module example.com/billing") {
		t.Fatalf("new = %d\n%s%s", code, stdout, stderr)
	}
	main, err := os.ReadFile(filepath.Join(dir, "cmd/billing/main.go"))
	if err != nil || !strings.Contains(string(main), `"example.com/billing/billing/service"`) {
		t.Fatalf("main.go: %v\n%s", err, main)
	}
	code, stdout, stderr = wego(t, "gen", "--dir", dir)
	if code != exitOK || !strings.Contains(stdout, "0 written") {
		t.Fatalf("gen = %d\n%s%s", code, stdout, stderr)
	}
	// --module disagreeing with the spec's module is a usage error.
	write("service: billing\nmodule: example.com/a\noperations:\n  - name: Charge\n")
	if code, _, stderr := wego(t, "new", "service", "billing", "--spec", spec, "--dir", filepath.Join(root, "y"), "--module", "example.com/b"); code != exitUsage || !strings.Contains(stderr, "differs") {
		t.Fatalf("conflicting modules = %d\n%s", code, stderr)
	}
}

func TestGen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if code, _, stderr := wego(t, "gen", "--dir", dir); code != exitFailure || !strings.Contains(stderr, "wego.yaml") {
		t.Fatalf("gen without a spec = %d\n%s", code, stderr)
	}
	if code, _, stderr := wego(t, "new", "service", "billing", "--dir", dir, "--module", "example.com/billing"); code != exitOK {
		t.Fatal(stderr)
	}
	// Change the spec and regenerate: the API changes, impl.go does not.
	specPath := filepath.Join(dir, "wego.yaml")
	spec, _ := os.ReadFile(specPath)
	impl, _ := os.ReadFile(filepath.Join(dir, "billing/service/impl.go"))
	changed := strings.Replace(string(spec), "port: 8080", "port: 9090", 1)
	if err := os.WriteFile(specPath, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := wego(t, "gen", "--dir", dir)
	if code != exitOK || !strings.Contains(stdout, "cmd/billing/main.go") {
		t.Fatalf("gen = %d\n%s%s", code, stdout, stderr)
	}
	if now, _ := os.ReadFile(filepath.Join(dir, "billing/service/impl.go")); !bytes.Equal(now, impl) {
		t.Error("gen changed impl.go")
	}
	// A broken spec: nothing is written.
	if err := os.WriteFile(specPath, []byte("service: billing\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := wego(t, "gen", "--dir", dir); code != exitFailure || !strings.Contains(stderr, "wego.yaml:1: missing key operations") {
		t.Fatalf("gen with a broken spec = %d\n%s", code, stderr)
	}
}

// A wego that go install builds in a git clone records a pseudo-version
// of the clone's commit (Go 1.24 and later), which the module proxy does
// not know: its services must replace WeGO with the clone all the same,
// and require no such version.
func TestBuiltInAGitClone(t *testing.T) {
	if testing.Short() {
		t.Skip("builds wego with the go command; skipped in -short mode")
	}
	root := checkoutRoot(t)
	if _, err := os.Stat(filepath.Join(root, ".git")); err != nil {
		t.Skipf("%s is not a git clone: %v", root, err)
	}
	for _, tool := range []string{"go", "git"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s in PATH: %v", tool, err)
		}
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "wego")
	build := exec.Command("go", "build", "-buildvcs=true", "-o", bin, "./cmd/wego")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		if strings.Contains(string(out), "error obtaining VCS status") {
			t.Skipf("git cannot describe %s here: %s", root, out)
		}
		t.Fatalf("go build -buildvcs=true: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^wego v0\.0\.0-\d{14}-[0-9a-f]{12}(\+dirty)? go1\.`).Match(out) {
		t.Errorf("wego version = %q, want the pseudo-version of the clone's commit", out)
	}
	dir := filepath.Join(tmp, "billing")
	if out, err := exec.Command(bin, "new", "service", "billing", "--dir", dir).CombinedOutput(); err != nil {
		t.Fatalf("wego new: %v\n%s", err, out)
	}
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "require github.com/wegomesh/wego v0.0.0-00010101000000-000000000000\n\nreplace github.com/wegomesh/wego => " + root + "\n"; !strings.HasSuffix(string(gomod), want) {
		t.Errorf("go.mod:\n%s\nwant it to end with\n%s", gomod, want)
	}
}
