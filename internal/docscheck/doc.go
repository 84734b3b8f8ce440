// Package docscheck holds the tests that keep the documentation true to the
// code. It has no API; its tests run with go test ./... like any other.
//
// # Layers
//
// TestLayers reads the layer table of docs/architecture.md and checks every
// package of the module against it: each package must match a row, and may
// import only module packages of a lower layer (packages of the top layer
// may also import each other). A row's packages are code spans, paths
// relative to the module: "fw" is that package, "fw/..." its sub-packages
// (and itself); the most specific pattern wins. A path that names no
// package is an error; an "x/..." row may be empty, keeping a place for
// packages to come (plug-ins of fw). Test files are not bound by the
// table.
//
// # Go snippets
//
// TestSnippets type-checks every ```go block of README.md,
// examples/mesh/README.md and docs/*.md, except docs/tutorial.md, whose
// blocks cmd/wego's TestTutorial runs. Each block becomes a package of its
// own in a temporary module that requires this checkout (replace directive),
// and one go vet run checks them all. Errors name the page and the line
// (the generated files carry //line directives).
//
// How a block becomes a Go file:
//
//   - A block whose first code line is a package clause is a whole file.
//   - Otherwise, if the block parses as declarations, they are file-level
//     declarations. If not, it is declarations followed by statements: the
//     first line at column 0 that starts neither a declaration (func, type,
//     var, const, import) nor a comment, and does not close one ("}", ")"),
//     starts the statements, which become the body of a function func _()
//     (a hint can give it another signature). Variables that statements at
//     the top of the body declare count as used, and the body ends with a
//     panic, so that an excerpt needs no final return.
//   - "..." on a line of its own, or as a whole body "{ ... }", stands for
//     elided code and compiles as panic("elided").
//   - Packages are imported by the name the block uses: "catalog",
//     "errs", "httptransport", "fw", "log" (WeGO's), "zap", "context",
//     "http" (net/http), ... (see autoImports in snippets_test.go). The
//     names "inventory", "orders", "memory" and "locales" are small fake
//     packages in testdata/fakes, the service the pages use as their
//     example.
//   - "ctx" (a context.Context) and "cat" (a *catalog.Catalog) are
//     declared at file level when the block uses them without declaring
//     them.
//
// A hint in an HTML comment right before a block (blank lines between them
// are allowed) says what the block assumes, one directive a line:
//
//	<!-- snippet
//	package main
//	import "log"
//	func(ctx context.Context) error
//	var httpClient *httptransport.Client
//	-->
//
// "package NAME" names the block's package (default snippet); "import"
// adds an import (the standard "log" here, instead of WeGO's); a line
// starting with "func(" is the signature of the function the statements
// run in; any other line is a Go declaration at file level, for the names
// the block uses without defining them. A hint that no ```go block follows
// is an error.
package docscheck
