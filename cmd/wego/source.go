package main

import (
	"fmt"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/wegomesh/wego/templates"
)

// wegoSource is where the services that this wego creates get
// github.com/wegomesh/wego from.
type wegoSource struct {
	// Version is the version of WeGO that a new go.mod requires, or "".
	Version string
	// Checkout is the root of the WeGO checkout this binary was built
	// from, the default of --wego-replace, or "".
	Checkout string
	// Why says why there is neither, for the note wego new prints then.
	Why string
}

// source is this binary's wegoSource, worked out once.
var source = sync.OnceValue(func() wegoSource {
	_, file, _, _ := runtime.Caller(0)
	info, _ := debug.ReadBuildInfo()
	return findSource(version, info, file)
})

// findSource works out where new services get WeGO from, given the
// version stamped with -ldflags (or ""), the binary's build information
// (nil when unknown) and the compile-time path of this file:
//
//   - A binary that the go command downloaded as a module (go install
//     github.com/wegomesh/wego/cmd/wego@v1.2.3) records the module's
//     checksum: services require that version.
//   - A binary built from source (go install ./cmd/wego in a clone)
//     records no checksum, and the absolute path of its source files:
//     services replace WeGO with that checkout, whatever version the
//     build recorded (since Go 1.24 a build in a git clone records a
//     pseudo-version, which the module proxy does not know), because
//     that checkout is what its templates were written for.
//   - Otherwise a version stamped with -ldflags "-X main.version=v1.2.3"
//     is required; failing that, go.mod names no version and Why says
//     what went missing.
func findSource(stamped string, info *debug.BuildInfo, file string) wegoSource {
	if info != nil && info.Main.Sum != "" {
		if requirable(info.Main.Version) {
			return wegoSource{Version: info.Main.Version}
		}
		return wegoSource{Why: fmt.Sprintf("this wego was installed as version %q, which go.mod cannot require", info.Main.Version)}
	}
	checkout, why := checkoutOf(file)
	switch {
	case checkout != "":
		return wegoSource{Checkout: checkout}
	case requirable(stamped):
		return wegoSource{Version: stamped}
	}
	return wegoSource{Why: why}
}

// checkoutOf returns the root of the WeGO checkout that holds file, this
// package's source file cmd/wego/source.go as the compiler saw it, or why
// there is none.
func checkoutOf(file string) (root, why string) {
	if file == "" {
		return "", "this wego does not know where its source is"
	}
	file = filepath.FromSlash(file)
	if !filepath.IsAbs(file) {
		return "", "this wego was built with -trimpath, so it does not know where its source is"
	}
	root = filepath.Dir(filepath.Dir(filepath.Dir(file)))
	if err := isCheckout(root); err != nil {
		return "", fmt.Sprintf("this wego was built from %s, which is no longer a WeGO checkout (%v)", root, err)
	}
	return root, ""
}

// isCheckout reports whether dir is the root of a checkout of WeGO: its
// go.mod declares the module github.com/wegomesh/wego.
func isCheckout(dir string) error {
	module, err := goModModule(filepath.Join(dir, "go.mod"))
	if err != nil {
		return err
	}
	if module != templates.WegoModule {
		return fmt.Errorf("its go.mod declares the module %s, not %s", module, templates.WegoModule)
	}
	return nil
}

// requirable reports whether v is a version that a go.mod can require:
// a semantic version such as v1.2.3 or a pseudo-version, without build
// metadata (+dirty).
func requirable(v string) bool {
	return strings.HasPrefix(v, "v") && strings.Count(v, ".") >= 2 && !strings.ContainsAny(v, " +")
}

// checkoutNote is what wego new prints when go.mod neither requires a
// version of WeGO nor replaces it.
func checkoutNote(why string) string {
	return fmt.Sprintf("note: go.mod requires no version of %s: %s. go mod tidy will look for the latest published version; to build against a checkout of WeGO, run wego new again with --wego-replace PATH.",
		templates.WegoModule, why)
}
