package docscheck

// The link check: relative links of the repository's Markdown pages point
// to files of the repository (and to headings that exist, for an anchor
// into a page), and no page refers to material outside the repository.

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var (
	inlineCode = regexp.MustCompile("`+[^`]*`+")
	mdLink     = regexp.MustCompile(`\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	headingRE  = regexp.MustCompile(`^#{1,6}\s+(.+?)\s*#*\s*$`)
	slugDrop   = regexp.MustCompile(`[^\p{L}\p{N}\s_-]`)
)

// stripCode blanks fenced blocks, and code spans when spans is true: they
// hold no links and no headings.
func stripCode(src string, spans bool) []string {
	lines := strings.Split(src, "\n")
	in := false
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			in = !in
			lines[i] = ""
			continue
		}
		if in {
			lines[i] = ""
			continue
		}
		if spans {
			lines[i] = inlineCode.ReplaceAllString(l, "``")
		}
	}
	return lines
}

// anchors returns the anchors of a page's headings, as GitHub makes them:
// lower case, punctuation dropped, spaces as hyphens, duplicates numbered.
func anchors(src string) map[string]bool {
	out := map[string]bool{}
	for _, l := range stripCode(src, false) {
		m := headingRE.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		text := strings.NewReplacer("`", "", "*", "").Replace(m[1])
		s := strings.ReplaceAll(slugDrop.ReplaceAllString(strings.ToLower(text), ""), " ", "-")
		a := s
		for n := 1; out[a]; n++ {
			a = fmt.Sprintf("%s-%d", s, n)
		}
		out[a] = true
	}
	return out
}

// outside names material that the engineers' working notes hold but a
// clone of the repository does not.
var outside = []string{"../shared", "DESIGN.md", "STYLE.md", "PRIOR-ART.md"}

// checkLinks returns the broken relative links of the page at rel (slash
// path relative to the root fsys) and its references to ../shared.
func checkLinks(fsys fs.FS, rel string) ([]string, error) {
	src, err := fs.ReadFile(fsys, rel)
	if err != nil {
		return nil, err
	}
	var problems []string
	for n, l := range strings.Split(string(src), "\n") {
		for _, o := range outside {
			if strings.Contains(l, o) {
				problems = append(problems, fmt.Sprintf("%s:%d: refers to %s, which is not part of the repository (docs/architecture.md is the project's own)", rel, n+1, o))
				break
			}
		}
	}
	for n, l := range stripCode(string(src), true) {
		for _, m := range mdLink.FindAllStringSubmatch(l, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			file, anchor, _ := strings.Cut(target, "#")
			dest := rel
			if file != "" {
				dest = path.Join(path.Dir(rel), file)
				if strings.HasPrefix(dest, "../") || path.IsAbs(file) {
					problems = append(problems, fmt.Sprintf("%s:%d: link %s leaves the repository", rel, n+1, target))
					continue
				}
				if _, err := fs.Stat(fsys, dest); err != nil {
					problems = append(problems, fmt.Sprintf("%s:%d: link %s: no such file %s", rel, n+1, target, dest))
					continue
				}
			}
			if anchor == "" || !strings.HasSuffix(dest, ".md") {
				continue
			}
			destSrc, err := fs.ReadFile(fsys, dest)
			if err != nil {
				return nil, err
			}
			if !anchors(string(destSrc))[anchor] {
				problems = append(problems, fmt.Sprintf("%s:%d: link %s: %s has no heading #%s", rel, n+1, target, dest, anchor))
			}
		}
	}
	return problems, nil
}

func TestLinks(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	fsys := os.DirFS(root)
	var pages []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != "." && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".md") {
			pages = append(pages, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(pages, "README.md") || !slices.Contains(pages, "docs/architecture.md") {
		t.Fatalf("pages found: %v", pages)
	}
	for _, p := range pages {
		problems, err := checkLinks(fsys, p)
		if err != nil {
			t.Fatal(err)
		}
		for _, pr := range problems {
			t.Error(pr)
		}
	}
}

func TestCheckLinksFindsBrokenOnes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write(t, filepath.Join(dir, "docs", "a.md"), []byte("# A page\n\n## The `cost` of a call\n\n## Layers\n"))
	write(t, filepath.Join(dir, "README.md"), []byte(strings.Join([]string{
		"# Read me", // 1
		"[ok](docs/a.md) [ok](docs/a.md#layers) [ok](docs/a.md#the-cost-of-a-call) [ok](#read-me)", // 2
		"[web](https://example.com/x) `[code](nowhere.md)`",                                        // 3
		"[gone](docs/b.md)",                 // 4
		"[anchor](docs/a.md#nope)",          // 5
		"see [design](../shared/DESIGN.md)", // 6
		"```",
		"[in a block](nowhere.md)",
		"```",
		"[self](#nope)", // 10
	}, "\n")))
	got, err := checkLinks(os.DirFS(dir), "README.md")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"README.md:6: refers to ../shared, which is not part of the repository (docs/architecture.md is the project's own)",
		"README.md:4: link docs/b.md: no such file docs/b.md",
		"README.md:5: link docs/a.md#nope: docs/a.md has no heading #nope",
		"README.md:6: link ../shared/DESIGN.md leaves the repository",
		"README.md:10: link #nope: README.md has no heading #nope",
	}
	if !slices.Equal(got, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
