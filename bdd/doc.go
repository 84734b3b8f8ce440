// Package bdd runs Gherkin feature files against a WeGO application inside
// go test, with a library of steps for commands, fakes, HTTP, audit records
// and logs. It is built on godog (github.com/cucumber/godog).
//
// Use it for behaviour that a product owner should be able to read: the
// features live beside the code, run with go test ./..., and talk about
// commands, responses and errors rather than Go types.
//
//	func TestFeatures(t *testing.T) {
//		bdd.Run(t,
//			bdd.Setup(func(w *bdd.World) error {
//				_, err := catalog.ReplaceDep(w.Catalog, inventory.Store, memory.New())
//				return err
//			}),
//		)
//	}
//
// with features/reserve.feature:
//
//	Feature: Reserving stock
//	  Scenario: an unknown SKU
//	    When I call "inventory.Reserve" with:
//	      """
//	      {"sku": "kiwi", "qty": 1}
//	      """
//	    Then the call fails with code "inventory.unknown_sku"
//	    And the error message in "es" is "El SKU kiwi no existe."
//
// # Running
//
// Run makes each scenario a subtest. It reads "features" in the package
// directory unless Paths says otherwise; -godog.tags and -godog.paths (or
// WEGO_BDD_TAGS and WEGO_BDD_PATHS) choose what runs:
//
//	go test ./inventory -run TestFeatures -godog.tags='@smoke && ~@wip'
//
// A step that no definition matches fails its scenario and names the step.
// Scenarios run in a random order; the seed is logged and -godog.random=SEED
// replays it.
//
// # The world
//
// Every scenario gets a fresh World: a clone of the base catalog
// (catalog.Default unless Catalog says otherwise) carried by the context of
// every call it makes, its own observed logger, audit recorder, recorded
// calls and HTTP handler. Fakes installed by steps live in that clone, so
// they vanish with the scenario; Setup functions wire middleware and fresh
// dependencies into it. Dependency values are shared by clones: replace
// stateful ones per scenario.
//
// # Steps
//
// The built-in vocabulary (see Vocabulary, and docs/bdd-steps.md rendered
// from it) calls commands by name, checks responses as JSON documents or
// field by field, checks error codes, statuses and localized messages,
// replaces commands and dependencies with canned responses, errors or named
// fakes, counts and inspects calls, sends HTTP requests to the
// application's handler (or to a running service) and inspects audit
// records and log lines. Add your own steps with Steps or Suite.AddSteps:
// they get the scenario's World and register next to the built-in ones.
//
// Run needs the *testing.T of a real test, so the runnable example drives
// godog with Suite.InitializeScenario instead.
package bdd
