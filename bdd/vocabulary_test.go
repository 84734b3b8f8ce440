package bdd

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/bdd-steps.md from the step table")

// TestVocabularyDoc fails when docs/bdd-steps.md is not what the step table
// renders; go test ./bdd -update rewrites it.
func TestVocabularyDoc(t *testing.T) {
	var b bytes.Buffer
	if err := WriteVocabulary(&b); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "docs", "bdd-steps.md")
	if *update {
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v: run `go test ./bdd -update` to write it", err)
	}
	if !bytes.Equal(got, b.Bytes()) {
		t.Errorf("docs/bdd-steps.md differs from the step table in bdd/steps.go: run `go test ./bdd -update` to rewrite it")
	}
}

// TestVocabularyExamples proves that each step's example matches its own
// pattern and no other (godog's strict mode fails ambiguous steps), and
// that every entry is complete.
func TestVocabularyExamples(t *testing.T) {
	keyword := regexp.MustCompile(`^(Given|When|Then|And|But) `)
	res := make([]*regexp.Regexp, len(steps))
	for i, s := range steps {
		res[i] = regexp.MustCompile(s.Pattern)
		if !strings.HasPrefix(s.Pattern, "^") || !strings.HasSuffix(s.Pattern, "$") {
			t.Errorf("pattern %q is not anchored with ^ and $", s.Pattern)
		}
		if s.Section == "" || s.Doc == "" || s.bind == nil || !keyword.MatchString(s.Example) {
			t.Errorf("step %q is incomplete: %+v", s.Pattern, s.StepDoc)
		}
		if strings.HasSuffix(s.Pattern, ":$") != (s.Argument != "") {
			t.Errorf("step %q: a step takes an argument exactly when it ends with a colon (argument %q)", s.Pattern, s.Argument)
		}
	}
	for i, s := range steps {
		text := keyword.ReplaceAllString(s.Example, "")
		for j, re := range res {
			if m := re.MatchString(text); m != (i == j) {
				t.Errorf("example %q: matches %q is %v", s.Example, steps[j].Pattern, m)
			}
		}
	}
	if got := Vocabulary(); len(got) != len(steps) || got[0] != steps[0].StepDoc {
		t.Errorf("Vocabulary() = %d steps, want %d", len(got), len(steps))
	}
}
