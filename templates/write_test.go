package templates

import (
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func generate(t *testing.T, src string) []File {
	t.Helper()
	spec, err := ParseSpec([]byte(src), SpecFile)
	if err != nil {
		t.Fatal(err)
	}
	files, err := Generate(spec, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// snapshot returns the content and modification time of every file in dir.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = info.ModTime().String() + "\n" + string(data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// ageFiles sets every file's modification time an hour back, so that a
// rewrite would show.
func ageFiles(t *testing.T, dir string) {
	old := time.Now().Add(-time.Hour)
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			err = os.Chtimes(p, old, old)
		}
		return err
	})
}

func writeFileT(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFileT(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestWriteNewAndRegen(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "billing")
	files := generate(t, base)
	r, err := Write(dir, files, WriteNew)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Written) != len(files) || len(r.Unchanged)+len(r.Skipped) != 0 {
		t.Fatalf("new: %+v", r)
	}

	// Regenerating from the same spec changes nothing, not even mtimes.
	ageFiles(t, dir)
	before := snapshot(t, dir)
	r, err = Write(dir, generate(t, base), WriteRegen)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Written) != 0 {
		t.Fatalf("regen wrote %v", r.Written)
	}
	if after := snapshot(t, dir); !maps.Equal(before, after) {
		t.Fatal("regen with the same spec changed files or their modification times")
	}

	// A user file is left as the user changed it; a generated file is
	// restored; a generated file without its header is the user's now.
	impl := filepath.Join(dir, "billing/service/impl.go")
	svc := filepath.Join(dir, "billing/service/service.go")
	mk := filepath.Join(dir, "Makefile")
	wantSvc := readFileT(t, svc)
	writeFileT(t, impl, readFileT(t, impl)+"\n// mine\n")
	writeFileT(t, svc, wantSvc+"\n// broken\n")
	owned := strings.Replace(readFileT(t, mk), "# "+Header+"\n", "", 1) + "\nmine:\n\techo mine\n"
	writeFileT(t, mk, owned)
	os.Remove(filepath.Join(dir, "README.md"))

	r, err = Write(dir, generate(t, base), WriteRegen)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.Written, []string{"billing/service/service.go"}) {
		t.Errorf("regen wrote %v, want only service.go", r.Written)
	}
	if !slices.Contains(r.Skipped, "Makefile") || !slices.Contains(r.Skipped, "billing/service/impl.go") {
		t.Errorf("skipped %v", r.Skipped)
	}
	if got := readFileT(t, svc); got != wantSvc {
		t.Error("service.go was not restored")
	}
	if got := readFileT(t, impl); !strings.HasSuffix(got, "// mine\n") {
		t.Error("impl.go lost the user's change")
	}
	if got := readFileT(t, mk); got != owned {
		t.Error("the Makefile without its header was rewritten")
	}
	if _, err := os.Stat(filepath.Join(dir, "README.md")); !errors.Is(err, fs.ErrNotExist) {
		t.Error("regen recreated a user file the user deleted")
	}

	// A changed spec changes the generated files only, and wego.yaml.
	changed := strings.Replace(base, "port: 8090", "port: 9000", 1)
	r, err = Write(dir, generate(t, changed), WriteRegen)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(r.Written)
	if want := []string{"Dockerfile", "cmd/billing/main.go", SpecFile}; !slices.Equal(r.Written, want) {
		t.Errorf("after a port change regen wrote %v, want %v", r.Written, want)
	}
	if got := readFileT(t, filepath.Join(dir, SpecFile)); got != changed {
		t.Error("wego.yaml is not the spec's copy")
	}
}

// A new operation compiles without touching impl.go: Unimplemented
// answers it.
func TestRegenNewOperation(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := Write(dir, generate(t, base), WriteNew); err != nil {
		t.Fatal(err)
	}
	implBefore := readFileT(t, filepath.Join(dir, "billing/service/impl.go"))
	more := strings.Replace(base, "errors:\n", "  - name: PayInvoice\n    path: /invoices/{id}/pay\n    request:\n      - {name: id, type: string, in: path}\nerrors:\n", 1)
	if _, err := Write(dir, generate(t, more), WriteRegen); err != nil {
		t.Fatal(err)
	}
	svc := readFileT(t, filepath.Join(dir, "billing/service/service.go"))
	if !strings.Contains(svc, "func (Unimplemented) PayInvoice(") || !strings.Contains(svc, `catalog.Register("billing.PayInvoice"`) {
		t.Error("service.go lacks the new operation")
	}
	if readFileT(t, filepath.Join(dir, "billing/service/impl.go")) != implBefore {
		t.Error("impl.go changed")
	}
}

func TestWriteModes(t *testing.T) {
	t.Parallel()
	files := generate(t, base)
	dir := t.TempDir()
	writeFileT(t, filepath.Join(dir, "notes.txt"), "mine")
	if _, err := Write(dir, files, WriteNew); !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("new into a non-empty dir: %v, want ErrNotEmpty", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
		t.Fatal("a refused new wrote files")
	}
	writeFileT(t, filepath.Join(dir, "README.md"), "old")
	r, err := Write(dir, files, WriteForce)
	if err != nil || len(r.Written) != len(files) {
		t.Fatalf("force: %+v, %v", r, err)
	}
	if readFileT(t, filepath.Join(dir, "notes.txt")) != "mine" || readFileT(t, filepath.Join(dir, "README.md")) == "old" {
		t.Error("force must replace files of the same names and keep the others")
	}
	if _, err := Write(filepath.Join(dir, "missing"), files, WriteRegen); err == nil {
		t.Error("regen into a missing directory succeeded")
	}
	for _, bad := range []string{"../x", "/abs", "a/../../b", ""} {
		if _, err := Write(t.TempDir(), []File{{Path: bad}}, WriteNew); err == nil {
			t.Errorf("path %q accepted", bad)
		}
	}
}

func TestHasHeader(t *testing.T) {
	for s, want := range map[string]bool{
		"// " + Header + "\n\npackage x": true,
		"# " + Header + "\r\nx":          true,
		"package x\n// " + Header:        false,
		"// Code generated by x.":        false,
		"":                               false,
	} {
		if got := HasHeader([]byte(s)); got != want {
			t.Errorf("HasHeader(%q) = %v", s, got)
		}
	}
}
