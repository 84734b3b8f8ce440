package bdd

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/cucumber/godog"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/i18n"
)

// Environment variables that choose what Run runs, when the matching flag
// is not given. The flags win over the variables, and both over the
// options given in code.
const (
	EnvTags   = "WEGO_BDD_TAGS"   // a tag expression, as -godog.tags
	EnvPaths  = "WEGO_BDD_PATHS"  // comma-separated feature paths, as -godog.paths
	EnvFormat = "WEGO_BDD_FORMAT" // "pretty" or "progress", as -godog.format
	EnvSeed   = "WEGO_BDD_SEED"   // the random seed, as -godog.random
)

// The flags that choose what Run runs. They are defined on
// flag.CommandLine when the package is loaded, so that `go test` accepts
// them; a test binary that imports this package must not bind godog's own
// flags with the prefix "godog.".
var (
	flagTags   = flag.String("godog.tags", "", "bdd: run only the scenarios that match this tag expression, such as \"@smoke && ~@wip\" (env "+EnvTags+")")
	flagPaths  = flag.String("godog.paths", "", "bdd: comma-separated feature files or directories to run (env "+EnvPaths+")")
	flagFormat = flag.String("godog.format", "", "bdd: godog formatter, \"pretty\" or \"progress\" (env "+EnvFormat+")")
	flagSeed   = flag.String("godog.random", "", "bdd: seed of the scenario order; 0 runs them in file order (env "+EnvSeed+")")
)

// Run runs the feature files as subtests of t, one per scenario, each in a
// fresh [World], with the built-in steps and those that opts add. Steps
// that no definition matches fail their scenario, naming the step
// (godog's strict mode). Scenarios run in a random order unless
// Randomize(0) says otherwise; the seed is logged so that a failing order
// can be replayed with -godog.random=SEED.
//
// Run reads the feature files from "features" in the package directory
// unless Paths, -godog.paths or WEGO_BDD_PATHS says otherwise; it fails t
// when they cannot be read or parsed.
func Run(t *testing.T, opts ...Option) {
	t.Helper()
	New(opts...).Run(t)
}

// Suite is a configured set of features and steps. Run is
// New(opts...).Run(t); a Suite also gives godog's own runner what it needs
// ([Suite.InitializeScenario]) for programs that drive godog themselves.
type Suite struct {
	cfg config
}

// New returns a suite configured by opts. It panics when an option is nil.
func New(opts ...Option) *Suite {
	s := &Suite{cfg: config{
		base:   catalog.Default,
		paths:  []string{"features"},
		seed:   -1,
		fakes:  map[string]Fake{},
		client: defaultClient,
	}}
	for _, o := range opts {
		if o == nil {
			panic("bdd: nil Option")
		}
		o.apply(&s.cfg)
	}
	if s.cfg.bundle == nil {
		s.cfg.bundle = i18n.Default()
	}
	return s
}

// AddSteps adds steps to every scenario: f is called once per scenario,
// with godog's scenario context and the scenario's fresh World, after the
// built-in steps are registered. A step of f whose pattern matches the same
// text as a built-in step makes that step ambiguous, which fails it.
func (s *Suite) AddSteps(f func(sc *godog.ScenarioContext, w *World)) {
	if f == nil {
		panic("bdd: AddSteps with a nil function")
	}
	s.cfg.steps = append(s.cfg.steps, f)
}

// InitializeScenario prepares one scenario: it makes a fresh World,
// registers the built-in steps and those of AddSteps, and hooks the
// Setup functions before the first step and the World's cleanups after
// the last. Use it as the ScenarioInitializer of a godog.TestSuite when
// running godog without Run.
func (s *Suite) InitializeScenario(sc *godog.ScenarioContext) {
	w := newWorld(s)
	register(sc, w)
	for _, f := range s.cfg.steps {
		f(sc, w)
	}
	sc.Before(func(ctx context.Context, p *godog.Scenario) (context.Context, error) {
		return ctx, w.start(ctx, p)
	})
	sc.StepContext().Before(func(ctx context.Context, st *godog.Step) (context.Context, error) {
		w.step = st
		return ctx, nil
	})
	sc.After(func(ctx context.Context, _ *godog.Scenario, err error) (context.Context, error) {
		w.finish()
		return ctx, nil
	})
}

// Options returns the godog options Run uses, after the flags and the
// environment: strict, the format, the paths, the tags and the seed (a
// random one when the order is random and no seed was given). TestingT is
// not set. It fails when the seed given by flag or environment is not an
// integer.
func (s *Suite) Options() (*godog.Options, error) {
	c := s.cfg
	tags := c.tags
	if v := firstNonEmpty(*flagTags, os.Getenv(EnvTags)); v != "" {
		tags = v
	}
	paths := c.paths
	if v := firstNonEmpty(*flagPaths, os.Getenv(EnvPaths)); v != "" {
		paths = splitList(v)
	}
	format := c.format
	if v := firstNonEmpty(*flagFormat, os.Getenv(EnvFormat)); v != "" {
		format = v
	}
	if format == "" {
		format = "progress"
		if testing.Testing() && testing.Verbose() {
			format = "pretty"
		}
	}
	seed := c.seed
	if v := firstNonEmpty(*flagSeed, os.Getenv(EnvSeed)); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("bdd: the seed %q given with -godog.random or %s is not an integer", v, EnvSeed)
		}
		seed = n
	}
	if seed == -1 {
		seed = rand.Int64N(1<<53) + 1
	}
	return &godog.Options{
		Format:    format,
		Paths:     paths,
		Tags:      tags,
		Strict:    true,
		Randomize: seed,
		Output:    c.output,
		NoColors:  c.output != nil || !isTerminal(os.Stdout),
	}, nil
}

// Run runs the suite's features as subtests of t; see the function [Run].
func (s *Suite) Run(t *testing.T) {
	t.Helper()
	opts, err := s.Options()
	if err != nil {
		t.Fatal(err)
	}
	opts.TestingT = t
	if opts.Randomize != 0 {
		t.Logf("bdd: scenarios run in random order, seed %d; replay it with -godog.random=%d or %s=%d",
			opts.Randomize, opts.Randomize, EnvSeed, opts.Randomize)
	}
	status := godog.TestSuite{
		Name:                "wego",
		ScenarioInitializer: s.InitializeScenario,
		Options:             opts,
	}.Run()
	switch {
	case status == 2:
		t.Fatalf("bdd: godog could not run the features %v (tags %q): see its output above", opts.Paths, opts.Tags)
	case status != 0 && !t.Failed():
		t.Errorf("bdd: godog reported a failure (status %d): see its output above", status)
	}
}

// isTerminal reports whether f is a terminal, where godog's colors help;
// go test pipes the output of test binaries, where they are noise.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Option configures a [Suite].
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	base    *catalog.Catalog
	bundle  *i18n.Bundle
	setups  []func(*World) error
	handler func(*World) (http.Handler, error)
	fakes   map[string]Fake
	steps   []func(*godog.ScenarioContext, *World)
	paths   []string
	tags    string
	format  string
	seed    int64
	output  io.Writer
	client  *http.Client
}

// Catalog makes every scenario's World.Catalog a clone of base. Default:
// catalog.Default, which holds what the test binary's packages registered.
func Catalog(base *catalog.Catalog) Option {
	if base == nil {
		panic("bdd: Catalog(nil)")
	}
	return optionFunc(func(c *config) { c.base = base })
}

// I18n sets the bundle that localizes error messages: World.I18n, used by
// the step `the error message in "..." is "..."` and by the default HTTP
// handler. Default: i18n.Default(), the framework's messages only.
func I18n(b *i18n.Bundle) Option {
	if b == nil {
		panic("bdd: I18n(nil)")
	}
	return optionFunc(func(c *config) { c.bundle = b })
}

// Setup adds a function that prepares each scenario's World before its
// first step: install middleware in w.Catalog, provide fresh dependencies,
// register cleanups with w.Cleanup. Setup functions run in the order given;
// an error fails the scenario. Default: none.
func Setup(f func(w *World) error) Option {
	if f == nil {
		panic("bdd: Setup(nil)")
	}
	return optionFunc(func(c *config) { c.setups = append(c.setups, f) })
}

// Handler sets how the HTTP steps' handler is built. It is called once per
// scenario, on the scenario's first HTTP step (after the Given steps that
// install fakes), and should serve w.Catalog and log to w.Logger. Default:
// the WeGO HTTP transport over the scenario's catalog,
// httptransport.NewHandler(transport.Host{Catalog: w.Catalog, Logger:
// w.Logger, I18n: w.I18n}).
func Handler(f func(w *World) (http.Handler, error)) Option {
	if f == nil {
		panic("bdd: Handler(nil)")
	}
	return optionFunc(func(c *config) { c.handler = f })
}

// Fake makes the value of a named fake for one scenario: the steps
// `the dependency "..." is replaced by "..."` and `"..." is replaced by
// "..."` call it, so each scenario gets a fresh value. See [Fakes].
type Fake func(w *World) (any, error)

// Fakes names fakes that feature files can put in place of dependencies
// and commands. For a dependency the value must have the type the
// dependency was provided as, or implement it when that is an interface.
// For a command it must be a catalog.AnyFunc or a func(context.Context,
// Req) (Resp, error) with the command's types. Both are checked when the
// step runs, with a message that names the types. Later calls add to the
// names, replacing equal ones. Default: none.
func Fakes(fakes map[string]Fake) Option {
	return optionFunc(func(c *config) {
		for name, f := range fakes {
			if f == nil {
				panic(fmt.Sprintf("bdd: Fakes: fake %q is nil", name))
			}
			c.fakes[name] = f
		}
	})
}

// Steps adds steps to every scenario, like [Suite.AddSteps].
func Steps(f func(sc *godog.ScenarioContext, w *World)) Option {
	if f == nil {
		panic("bdd: Steps(nil)")
	}
	return optionFunc(func(c *config) { c.steps = append(c.steps, f) })
}

// Paths sets the feature files and directories to run, relative to the
// package directory. -godog.paths and WEGO_BDD_PATHS override it. Default:
// "features".
func Paths(paths ...string) Option {
	return optionFunc(func(c *config) { c.paths = append([]string(nil), paths...) })
}

// Tags runs only the scenarios that match a godog tag expression, such as
// "@smoke && ~@wip". -godog.tags and WEGO_BDD_TAGS override it. Default:
// every scenario.
func Tags(expr string) Option {
	return optionFunc(func(c *config) { c.tags = expr })
}

// Format sets godog's formatter: "pretty" (every step) or "progress" (a
// character per step); "junit" and "cucumber" work too. -godog.format and
// WEGO_BDD_FORMAT override it. Default: "pretty" with go test -v,
// "progress" otherwise.
func Format(name string) Option {
	return optionFunc(func(c *config) { c.format = name })
}

// Randomize sets the seed of the order of the scenarios of each feature:
// 0 runs them in file order, -1 picks a random seed. -godog.random and
// WEGO_BDD_SEED override it. Default: -1, and Run logs the seed it picked.
func Randomize(seed int64) Option {
	return optionFunc(func(c *config) { c.seed = seed })
}

// Output sets where godog's formatter writes. Default: standard output.
func Output(w io.Writer) Option {
	return optionFunc(func(c *config) { c.output = w })
}

// HTTPClient sets the client of the requests sent to a service set with
// `Given the service at "..."`. Default: a client with a 30 s timeout.
func HTTPClient(cl *http.Client) Option {
	if cl == nil {
		panic("bdd: HTTPClient(nil)")
	}
	return optionFunc(func(c *config) { c.client = cl })
}
