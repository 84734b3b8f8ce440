package docscheck

// The layer check: the table of docs/architecture.md is the rule, and the
// imports of every package of the module (go list) must follow it. See
// doc.go for how a row's patterns match.

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// layerRow is one pattern of the layer table.
type layerRow struct {
	layer   int
	pattern string // "fw" or "fw/..."
	line    int    // line of the row in the page
}

var codeSpan = regexp.MustCompile("`([^`]+)`")

// parseLayers reads the layer table of an architecture page: the first
// Markdown table whose header starts with the cells "layer" and
// "packages". Each row gives a layer number and the packages of that layer
// as code spans.
func parseLayers(page string, src []byte) ([]layerRow, error) {
	var rows []layerRow
	in, seen := false, map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(string(src)))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "|") {
			if in {
				break
			}
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if !in {
			if len(cells) >= 2 && strings.EqualFold(cells[0], "layer") && strings.EqualFold(cells[1], "packages") {
				in = true
			}
			continue
		}
		if len(cells) < 2 || strings.Trim(cells[0], "-: ") == "" {
			continue // the delimiter row
		}
		layer, err := strconv.Atoi(cells[0])
		if err != nil || layer < 0 {
			return nil, fmt.Errorf("%s:%d: layer %q is not a number", page, n, cells[0])
		}
		spans := codeSpan.FindAllStringSubmatch(cells[1], -1)
		if len(spans) == 0 {
			return nil, fmt.Errorf("%s:%d: layer %d names no packages (write them as code spans)", page, n, layer)
		}
		for _, m := range spans {
			p := m[1]
			base := strings.TrimSuffix(p, "/...")
			if base == "" || strings.HasPrefix(base, "/") || strings.HasSuffix(base, "/") || strings.Contains(base, "...") || strings.ContainsAny(base, " *") {
				return nil, fmt.Errorf("%s:%d: %q is not a package path or path/... relative to the module", page, n, p)
			}
			if prev, dup := seen[p]; dup {
				return nil, fmt.Errorf("%s:%d: %q is in the table twice (also line %d)", page, n, p, prev)
			}
			seen[p] = n
			rows = append(rows, layerRow{layer: layer, pattern: p, line: n})
		}
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: no layer table (a table whose header starts with | layer | packages |)", page)
	}
	return rows, nil
}

// match returns the row of the most specific pattern that matches pkg, a
// path relative to the module: the exact path, else the longest "x/...".
func match(rows []layerRow, pkg string) (layerRow, bool) {
	best, bestLen, found := layerRow{}, -1, false
	for _, r := range rows {
		base, tree := strings.CutSuffix(r.pattern, "/...")
		switch {
		case !tree && base == pkg:
			return r, true
		case tree && (pkg == base || strings.HasPrefix(pkg, base+"/")) && len(base) > bestLen:
			best, bestLen, found = r, len(base), true
		}
	}
	return best, found
}

// checkLayers returns what breaks the table's rule: packages that no row
// matches, imports of a package of the same or a higher layer (same-layer
// imports are allowed in the top layer only), and exact patterns that
// match no package. imports maps each package of the module to the module
// packages it imports, all relative to the module.
func checkLayers(page string, rows []layerRow, imports map[string][]string) []string {
	top := 0
	for _, r := range rows {
		top = max(top, r.layer)
	}
	var problems []string
	used := map[string]bool{}
	pkgs := make([]string, 0, len(imports))
	for p := range imports {
		pkgs = append(pkgs, p)
	}
	slices.Sort(pkgs)
	for _, p := range pkgs {
		r, ok := match(rows, p)
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: package %s is in no layer: add it to the layer table", page, p))
			continue
		}
		used[r.pattern] = true
		for _, imp := range imports[p] {
			ir, ok := match(rows, imp)
			if !ok {
				continue // reported as a package of its own
			}
			if ir.layer < r.layer || ir.layer == top && r.layer == top {
				continue
			}
			problems = append(problems, fmt.Sprintf("%s:%d: %s (layer %d) imports %s (layer %d, line %d): a package may import only lower layers",
				page, r.line, p, r.layer, imp, ir.layer, ir.line))
		}
	}
	for _, r := range rows {
		if !used[r.pattern] && !strings.HasSuffix(r.pattern, "/...") {
			problems = append(problems, fmt.Sprintf("%s:%d: %s is no package of the module: remove it from the layer table", page, r.line, r.pattern))
		}
	}
	return problems
}

// moduleImports lists the packages of the module at root and, for each,
// the module packages its non-test files import, relative to the module.
func moduleImports(t *testing.T, root string) map[string][]string {
	t.Helper()
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^module\s+(\S+)`).FindSubmatch(gomod)
	if m == nil {
		t.Fatal("go.mod has no module line")
	}
	module := string(m[1])
	cmd := exec.Command("go", "list", "-e", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "./...")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOWORK=off")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	rel := func(p string) (string, bool) {
		if p == module {
			return ".", true
		}
		return strings.CutPrefix(p, module+"/")
	}
	imports := map[string][]string{}
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		p, ok := rel(fields[0])
		if !ok {
			continue
		}
		imports[p] = nil
		for _, imp := range fields[1:] {
			if r, ok := rel(imp); ok {
				imports[p] = append(imports[p], r)
			}
		}
	}
	return imports
}

func TestLayers(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	const page = "docs/architecture.md"
	src, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(page)))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := parseLayers(page, src)
	if err != nil {
		t.Fatal(err)
	}
	imports := moduleImports(t, root)
	if len(imports) < 20 || imports["fw"] == nil {
		t.Fatalf("go list found %d packages; want the whole module", len(imports))
	}
	for _, p := range checkLayers(page, rows, imports) {
		t.Error(p)
	}
}

// The rule itself, on a made-up module: the checker fails where it must.
func TestCheckLayersFindsViolations(t *testing.T) {
	t.Parallel()
	table := "# A page\n\n" +
		"| layer | packages | what |\n" + // 3
		"| --: | --- | --- |\n" +
		"| 1 | `err`, `log` | leaves |\n" + // 5
		"| 2 | `middleware` | middleware |\n" + // 6
		"| 3 | `middleware/...` | built-in middleware |\n" + // 7
		"| 4 | `catalog` | the catalog |\n" + // 8
		"| 5 | `fw/...`, `gone` | plug-ins |\n" + // 9
		"| 6 | `examples/...` | examples |\n" + // 10
		"\ntext\n"
	rows, err := parseLayers("a.md", []byte(table))
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := match(rows, "middleware"); !ok || r.pattern != "middleware" {
		t.Errorf("middleware matched %+v, want its exact row", r)
	}
	if r, ok := match(rows, "middleware/audit/x"); !ok || r.pattern != "middleware/..." {
		t.Errorf("middleware/audit/x matched %+v, want middleware/...", r)
	}
	if _, ok := match(rows, "errs"); ok {
		t.Error("errs matched the row of err")
	}
	got := checkLayers("a.md", rows, map[string][]string{
		"err":              nil,
		"log":              {"err"}, // same layer
		"middleware":       {"err"},
		"middleware/audit": {"log", "middleware", "middleware/cache"}, // a sibling in the same layer
		"middleware/cache": {"catalog"},                               // a higher layer
		"catalog":          {"middleware", "err"},
		"fw/newrelic":      {"catalog", "middleware/audit"},
		"examples/a":       {"examples/b", "fw/newrelic"}, // the top layer may import itself
		"examples/b":       {"catalog"},
		"tools":            {"err"}, // in no row
	})
	want := []string{
		"a.md: package tools is in no layer: add it to the layer table",
		"a.md:5: log (layer 1) imports err (layer 1, line 5): a package may import only lower layers",
		"a.md:7: middleware/audit (layer 3) imports middleware/cache (layer 3, line 7): a package may import only lower layers",
		"a.md:7: middleware/cache (layer 3) imports catalog (layer 4, line 8): a package may import only lower layers",
		"a.md:9: gone is no package of the module: remove it from the layer table",
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	for _, bad := range []string{
		"| layer | packages |\n|---|---|\n| one | `err` |\n",
		"| layer | packages |\n|---|---|\n| 1 | err |\n",
		"| layer | packages |\n|---|---|\n| 1 | `err` |\n| 2 | `err` |\n",
		"| layer | packages |\n|---|---|\n| 1 | `/err` |\n",
		"| layer | packages |\n|---|---|\n| 1 | `a/.../b` |\n",
		"no table here\n",
	} {
		if _, err := parseLayers("a.md", []byte(bad)); err == nil {
			t.Errorf("parseLayers accepted %q", bad)
		}
	}
}
