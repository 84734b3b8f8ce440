package bdd

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// WriteVocabulary writes the Markdown reference of the built-in steps,
// the content of docs/bdd-steps.md, to w. The reference is rendered from
// the same table that registers the steps, so it cannot drift from them.
func WriteVocabulary(w io.Writer) error {
	b := bufio.NewWriter(w)
	b.WriteString(`# BDD step vocabulary

<!-- Generated from the step table in bdd/steps.go; do not edit.
     Rewrite it with: go test ./bdd -update -->

The built-in steps of package ` + "`bdd`" + `, by section. Every step may
follow any keyword (Given, When, Then, And, But); the examples use the
natural one. A step whose argument is "doc string or table" takes a JSON
document between """ lines, or a table of ` + "`field | value`" + ` rows:
fields are paths (` + "`items[0].sku`" + `) and values are JSON when they
parse as JSON (` + "`2`, `true`, `\"007\"`" + `), strings otherwise. A first row
` + "`field | value`" + ` is a header and is skipped.

Paths in steps and tables use dots for members and ` + "`[n]`" + ` for array
elements: ` + "`reservation_id`, `items[0].sku`, `[2]`" + `. See
[bdd.md](bdd.md) for how to run features and add your own steps.
`)
	section := ""
	for _, s := range steps {
		if s.Section != section {
			section = s.Section
			fmt.Fprintf(b, "\n## %s\n\n", section)
			b.WriteString("| Step | Argument | What it checks or does |\n")
			b.WriteString("|------|----------|------------------------|\n")
		}
		arg := s.Argument
		if arg == "" {
			arg = "—"
		}
		fmt.Fprintf(b, "| `%s`<br>`%s` | %s | %s |\n", cell(s.Example), cell(s.Pattern), arg, cell(s.Doc))
	}
	return b.Flush()
}

// cell escapes text for a Markdown table cell.
func cell(s string) string {
	return strings.ReplaceAll(s, "|", `\|`)
}
