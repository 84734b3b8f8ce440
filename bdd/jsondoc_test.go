package bdd

import (
	"strings"
	"testing"

	"github.com/cucumber/godog"
	messages "github.com/cucumber/messages/go/v21"

	"github.com/wegomesh/wego/codec"
)

func table(rows ...[]string) *godog.Table {
	t := &godog.Table{}
	for _, r := range rows {
		row := &messages.PickleTableRow{}
		for _, c := range r {
			row.Cells = append(row.Cells, &messages.PickleTableCell{Value: c})
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

func TestTableObject(t *testing.T) {
	got, err := tableObject(table(
		[]string{"field", "value"},
		[]string{"sku", "apple"},
		[]string{"qty", "2"},
		[]string{"code", `"007"`},
		[]string{"ok", "true"},
		[]string{"none", "null"},
		[]string{"empty", ""},
		[]string{"tags", `["a"]`},
		[]string{"item.size", "L"},
		[]string{"items[1].qty", "3"},
		[]string{"items[0].sku", "pear"},
	))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"code":"007","empty":"","item":{"size":"L"},"items":[{"sku":"pear"},{"qty":3}],"none":null,"ok":true,"qty":2,"sku":"apple","tags":["a"]}`
	if s := show(got); s != want {
		t.Errorf("tableObject = %s\nwant %s", s, want)
	}
}

func TestTableObjectErrors(t *testing.T) {
	for _, tt := range []struct {
		rows [][]string
		want string
	}{
		{[][]string{{"a", "b", "c"}}, "table row 1 has 3 cells"},
		{[][]string{{"[0]", "x"}}, `table field "[0]" must start with a name`},
		{[][]string{{"a", "1"}, {"a.b", "2"}}, `table field "a.b": cannot set member "b" in a value that is not an object`},
		{[][]string{{"a.", "1"}}, `path "a." ends with a dot`},
		{[][]string{{"a[x]", "1"}}, `index "x" is not a non-negative integer`},
		{[][]string{{"a[0", "1"}}, "unclosed ["},
	} {
		_, err := tableObject(table(tt.rows...))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("tableObject(%v) = %v, want an error with %q", tt.rows, err, tt.want)
		}
	}
}

func TestLookupPath(t *testing.T) {
	doc, err := codec.Parse([]byte(`{"a": {"b": [10, {"c": "x"}]}, "d.e": 1, "n": null}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path  string
		want  string
		found bool
	}{
		{"a.b[0]", "10", true},
		{"a.b[1].c", `"x"`, true},
		{"a.b[2]", "", false},
		{"a.x", "", false},
		{"a.b.c", "", false},
		{"n", "null", true},
	} {
		v, ok, err := lookupPath(doc, tt.path)
		if err != nil || ok != tt.found || (ok && show(v) != tt.want) {
			t.Errorf("lookupPath(%q) = %s, %v, %v; want %s, %v", tt.path, show(v), ok, err, tt.want, tt.found)
		}
	}
	top, _ := codec.Parse([]byte(`[{"id": 1}]`))
	if v, ok, _ := lookupPath(top, "[0].id"); !ok || show(v) != "1" {
		t.Errorf("lookupPath([0].id) = %s, %v", show(v), ok)
	}
}

func TestMatch(t *testing.T) {
	for _, tt := range []struct {
		want, got string
		subset    bool
		err       string // "" for a match
	}{
		{`{"a": 1}`, `{"a": 1.0}`, false, ""},
		{`{"a": 1e2}`, `{"a": 100}`, false, ""},
		{`{"a": 1}`, `{"a": 1, "b": 2}`, true, ""},
		{`{"a": 1}`, `{"a": 1, "b": 2}`, false, `at "b": unexpected member with value 2`},
		{`{"a": {"b": [1, {"c": 2}]}}`, `{"a": {"b": [1, {"c": 3}]}}`, true, `at "a.b[1].c": want 2, got 3`},
		{`[1, 2]`, `[1]`, true, "at the top level: want 2 elements, got 1: [1]"},
		{`{"a": "1"}`, `{"a": 1}`, false, `at "a": want "1", got 1`},
		{`{"a": null}`, `{}`, true, `at "a": missing`},
		{`{"a": {}}`, `{"a": []}`, true, `at "a": want an object, got []`},
		{`{"a": true}`, `{"a": true}`, false, ""},
	} {
		w, _ := codec.Parse([]byte(tt.want))
		g, _ := codec.Parse([]byte(tt.got))
		err := match("", w, g, tt.subset)
		if (err == nil) != (tt.err == "") || (err != nil && err.Error() != tt.err) {
			t.Errorf("match(%s, %s, subset %v) = %v, want %q", tt.want, tt.got, tt.subset, err, tt.err)
		}
	}
}

func TestValueIs(t *testing.T) {
	for _, tt := range []struct {
		got, text string
		want      bool
	}{
		{`"apple"`, "apple", true},
		{`"2"`, "2", true},
		{`2`, "2", true},
		{`2`, "2.0", true},
		{`2`, "3", false},
		{`true`, "true", true},
		{`null`, "null", true},
		{`[1]`, "[1]", true},
		{`{"a":1}`, "{\"a\": 1}", true},
		{`1`, "one", false},
	} {
		g, _ := codec.Parse([]byte(tt.got))
		if got := valueIs(g, tt.text); got != tt.want {
			t.Errorf("valueIs(%s, %q) = %v", tt.got, tt.text, got)
		}
	}
}
