package docscheck

// The snippet check: every ```go block of the pages becomes a package of a
// temporary module, and one go vet run type-checks them all. The
// conventions (whole files, declarations, statements, elisions, automatic
// imports, hints) are in doc.go.

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// snippetPages returns the pages whose Go blocks are checked, relative to
// the repository root: README.md, examples/mesh/README.md and docs/*.md but
// docs/tutorial.md, whose blocks cmd/wego's TestTutorial runs.
func snippetPages(t *testing.T, root string) []string {
	t.Helper()
	pages := []string{"README.md", "examples/mesh/README.md"}
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range docs {
		if filepath.Base(p) == "tutorial.md" {
			continue
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, filepath.ToSlash(rel))
	}
	return pages
}

func TestSnippets(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	var blocks []block
	for _, page := range snippetPages(t, root) {
		src, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(page)))
		if err != nil {
			t.Fatal(err)
		}
		bs, err := extractBlocks(page, src)
		if err != nil {
			t.Error(err)
		}
		blocks = append(blocks, bs...)
	}
	if len(blocks) < 30 {
		t.Fatalf("found %d Go blocks in the pages; the extractor or the page list is broken", len(blocks))
	}
	start := time.Now()
	out, err := vetBlocks(t, root, blocks)
	t.Logf("%d blocks type-checked in %v", len(blocks), time.Since(start).Round(time.Millisecond))
	if err != nil {
		reportVet(t, root, out, err)
	}
}

// reportVet turns go vet's output into one test error per finding that
// names a page, or one error with the whole output when none does.
func reportVet(t *testing.T, root string, out []byte, err error) {
	t.Helper()
	found := false
	for line := range strings.Lines(string(out)) {
		if strings.Contains(line, ".md:") {
			line = strings.TrimPrefix(strings.TrimSpace(line), "vet: ")
			t.Error(strings.ReplaceAll(line, root+string(filepath.Separator), ""))
			found = true
		}
	}
	if !found {
		t.Errorf("go vet over the snippets failed (%v):\n%s", err, out)
	}
}

// block is one ```go block of a page.
type block struct {
	page  string   // slash-separated, relative to the repository root
	file  string   // the page's absolute path for //line directives; page if empty
	line  int      // page line of the block's first code line
	lines []string // the code, without the fence's indentation
	hint  hint
}

// hint is what the HTML comment before a block says the block assumes.
type hint struct {
	pkg     directive   // package name
	imports []directive // import specs: `"path"` or `name "path"`
	sig     directive   // signature of the statements' function: "func(...) ..."
	decls   []directive // file-level declarations
}

// directive is one line of a hint and its page line.
type directive struct {
	line int
	text string
}

var fenceRE = regexp.MustCompile("^( *)```+\\s*([A-Za-z0-9_+-]*)")

// extractBlocks returns the ```go blocks of a Markdown page, each with its
// hint. A hint that no ```go block follows is an error.
func extractBlocks(page string, src []byte) ([]block, error) {
	lines := strings.Split(strings.ReplaceAll(string(src), "\r\n", "\n"), "\n")
	var (
		blocks  []block
		errs    []string
		pending *hint // a hint waiting for its block
		pendAt  int
	)
	orphan := func() {
		if pending != nil {
			errs = append(errs, fmt.Sprintf("%s:%d: snippet hint is not followed by a ```go block", page, pendAt))
			pending = nil
		}
	}
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "":
			continue
		case strings.HasPrefix(trimmed, "<!-- snippet"):
			orphan()
			start := i
			body := strings.TrimPrefix(trimmed, "<!-- snippet")
			body = strings.TrimPrefix(body, ":")
			var text []directive
			for {
				done := strings.Contains(body, "-->")
				if done {
					body = body[:strings.Index(body, "-->")]
				}
				if s := strings.TrimSpace(body); s != "" {
					text = append(text, directive{i + 1, s})
				}
				if done {
					break
				}
				i++
				if i == len(lines) {
					return nil, fmt.Errorf("%s:%d: snippet hint is not closed with -->", page, start+1)
				}
				body = lines[i]
			}
			h, err := parseHint(page, text)
			if err != nil {
				errs = append(errs, err.Error())
				continue
			}
			pending, pendAt = &h, start+1
		case fenceRE.MatchString(line):
			m := fenceRE.FindStringSubmatch(line)
			indent, lang := m[1], m[2]
			var code []string
			first := i + 2
			for i++; i < len(lines); i++ {
				if strings.TrimSpace(lines[i]) == "```" {
					break
				}
				code = append(code, strings.TrimPrefix(lines[i], indent))
			}
			if lang != "go" {
				orphan()
				continue
			}
			b := block{page: page, line: first, lines: code}
			if pending != nil {
				b.hint, pending = *pending, nil
			}
			blocks = append(blocks, b)
		default:
			if !strings.HasPrefix(trimmed, "<!--") {
				orphan()
			}
		}
	}
	orphan()
	if len(errs) > 0 {
		return blocks, fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return blocks, nil
}

// parseHint sorts the lines of a hint into its directives.
func parseHint(page string, lines []directive) (hint, error) {
	var h hint
	for _, d := range lines {
		switch {
		case strings.HasPrefix(d.text, "package "):
			name := strings.TrimSpace(strings.TrimPrefix(d.text, "package "))
			if !token.IsIdentifier(name) {
				return h, fmt.Errorf("%s:%d: snippet hint: %q is not a package name", page, d.line, name)
			}
			h.pkg = directive{d.line, name}
		case strings.HasPrefix(d.text, "import "):
			h.imports = append(h.imports, directive{d.line, strings.TrimSpace(strings.TrimPrefix(d.text, "import "))})
		case strings.HasPrefix(d.text, "func("):
			h.sig = d
		default:
			h.decls = append(h.decls, d)
		}
	}
	return h, nil
}

// autoImports maps the package names that blocks use without importing
// them to their import paths.
var autoImports = map[string]string{
	// standard library
	"bytes": "bytes", "context": "context", "embed": "embed", "errors": "errors",
	"fmt": "fmt", "fs": "io/fs", "http": "net/http", "httptest": "net/http/httptest",
	"io": "io", "json": "encoding/json", "net": "net", "os": "os", "reflect": "reflect",
	"signal": "os/signal", "slices": "slices", "slog": "log/slog", "strconv": "strconv",
	"strings": "strings", "sync": "sync", "testing": "testing", "time": "time",
	"tls": "crypto/tls",
	// WeGO
	"audit":         "github.com/wegomesh/wego/middleware/audit",
	"auth":          "github.com/wegomesh/wego/auth",
	"authmw":        "github.com/wegomesh/wego/middleware/auth",
	"bdd":           "github.com/wegomesh/wego/bdd",
	"breaker":       "github.com/wegomesh/wego/middleware/breaker",
	"cache":         "github.com/wegomesh/wego/middleware/cache",
	"catalog":       "github.com/wegomesh/wego/catalog",
	"catalogtest":   "github.com/wegomesh/wego/catalog/catalogtest",
	"config":        "github.com/wegomesh/wego/config",
	"engine":        "github.com/wegomesh/wego/engine",
	"errs":          "github.com/wegomesh/wego/err",
	"events":        "github.com/wegomesh/wego/events",
	"faultinject":   "github.com/wegomesh/wego/middleware/faultinject",
	"fw":            "github.com/wegomesh/wego/fw",
	"httptransport": "github.com/wegomesh/wego/transport/http",
	"natstransport": "github.com/wegomesh/wego/transport/nats",
	"natsevents":    "github.com/wegomesh/wego/events/natsevents",
	"i18n":          "github.com/wegomesh/wego/i18n",
	"lock":          "github.com/wegomesh/wego/lock",
	"log":           "github.com/wegomesh/wego/log",
	"logging":       "github.com/wegomesh/wego/middleware/logging",
	"middleware":    "github.com/wegomesh/wego/middleware",
	"newrelic":      "github.com/wegomesh/wego/middleware/newrelic",
	"ratelimit":     "github.com/wegomesh/wego/middleware/ratelimit",
	"recovery":      "github.com/wegomesh/wego/middleware/recovery",
	"requestid":     "github.com/wegomesh/wego/middleware/requestid",
	"retry":         "github.com/wegomesh/wego/middleware/retry",
	"store":         "github.com/wegomesh/wego/store",
	"storetest":     "github.com/wegomesh/wego/store/storetest",
	"templates":     "github.com/wegomesh/wego/templates",
	"timeout":       "github.com/wegomesh/wego/middleware/timeout",
	"transport":     "github.com/wegomesh/wego/transport",
	"validate":      "github.com/wegomesh/wego/middleware/validate",
	// libraries
	"godog":     "github.com/cucumber/godog",
	"jetstream": "github.com/nats-io/nats.go/jetstream",
	"nats":      "github.com/nats-io/nats.go",
	"zap":       "go.uber.org/zap",
	"zapcore":   "go.uber.org/zap/zapcore",
	// the fake service of testdata/fakes
	"inventory": "example.com/inventory",
	"locales":   "example.com/locales",
	"memory":    "example.com/memory",
	"orders":    "example.com/orders",
}

var declStart = regexp.MustCompile(`^(func|type|var|const|import)[\s(]`)

// elide makes "..." standing for elided code compile.
func elide(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		if t := strings.TrimSpace(l); t == "..." || strings.HasPrefix(t, "... //") {
			l = strings.Replace(l, "...", `panic("elided")`, 1)
		}
		out[i] = strings.ReplaceAll(l, "{ ... }", `{ panic("elided") }`)
	}
	return out
}

func parses(src string) bool {
	_, err := parser.ParseFile(token.NewFileSet(), "", src, parser.SkipObjectResolution)
	return err == nil
}

// generate returns the Go file that block b becomes: its own code between
// //line directives that point back to the page, so that errors name the
// page's lines.
func generate(b block) string {
	lines := elide(b.lines)
	file := b.page
	if b.file != "" {
		file = b.file
	}
	directiveAt := func(w *strings.Builder, line int) {
		fmt.Fprintf(w, "//line %s:%d\n", file, line)
	}
	var hintDecls strings.Builder
	for _, d := range b.hint.decls {
		directiveAt(&hintDecls, d.line)
		hintDecls.WriteString(d.text + "\n")
	}

	// A whole file.
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "//") {
			continue
		}
		if strings.HasPrefix(t, "package ") {
			var w strings.Builder
			directiveAt(&w, b.line)
			w.WriteString(strings.Join(lines, "\n") + "\n\n")
			w.WriteString(hintDecls.String())
			return w.String()
		}
		break
	}

	code := strings.Join(lines, "\n")
	split := len(lines) // declarations are lines[:split], statements the rest
	if !parses("package p\n" + code) {
		for i, l := range lines {
			if l == "" || l[0] == ' ' || l[0] == '\t' || l[0] == '}' || l[0] == ')' ||
				strings.HasPrefix(l, "//") || strings.HasPrefix(l, "/*") || declStart.MatchString(l) {
				continue
			}
			split = i
			break
		}
	}

	var body strings.Builder
	if split > 0 {
		directiveAt(&body, b.line)
		body.WriteString(strings.Join(lines[:split], "\n") + "\n")
	}
	if split < len(lines) {
		stmts := lines[split:]
		uses := declaredNames(stmts)
		sig := "func()"
		if b.hint.sig.text != "" {
			sig = b.hint.sig.text
		}
		body.WriteString("\nfunc _" + strings.TrimPrefix(sig, "func") + " {\n")
		directiveAt(&body, b.line+split)
		for i, l := range stmts {
			body.WriteString(l + "\n")
			if names := uses[i]; len(names) > 0 {
				for _, n := range names {
					body.WriteString("_ = " + n + "\n")
				}
				directiveAt(&body, b.line+split+i+1)
			}
		}
		// A function with results needs a terminating statement; statements
		// that end without one are an excerpt, not a mistake.
		body.WriteString("panic(\"end of the snippet\")\n}\n")
	}
	rest := hintDecls.String() + body.String()

	pkg := "snippet"
	if b.hint.pkg.text != "" {
		pkg = b.hint.pkg.text
	}
	var imports []string
	named := map[string]bool{}
	for _, d := range b.hint.imports {
		imports = append(imports, fmt.Sprintf("//line %s:%d\n\t%s", file, d.line, d.text))
		named[importName(d.text)] = true
	}
	var auto []string
	packages, names := freeNames(pkg, imports, rest)
	var well []string
	for _, name := range names {
		if decl, ok := autoDecls[name]; ok {
			well = append(well, decl)
		}
	}
	if len(well) > 0 {
		rest = strings.Join(well, "\n") + "\n" + rest
		packages, _ = freeNames(pkg, imports, rest)
	}
	for _, name := range packages {
		if path, ok := autoImports[name]; ok && !named[name] {
			auto = append(auto, fmt.Sprintf("\t%s %q", name, path))
		}
	}
	slices.SortFunc(auto, func(a, b string) int {
		return strings.Compare(a[strings.IndexByte(a, '"'):], b[strings.IndexByte(b, '"'):])
	})
	imports = append(imports, auto...)
	var w strings.Builder
	fmt.Fprintf(&w, "package %s\n\n", pkg)
	if len(imports) > 0 {
		w.WriteString("import (\n" + strings.Join(imports, "\n") + "\n)\n\n")
	}
	w.WriteString(rest)
	return w.String()
}

// importName is the name an import spec binds: its alias, or the last
// element of its path.
func importName(spec string) string {
	if i := strings.IndexByte(spec, '"'); i > 0 {
		return strings.TrimSpace(spec[:i])
	}
	path, err := strconv.Unquote(spec)
	if err != nil {
		return ""
	}
	return path[strings.LastIndexByte(path, '/')+1:]
}

// declaredNames maps the index of a statement's last line to the variables
// that the statements at the top of the body declare there.
func declaredNames(stmts []string) map[int][]string {
	const head = "package p\nfunc _() {\n"
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "", head+strings.Join(stmts, "\n")+"\n}", parser.SkipObjectResolution)
	if err != nil {
		return nil // go vet reports the syntax error on the page's line
	}
	out := map[int][]string{}
	add := func(end token.Pos, id *ast.Ident) {
		if id != nil && id.Name != "_" {
			i := fset.Position(end).Line - 3
			out[i] = append(out[i], id.Name)
		}
	}
	for _, s := range f.Decls[0].(*ast.FuncDecl).Body.List {
		switch s := s.(type) {
		case *ast.AssignStmt:
			if s.Tok == token.DEFINE {
				for _, e := range s.Lhs {
					id, _ := e.(*ast.Ident)
					add(s.End(), id)
				}
			}
		case *ast.DeclStmt:
			if g, ok := s.Decl.(*ast.GenDecl); ok && g.Tok == token.VAR {
				for _, spec := range g.Specs {
					for _, id := range spec.(*ast.ValueSpec).Names {
						add(s.End(), id)
					}
				}
			}
		}
	}
	return out
}

// autoDecls declares the variables that blocks use most without declaring
// them, when they do not.
var autoDecls = map[string]string{
	"ctx": "var ctx context.Context",
	"cat": "var cat *catalog.Catalog",
}

// freeNames returns the names that rest uses without declaring them: as X
// in X.Sel (the packages it needs), and all of them.
func freeNames(pkg string, imports []string, rest string) (packages, names []string) {
	src := "package " + pkg + "\n"
	if len(imports) > 0 {
		src += "import (\n" + strings.Join(imports, "\n") + "\n)\n"
	}
	f, err := parser.ParseFile(token.NewFileSet(), "", src+rest, 0)
	if f == nil {
		return nil, nil
	}
	_ = err // a partial tree still tells which names the block uses
	pkgs, all := map[string]bool{}, map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok && id.Obj == nil {
				pkgs[id.Name] = true
			}
		}
		return true
	})
	for _, id := range f.Unresolved {
		all[id.Name] = true
	}
	return sortedKeys(pkgs), sortedKeys(all)
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// slug names a block's package directory after its page and line.
func slug(b block) string {
	r := strings.NewReplacer("/", "_", ".", "_", "-", "_")
	return fmt.Sprintf("%s_L%d", r.Replace(b.page), b.line)
}

// vetBlocks writes blocks into a temporary module that requires the
// checkout at root, with the fakes of testdata/fakes, and runs go vet over
// it once. It returns go vet's output and its error.
func vetBlocks(t *testing.T, root string, blocks []block) ([]byte, error) {
	t.Helper()
	dir := t.TempDir()
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	mod := regexp.MustCompile(`(?m)^module\s+\S+`).ReplaceAll(gomod, []byte("module example.com"))
	mod = append(mod, fmt.Appendf(nil, "\nrequire github.com/wegomesh/wego v0.0.0\n\nreplace github.com/wegomesh/wego => %s\n", root)...)
	write(t, filepath.Join(dir, "go.mod"), mod)
	if sum, err := os.ReadFile(filepath.Join(root, "go.sum")); err == nil {
		write(t, filepath.Join(dir, "go.sum"), sum)
	}
	if err := os.CopyFS(dir, os.DirFS(filepath.Join(root, "internal", "docscheck", "testdata", "fakes"))); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, b := range blocks {
		s := slug(b)
		if seen[s] {
			t.Fatalf("two blocks named %s", s)
		}
		seen[s] = true
		b.file = filepath.Join(root, filepath.FromSlash(b.page))
		pkgDir := filepath.Join(dir, "snippets", s)
		write(t, filepath.Join(pkgDir, "snippet.go"), []byte(generate(b)))
		for _, p := range embedPatterns(b.lines) {
			write(t, filepath.Join(pkgDir, filepath.FromSlash(p)), nil)
		}
	}
	cmd := exec.Command("go", "vet", "-unreachable=false", "./...")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	return cmd.CombinedOutput()
}

// embedPatterns returns a file name for each pattern of the block's
// //go:embed lines, so that the package has the files it embeds: a pattern
// with an extension is a file (its "*" an "x"), one without a directory.
func embedPatterns(lines []string) []string {
	var out []string
	for _, l := range lines {
		rest, ok := strings.CutPrefix(strings.TrimSpace(l), "//go:embed ")
		if !ok {
			continue
		}
		for _, p := range strings.Fields(rest) {
			p = strings.ReplaceAll(strings.TrimPrefix(strings.Trim(p, "`\""), "all:"), "*", "x")
			if path.Ext(p) == "" {
				p += "/x.txt"
			}
			out = append(out, p)
		}
	}
	return out
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// repoRoot is the directory of the module's go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		t.Fatal("not in a module")
	}
	return filepath.Dir(gomod)
}

// The checker itself: broken blocks fail, naming the page and the line.
func TestSnippetErrorsNameThePageLine(t *testing.T) {
	t.Parallel()
	page := strings.Join([]string{
		"# A page", // 1
		"",
		"```go",                         // 3
		"app := fw.New(fw.Name(\"x\"))", // 4: fw.New returns two values
		"```",
		"",
		"<!-- snippet", // 7
		"func(ctx context.Context) error",
		"var cat *catalog.Catalog",
		"-->",
		"```go", // 11
		"var resp inventory.ReserveResponse",
		"err := cat.Call(ctx, \"inventory.Reserve\", &inventory.ReserveRequest{}, &resp)", // 13
		"return resp.ID", // 14: no such field
		"```",
		"",
		"```go", // 17: declarations then statements, all fine
		"type T struct{ N int }",
		"",
		"t := T{N: 1}",
		"...",
		"fmt.Println(t)",
		"```",
		"",
		"```go", // 25
		"func f() int {",
		"\treturn undefinedName", // 27
		"}",
		"```",
	}, "\n")
	blocks, err := extractBlocks("testdata/page.md", []byte(page))
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) != 4 {
		t.Fatalf("extracted %d blocks, want 4", len(blocks))
	}
	out, err := vetBlocks(t, repoRoot(t), blocks)
	if err == nil {
		t.Fatalf("go vet passed the broken blocks:\n%s", out)
	}
	for _, want := range []string{
		"testdata/page.md:4", "assignment mismatch",
		"testdata/page.md:14", "resp.ID undefined",
		"testdata/page.md:27", "undefined: undefinedName",
	} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("go vet's output lacks %q:\n%s", want, out)
		}
	}
	if regexp.MustCompile(`page\.md:(1[7-9]|2[0-3])\b`).Match(out) {
		t.Errorf("the valid block was reported:\n%s", out)
	}
}

func TestExtractBlocks(t *testing.T) {
	t.Parallel()
	page := "text\n" + // 1
		"<!-- snippet: package main -->\n" + // 2
		"\n" +
		"```go\n" + // 4
		"func main() {}\n" + // 5
		"```\n" +
		"- a list item:\n" +
		"  ```go\n" + // 8
		"  x := 1\n" + // 9
		"  ```\n" +
		"```sh\n" +
		"go test\n" +
		"```\n"
	blocks, err := extractBlocks("p.md", []byte(page))
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) != 2 {
		t.Fatalf("got %d blocks, want 2", len(blocks))
	}
	if b := blocks[0]; b.line != 5 || b.hint.pkg.text != "main" || !slices.Equal(b.lines, []string{"func main() {}"}) {
		t.Errorf("first block: %+v", b)
	}
	if b := blocks[1]; b.line != 9 || b.hint.pkg.text != "" || !slices.Equal(b.lines, []string{"x := 1"}) {
		t.Errorf("second block (indented): %+v", b)
	}

	for _, bad := range []string{
		"<!-- snippet: package main -->\ntext\n```go\nx := 1\n```\n",
		"<!-- snippet: package main -->\n```sh\nls\n```\n",
		"<!-- snippet: package main -->\n",
		"<!-- snippet: package 1x -->\n```go\nx := 1\n```\n",
		"<!-- snippet\npackage main\n",
	} {
		if _, err := extractBlocks("p.md", []byte(bad)); err == nil || !strings.Contains(err.Error(), "p.md:1:") {
			t.Errorf("%q: got %v, want an error at p.md:1", bad, err)
		}
	}
}

func TestGenerateSortsDeclarationsAndStatements(t *testing.T) {
	t.Parallel()
	b := block{page: "p.md", line: 10, lines: []string{
		"//go:embed config",
		"var builtin embed.FS",
		"",
		"c, err := config.Load(config.FS(builtin))",
		"if err != nil {",
		"\treturn err",
		"}",
		"var unused int",
	}, hint: hint{sig: directive{9, "func() error"}}}
	src := generate(b)
	f, err := parser.ParseFile(token.NewFileSet(), "", src, parser.SkipObjectResolution)
	if err != nil {
		t.Fatalf("%v\n%s", err, src)
	}
	var imports []string
	for _, s := range f.Imports {
		imports = append(imports, s.Path.Value)
	}
	if want := []string{`"embed"`, `"github.com/wegomesh/wego/config"`}; !slices.Equal(imports, want) {
		t.Errorf("imports %v, want %v", imports, want)
	}
	var fileLevel, inBody []string
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.GenDecl:
			if d.Tok == token.VAR {
				fileLevel = append(fileLevel, d.Specs[0].(*ast.ValueSpec).Names[0].Name)
			}
		case *ast.FuncDecl:
			if d.Type.Results == nil || len(d.Type.Results.List) != 1 {
				t.Errorf("the hint's signature was not used:\n%s", src)
			}
			for _, s := range d.Body.List {
				if a, ok := s.(*ast.AssignStmt); ok && a.Tok == token.ASSIGN {
					inBody = append(inBody, a.Rhs[0].(*ast.Ident).Name)
				}
			}
		}
	}
	if !slices.Equal(fileLevel, []string{"builtin"}) {
		t.Errorf("file-level vars %v, want [builtin]:\n%s", fileLevel, src)
	}
	if want := []string{"c", "err", "unused"}; !slices.Equal(inBody, want) {
		t.Errorf("marked used %v, want %v:\n%s", inBody, want, src)
	}
	if !strings.Contains(src, "//line p.md:13\nc, err :=") {
		t.Errorf("statements do not point back at the page's line 13:\n%s", src)
	}
}
