package templates

import (
	"bytes"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// goldenCases are the specs whose generated files are kept in
// testdata/golden/<name>, each file with the suffix .golden.
func goldenCases(t *testing.T) map[string][]File {
	t.Helper()
	out := map[string][]File{}
	data, err := os.ReadFile("testdata/billing.yaml")
	if err != nil {
		t.Fatal(err)
	}
	spec, err := ParseSpec(data, "billing.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if out["billing"], err = Generate(spec, Options{ReplaceWego: "/src/wego"}); err != nil {
		t.Fatal(err)
	}
	def, err := DefaultSpec("orders", "example.com/orders")
	if err != nil {
		t.Fatal(err)
	}
	spec, err = ParseSpec(def, SpecFile)
	if err != nil {
		t.Fatal(err)
	}
	if out["default"], err = Generate(spec, Options{WegoVersion: "v0.3.0"}); err != nil {
		t.Fatal(err)
	}
	return out
}

// The templates render the golden files; go test ./templates -update
// rewrites them after a deliberate change.
func TestGolden(t *testing.T) {
	for name, files := range goldenCases(t) {
		t.Run(name, func(t *testing.T) {
			root := filepath.Join("testdata", "golden", name)
			if *update {
				if err := os.RemoveAll(root); err != nil {
					t.Fatal(err)
				}
				for _, f := range files {
					p := filepath.Join(root, filepath.FromSlash(f.Path)+".golden")
					if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(p, f.Content, 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			want := map[string]bool{}
			for _, f := range files {
				want[f.Path] = true
				golden, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f.Path)+".golden"))
				if err != nil {
					t.Errorf("%s: %v (run go test ./templates -update)", f.Path, err)
					continue
				}
				if !bytes.Equal(golden, f.Content) {
					t.Errorf("%s differs from its golden file (run go test ./templates -update after a deliberate change):\n%s",
						f.Path, firstDiff(string(golden), string(f.Content)))
				}
			}
			filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				rel, _ := filepath.Rel(root, p)
				rel = strings.TrimSuffix(filepath.ToSlash(rel), ".golden")
				if !want[rel] {
					t.Errorf("golden file %s is no longer generated (run -update)", rel)
				}
				return nil
			})
		})
	}
}

// firstDiff shows the first line where two texts differ.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return "line " + itoa(i+1) + ":\n  want: " + a + "\n  got:  " + b
		}
	}
	return "(same lines)"
}

func itoa(i int) string { return strconv.Itoa(i) }

var goGenerated = regexp.MustCompile(`^// Code generated .* DO NOT EDIT\.$`)

// Generated files carry the header (Go's convention for Go files), user
// files do not, and the layout is the documented one.
func TestHeadersAndOwnership(t *testing.T) {
	files := goldenCases(t)["billing"]
	var generated, user []string
	for _, f := range files {
		first, _, _ := strings.Cut(string(f.Content), "\n")
		switch {
		case f.Path == SpecFile:
			if !f.Generated || HasHeader(f.Content) {
				t.Errorf("%s: the spec's copy is rewritten by gen and has no header", f.Path)
			}
		case f.Generated && strings.HasSuffix(f.Path, ".go"):
			if !goGenerated.MatchString(first) {
				t.Errorf("%s: first line %q does not match Go's generated-code convention", f.Path, first)
			}
		case f.Generated:
			if first != "# "+Header {
				t.Errorf("%s: first line %q, want the header", f.Path, first)
			}
		default:
			if HasHeader(f.Content) {
				t.Errorf("%s is the user's but says DO NOT EDIT", f.Path)
			}
		}
		if f.Generated {
			generated = append(generated, f.Path)
		} else {
			user = append(user, f.Path)
		}
	}
	wantGenerated := []string{".dockerignore", "Dockerfile", "Makefile", "billing/billing.go", "billing/locales/en.toml",
		"billing/locales/es.toml", "billing/service/service.go", "cmd/billing/main.go", "cmd/billing/main_test.go", "wego.yaml"}
	wantUser := []string{".gitignore", "README.md", "billing/service/impl.go", "billing/service/impl_test.go",
		"cmd/billing/config/dev.yaml", "cmd/billing/config/prod.yaml", "cmd/billing/config/test.yaml",
		"features/billing.feature", "features_test.go", "go.mod"}
	if !slices.Equal(generated, wantGenerated) {
		t.Errorf("generated files:\n got %q\nwant %q", generated, wantGenerated)
	}
	if !slices.Equal(user, wantUser) {
		t.Errorf("user files:\n got %q\nwant %q", user, wantUser)
	}
}

// Generation is deterministic, and what the spec says reaches the code.
func TestGenerateContent(t *testing.T) {
	a, b := goldenCases(t)["billing"], goldenCases(t)["billing"]
	for i := range a {
		if a[i].Path != b[i].Path || !bytes.Equal(a[i].Content, b[i].Content) {
			t.Fatalf("%s differs between two generations", a[i].Path)
		}
	}
	get := func(p string) string {
		for _, f := range a {
			if f.Path == p {
				return string(f.Content)
			}
		}
		t.Fatalf("no file %s", p)
		return ""
	}
	api := get("billing/billing.go")
	for _, want := range []string{
		"CustomerID  string   `json:\"customer_id\" audit:\"include\"`",
		"XTenant     string   `header:\"X-Tenant\" json:\"-\"`",
		"ID     string `path:\"id\" json:\"-\"`",
		"Status     []string `query:\"status\" json:\"-\"`",
		"InvoiceIDs []string `json:\"invoice_ids\"`",
		`httptransport.POST("/invoices")`,
		`httptransport.SuccessStatus(201)`,
		`catalog.With(audit.Auditable.Value(true))`,
		`catalog.With(retry.Idempotent.Value(true), cache.TTL.Value(30*time.Second))`,
		`errs.Define("billing.invoice_not_found", errs.KindNotFound,`,
		`errs.Define("billing.not_implemented", errs.KindInternal,`,
		`errs.WithHTTPStatus(http.StatusNotImplemented)`,
		"type CancelInvoiceResponse struct{}",
		"//go:embed locales/*.toml",
	} {
		if !strings.Contains(api, want) {
			t.Errorf("billing/billing.go lacks %s", want)
		}
	}
	if es := get("billing/locales/es.toml"); !strings.Contains(es, `"billing.invoice_not_found" = "La factura {{.id}} no existe."`) {
		t.Errorf("es.toml:\n%s", es)
	}
	if mod := get("go.mod"); !strings.Contains(mod, "replace github.com/wegomesh/wego => /src/wego") {
		t.Errorf("go.mod:\n%s", mod)
	}
	if main := get("cmd/billing/main.go"); !strings.Contains(main, `"http.addr": ":8090"`) {
		t.Errorf("main.go does not listen on the spec's port")
	}
}

func TestGenerateOptions(t *testing.T) {
	def, _ := DefaultSpec("billing", "")
	spec, err := ParseSpec(def, SpecFile)
	if err != nil {
		t.Fatal(err)
	}
	gomod := func(opts Options) string {
		files, err := Generate(spec, opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if f.Path == "go.mod" {
				return string(f.Content)
			}
		}
		return ""
	}
	if got := gomod(Options{}); got != "module billing\n\ngo "+GoVersion+"\n" {
		t.Errorf("without options go.mod is\n%s", got)
	}
	if got := gomod(Options{Module: "example.com/x", WegoVersion: "v1.2.3"}); !strings.Contains(got, "module example.com/x\n") ||
		!strings.Contains(got, "require github.com/wegomesh/wego v1.2.3\n") {
		t.Errorf("go.mod is\n%s", got)
	}
	if got := gomod(Options{ReplaceWego: "/a b/wego"}); !strings.Contains(got, `replace github.com/wegomesh/wego => "/a b/wego"`) {
		t.Errorf("a path with a space is not quoted:\n%s", got)
	}
	for _, bad := range []Options{{Module: "/bad"}, {WegoVersion: "latest"}} {
		if _, err := Generate(spec, bad); err == nil {
			t.Errorf("Generate(%+v) succeeded", bad)
		}
	}
	if _, err := DefaultSpec("Bad", ""); err == nil {
		t.Error("DefaultSpec accepted an invalid name")
	}
}

// A generated service asks for the Go that WeGO asks for: the go
// directives agree, and the Dockerfile builds with that minor version.
func TestGoVersionIsWegos(t *testing.T) {
	mod, err := os.ReadFile(filepath.Join("..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\S+)$`).FindStringSubmatch(string(mod))
	if m == nil {
		t.Fatalf("WeGO's go.mod has no go directive:\n%s", mod)
	}
	if m[1] != GoVersion {
		t.Errorf("WeGO's go.mod says go %s, generated services go %s", m[1], GoVersion)
	}
	def, err := DefaultSpec("orders", "")
	if err != nil {
		t.Fatal(err)
	}
	spec, err := ParseSpec(def, SpecFile)
	if err != nil {
		t.Fatal(err)
	}
	files, err := Generate(spec, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		switch f.Path {
		case "go.mod":
			if !strings.Contains(string(f.Content), "\ngo "+m[1]+"\n") {
				t.Errorf("go.mod:\n%s", f.Content)
			}
		case "Dockerfile":
			if minor := regexp.MustCompile(`^\d+\.\d+`).FindString(m[1]); !strings.Contains(string(f.Content), "\nFROM golang:"+minor+" AS build\n") {
				t.Errorf("Dockerfile does not build with golang:%s:\n%s", minor, f.Content)
			}
		}
	}
	for in, want := range map[string]string{"1.26.0": "1.26", "1.27.3": "1.27", "1.26": "1.26", "2": "2"} {
		if got := goMinor(in); got != want {
			t.Errorf("goMinor(%q) = %q, want %q", in, got, want)
		}
	}
}
