// Command wego generates WeGO services from a small YAML spec, and mints
// development tokens.
//
//	wego new service NAME [--spec FILE] [--dir DIR] [--module PATH] [--force] [--wego-replace PATH]
//	wego gen [--spec FILE] [--dir DIR]
//	wego token SUBJECT [--config FILE] [--scope SCOPE]... [--aud AUDIENCE]... [--type user|service] [--ttl DURATION]
//	wego version
//	wego help [COMMAND]
//
// new writes a whole service into DIR (./NAME by default): the API package,
// the implementation, a main, features, Makefile, Dockerfile and the spec
// itself as wego.yaml. gen regenerates the generated files of the service in
// DIR (. by default) from its wego.yaml after a change, and never touches
// the files that are yours. See docs/codegen.md. token prints a token for
// SUBJECT signed with the development key of a service's configuration
// (auth.dev_key, config/dev.yaml by default). See docs/auth.md.
//
// Install it from a clone of WeGO, in the clone's root, with
//
//	go install ./cmd/wego
//
// A wego built from a clone remembers the clone: the go.mod of every
// service it creates replaces github.com/wegomesh/wego with it. A wego
// that the go command downloaded (go install
// github.com/wegomesh/wego/cmd/wego@v1.2.3) makes services require its
// version instead.
//
// Exit status: 0 on success, 1 on failure, 2 on a usage error.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/wegomesh/wego/templates"
)

// version is set when building a release:
// go build -ldflags "-X main.version=v1.2.3" ./cmd/wego.
var version = ""

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `wego generates WeGO services.

Usage:
  wego new service NAME [flags]   write a new service into ./NAME
  wego gen [flags]                regenerate a service's generated files from wego.yaml
  wego token SUBJECT [flags]      mint a development token with a configuration's dev key
  wego version                    print wego's version
  wego help [COMMAND]             print help, for new, gen or token

Run "wego help new", "wego help gen" or "wego help token" for their flags.
`

const newUsage = `Usage: wego new service NAME [--spec FILE] [--dir DIR] [--module PATH] [--force] [--wego-replace PATH]

Writes a new service into DIR (./NAME by default), which must be empty
unless --force is given. Without --spec the service has one operation,
Get<Name> on GET /NAME/{id}; the spec used is written as DIR/wego.yaml.
The service's go.mod replaces github.com/wegomesh/wego with the checkout
that --wego-replace names: by default the one this wego was built from. A
wego installed with go install ...@VERSION makes it require VERSION.

Flags:
`

const genUsage = `Usage: wego gen [--spec FILE] [--dir DIR]

Regenerates the generated files of the service in DIR (. by default) from
its spec (DIR/wego.yaml by default; another --spec is copied there). Files
that are yours — impl.go, the tests, the features, the configuration,
go.mod, README.md — are never touched, nor generated files whose header
line you deleted. Running it twice changes nothing.

Flags:
`

// usageError is a mistake in the command line: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// run runs the command line args and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	var err error
	switch cmd := first(args); cmd {
	case "new":
		err = runNew(args[1:], stdout, stderr)
	case "gen":
		err = runGen(args[1:], stdout, stderr)
	case "token":
		err = runToken(args[1:], stdout, stderr)
	case "version":
		if len(args) > 1 {
			err = usagef("version takes no arguments")
			break
		}
		fmt.Fprintln(stdout, "wego", versionString())
	case "help", "-h", "-help", "--help":
		switch first(args[1:]) {
		case "":
			fmt.Fprint(stdout, usage)
		case "new":
			fmt.Fprint(stdout, newUsage)
			newFlags(io.Discard).setOutput(stdout).PrintDefaults()
		case "gen":
			fmt.Fprint(stdout, genUsage)
			genFlags(io.Discard).setOutput(stdout).PrintDefaults()
		case "token":
			fmt.Fprint(stdout, tokenUsage)
			tokenFlags(io.Discard, new(tokenOpts)).setOutput(stdout).PrintDefaults()
		default:
			err = usagef("no help for %q: the commands are new, gen, token and version", args[1])
		}
	case "":
		fmt.Fprint(stderr, usage)
		return exitUsage
	default:
		err = usagef("unknown command %q: the commands are new, gen, token, version and help", cmd)
	}
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, "wego:", err)
		fmt.Fprintln(stderr, `Run "wego help" for usage.`)
		return exitUsage
	default:
		fmt.Fprintln(stderr, "wego:", err)
		return exitFailure
	}
}

func first(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return args[0]
}

// flagSet wraps flag.FlagSet for subcommands whose positional arguments
// may come before, between or after the flags.
type flagSet struct{ *flag.FlagSet }

func (f flagSet) setOutput(w io.Writer) flagSet { f.SetOutput(w); return f }

// parse parses args and returns the positional arguments.
func (f flagSet) parse(args []string) ([]string, error) {
	var pos []string
	for {
		if err := f.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usagef("%v", err)
		}
		args = f.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

type newOpts struct {
	spec, dir, module, replace string
	force                      bool
}

func newFlags(out io.Writer) flagSet {
	fs := flag.NewFlagSet("wego new service", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() { fmt.Fprint(fs.Output(), newUsage); fs.PrintDefaults() }
	fs.String("spec", "", "the service spec (YAML); default: a minimal one for NAME")
	fs.String("dir", "", "the directory to write the service into; default ./NAME")
	fs.String("module", "", "the Go module path when the spec has none; default NAME")
	fs.Bool("force", false, "write into a directory that is not empty, replacing files of the same names")
	fs.String("wego-replace", source().Checkout, "build against this checkout of WeGO: go.mod replaces github.com/wegomesh/wego with it; the default is the checkout this wego was built from, if any; empty: no replace")
	return flagSet{fs}
}

func genFlags(out io.Writer) flagSet {
	fs := flag.NewFlagSet("wego gen", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() { fmt.Fprint(fs.Output(), genUsage); fs.PrintDefaults() }
	fs.String("spec", "", "the service spec (YAML); default DIR/wego.yaml")
	fs.String("dir", ".", "the service's directory")
	return flagSet{fs}
}

func lookup(fs flagSet, name string) string { return fs.Lookup(name).Value.String() }

func runNew(args []string, stdout, stderr io.Writer) error {
	fs := newFlags(stderr)
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if len(pos) == 0 || pos[0] != "service" {
		return usagef(`usage: wego new service NAME [flags] (only services can be created)`)
	}
	if len(pos) != 2 {
		return usagef("wego new service takes one NAME, got %d arguments", len(pos)-1)
	}
	name := pos[1]
	o := newOpts{spec: lookup(fs, "spec"), dir: lookup(fs, "dir"), module: lookup(fs, "module"),
		replace: lookup(fs, "wego-replace"), force: lookup(fs, "force") == "true"}
	if !templates.ValidService(name) {
		return usagef("%q cannot name a service: use a lower-case identifier of letters and digits, such as billing, that is not a Go keyword or reserved", name)
	}
	if o.module != "" && !templates.ValidModule(o.module) {
		return usagef("--module %q is not a valid Go module path, such as example.com/%s", o.module, name)
	}
	var data []byte
	specName := templates.SpecFile
	if o.spec == "" {
		if data, err = templates.DefaultSpec(name, o.module); err != nil {
			return err
		}
	} else {
		if data, err = os.ReadFile(o.spec); err != nil {
			return err
		}
		specName = o.spec
	}
	spec, err := templates.ParseSpec(data, specName)
	if err != nil {
		return err
	}
	if spec.Service != name {
		return usagef("the spec %s is for the service %q, not %q", o.spec, spec.Service, name)
	}
	if o.module != "" && spec.Module != "" && spec.Module != o.module {
		return usagef("--module %s differs from the module %s of the spec %s", o.module, spec.Module, o.spec)
	}
	if o.dir == "" {
		o.dir = name
	}
	src := source()
	note := ""
	if o.replace != "" {
		if o.replace, err = filepath.Abs(o.replace); err != nil {
			return err
		}
		if err := isCheckout(o.replace); err != nil {
			return fmt.Errorf("--wego-replace %s is not a WeGO checkout: %w", o.replace, err)
		}
	} else if src.Version == "" {
		why := src.Why
		if src.Checkout != "" {
			why = "--wego-replace is empty"
		}
		note = checkoutNote(why)
	}
	files, err := templates.Generate(spec, templates.Options{
		Module: o.module, ReplaceWego: o.replace, WegoVersion: src.Version,
	})
	if err != nil {
		return err
	}
	mode := templates.WriteNew
	if o.force {
		mode = templates.WriteForce
	}
	report, err := templates.Write(o.dir, files, mode)
	if err != nil {
		return err
	}
	for _, p := range report.Written {
		fmt.Fprintln(stdout, "  wrote", filepath.Join(o.dir, filepath.FromSlash(p)))
	}
	module := spec.Module
	if module == "" {
		module = orDefault(o.module, name)
	}
	fmt.Fprintf(stdout, "\nCreated the %s service (module %s) in %s.\n", name, module, o.dir)
	if o.replace != "" {
		fmt.Fprintf(stdout, "It builds against the WeGO checkout %s (go.mod replaces %s).\n", o.replace, templates.WegoModule)
	}
	fmt.Fprintf(stdout, "Next:\n  cd %s\n  go mod tidy\n  make run\n", o.dir)
	if note != "" {
		fmt.Fprintln(stderr, "wego:", note)
	}
	return nil
}

func runGen(args []string, stdout, stderr io.Writer) error {
	fs := genFlags(stderr)
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("wego gen takes no arguments, got %q (use --spec and --dir)", strings.Join(pos, " "))
	}
	dir, specPath := lookup(fs, "dir"), lookup(fs, "spec")
	if specPath == "" {
		specPath = filepath.Join(dir, templates.SpecFile)
	}
	data, err := os.ReadFile(specPath)
	if err != nil {
		return err
	}
	spec, err := templates.ParseSpec(data, specPath)
	if err != nil {
		return err
	}
	// The module: the spec's, else the one go.mod declares.
	module := ""
	if spec.Module == "" {
		module, err = goModModule(filepath.Join(dir, "go.mod"))
		if err != nil {
			return fmt.Errorf("the spec has no module and %w", err)
		}
	}
	files, err := templates.Generate(spec, templates.Options{Module: module})
	if err != nil {
		return err
	}
	report, err := templates.Write(dir, files, templates.WriteRegen)
	if err != nil {
		return err
	}
	for _, p := range report.Written {
		fmt.Fprintln(stdout, "  wrote", filepath.Join(dir, filepath.FromSlash(p)))
	}
	fmt.Fprintf(stdout, "%d written, %d unchanged, %d of yours left alone.\n",
		len(report.Written), len(report.Unchanged), len(report.Skipped))
	return nil
}

// goModModule returns the module path that the go.mod file at name declares.
func goModModule(name string) (string, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return "", fmt.Errorf("cannot read go.mod: %w", err)
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`), nil
		}
	}
	return "", fmt.Errorf("%s has no module line", name)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// versionString returns wego's version: the one stamped with -ldflags, else the
// module version recorded in the binary (go install ...@v1.2.3), else
// "(devel)" with the VCS revision when known.
func versionString() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown) " + runtime.Version()
	}
	v := info.Main.Version
	if v == "" {
		v = "(devel)"
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 && v == "(devel)" {
			v += " " + s.Value[:12]
		}
	}
	return v + " " + info.GoVersion
}
