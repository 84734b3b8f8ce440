package bdd_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/cucumber/godog"

	"github.com/wegomesh/wego/bdd"
)

// runFeature runs one feature, given as text, through a nested godog suite
// (no subtests of t), with the application of features_test.go, and
// returns godog's status and output.
func runFeature(t *testing.T, feature string, opts ...bdd.Option) (int, string) {
	t.Helper()
	base, store := newCatalog(t)
	var out bytes.Buffer
	all := append([]bdd.Option{
		bdd.Catalog(base),
		bdd.I18n(newBundle(t)),
		bdd.Setup(wire(store)),
		bdd.Fakes(fakes()),
		bdd.Steps(storeSteps(store)),
	}, opts...)
	s := bdd.New(all...)
	o, err := s.Options()
	if err != nil {
		t.Fatal(err)
	}
	// What the command line or the environment chose does not apply here.
	o.Paths, o.Tags, o.Randomize = nil, "", 0
	o.Format, o.NoColors, o.Output = "pretty", true, &out
	o.FeatureContents = []godog.Feature{{Name: t.Name() + ".feature", Contents: []byte(feature)}}
	status := godog.TestSuite{Name: t.Name(), ScenarioInitializer: s.InitializeScenario, Options: o}.Run()
	return status, out.String()
}

// feature wraps steps in a feature with one scenario.
func feature(steps string) string {
	return "Feature: f\n  Scenario: s\n" + steps
}

// TestStepsFail proves that each checking step fails when what it checks
// is not so, with a message that says what was found instead.
func TestStepsFail(t *testing.T) {
	const reserveApple = `    When I call "inventory.Reserve" with:
      | sku | apple |
      | qty | 2     |
`
	const reserveKiwi = `    When I call "inventory.Reserve" with:
      | sku | kiwi |
      | qty | 1    |
`
	const confirm = `    When I call "orders.Confirm" with:
      | order_id | o-1 |
      | qty      | 2   |
`
	const post = `    When I send "POST" to "/inventory/reserve" with:
      | sku | apple |
      | qty | 2     |
`
	tests := []struct {
		name, steps, want string
	}{
		{"no response yet", `    Then the call succeeds
`, "no command was called and no request was sent"},
		{"unknown command", `    When I call "nope.Nope"
`, `no command "nope.Nope" in the catalog (it has health.Check, inventory.Reserve, orders.Confirm, orders.Confirmed, orders.Get, orders.Place, shipping.OnConfirmed)`},
		{"unknown request field", `    When I call "inventory.Reserve" with:
      | skew | apple |
`, `does not decode into bdd_test.ReserveRequest: "skew" is not a known field`},
		{"request field in another case", `    When I call "inventory.Reserve" with:
      | SKU | apple |
`, `does not decode into bdd_test.ReserveRequest: "SKU" is not a known field`},
		{"request field given twice", `    When I call "inventory.Reserve" with:
      """
      {"sku": "apple", "sku": "kiwi"}
      """
`, `the doc string is not a JSON document: "sku" is given twice`},
		{"not JSON", `    When I call "inventory.Reserve" with:
      """
      {sku: apple}
      """
`, "the doc string is not a JSON document: the value is not valid JSON (at byte 2)"},
		{"no argument", `    When I call "inventory.Reserve" with:
`, "the step needs a JSON doc string"},
		{"succeeds", reserveKiwi + `    Then the call succeeds
`, `the call failed with code "inventory.unknown_sku" (status 404)`},
		{"field is", reserveApple + `    Then the response field "sku" is "pear"
`, `the response field "sku" is "apple", not "pear"`},
		{"field number", reserveApple + `    Then the response field "left" is "9"
`, `the response field "left" is 8, not "9"`},
		{"field missing", reserveApple + `    Then the response field "items[0]" is "x"
`, `the response has no field "items[0]"`},
		{"field UUID", reserveApple + `    Then the response field "sku" is a UUID
`, `the response field "sku" is "apple", not a UUID`},
		{"field not empty", reserveApple + `    Then the response field "tags" is not empty
`, `the response has no field "tags"`},
		{"field absent", reserveApple + `    Then the response field "sku" is absent
`, `the response field "sku" is present: "apple"`},
		{"bad path", reserveApple + `    Then the response field "a..b" is "x"
`, `path "a..b" has an empty name`},
		{"contains", reserveApple + `    Then the response contains:
      """
      {"left": 9}
      """
`, `at "left": want 9, got 8`},
		{"is, extra member", reserveApple + `    Then the response is:
      """
      {"sku": "apple", "qty": 2, "left": 8}
      """
`, `at "reservation_id": unexpected member`},
		{"response of a failed call", reserveKiwi + `    Then the response contains:
      | sku | kiwi |
`, `the call failed with code "inventory.unknown_sku"`},
		{"fails, but succeeded", reserveApple + `    Then the call fails with code "inventory.unknown_sku"
`, "the call succeeded; the response has status 200"},
		{"fails with another code", reserveKiwi + `    Then the call fails with code "inventory.out_of_stock"
`, `the call failed with code "inventory.unknown_sku", not "inventory.out_of_stock"`},
		{"fails with another status", reserveKiwi + `    Then the call fails with status 409
`, "the call failed with status 404, not 409"},
		{"message", reserveKiwi + `    Then the error message is "SKU kiwi is known."
`, `the error message is "SKU kiwi is unknown.", not "SKU kiwi is known."`},
		{"message in", reserveKiwi + `    Then the error message in "es" is "No."
`, `the error message in "es" is "El SKU kiwi no existe.", not "No."`},
		{"canned response of the wrong type", `    Given "inventory.Reserve" returns:
      | reservation | r-1 |
`, `the response of inventory.Reserve does not decode into bdd_test.ReserveResponse: "reservation" is not a known field`},
		{"undefined code", `    Given "inventory.Reserve" fails with code "inventory.nope"
`, `error code "inventory.nope" is not defined in this process: define it with errs.Define, or use a kind's code (invalid_argument, not_found`},
		{"params without a table", `    Given "inventory.Reserve" fails with code "not_found" and params:
`, "the step needs a table"},
		{"unknown fake", `    Given "inventory.Reserve" is replaced by "zzz"
`, `no fake named "zzz": the suite names "a string", "echo", "empty store", "out of stock"`},
		{"fake of the wrong type for a command", `    Given "inventory.Reserve" is replaced by "empty store"
`, `fake "empty store" is a *bdd_test.memStore; inventory.Reserve needs a catalog.AnyFunc or a func(context.Context, bdd_test.ReserveRequest) (bdd_test.ReserveResponse, error)`},
		{"fake of the wrong type for a dependency", `    Given the dependency "inventory.store" is replaced by "a string"
`, `fake "a string" is a string, which cannot stand for dependency "inventory.store" of type bdd_test.Store`},
		{"unknown dependency", `    Given the dependency "inventory.nope" is replaced by "empty store"
`, `no dependency "inventory.nope" is provided in the catalog (it has inventory.store, wego.events)`},
		{"called times", reserveApple + `    Then "inventory.Reserve" was called 2 times
`, `inventory.Reserve was called 1 time, not 2 times; the calls' requests:
  1. {"sku":"apple","qty":2}`},
		{"not called", reserveApple + `    Then "inventory.Reserve" was not called
`, "inventory.Reserve was called 1 time, not 0 times"},
		{"called with", reserveApple + `    Then "inventory.Reserve" was called with:
      | qty | 3 |
`, `no call of inventory.Reserve has that request (first call: at "qty": want 3, got 2)`},
		{"called with, never called", `    Then "inventory.Reserve" was called with:
      | qty | 3 |
`, "inventory.Reserve was not called"},
		{"service URL from a missing variable", `    Given the service at "${BDD_TEST_NO_SUCH_VARIABLE}"
`, "needs the environment variables BDD_TEST_NO_SUCH_VARIABLE"},
		{"service URL not absolute", `    Given the service at "localhost:8080"
`, `the service URL "localhost:8080" is not an absolute http or https URL`},
		{"method", `    When I send "post" to "/inventory/reserve"
`, `"post" is not an HTTP method`},
		{"status", post + `    Then the response status is 200
`, "the response status is 201, not 200"},
		{"header", post + `    Then the response header "Content-Type" is "text/plain"
`, `the response header "Content-Type" is ["application/json; charset=utf-8"], not "text/plain"`},
		{"header not empty", post + `    Then the response header "X-Nope" is not empty
`, `the response has no header "X-Nope" (it has Content-Type, X-Content-Type-Options, X-Request-Id)`},
		{"header of a call", reserveApple + `    Then the response header "X-Request-Id" is not empty
`, "the last response is a command's, which has no headers"},
		{"audit outcome", reserveApple + `    Then an audit record for "inventory.Reserve" with outcome "not_found" was written
`, `no audit record for inventory.Reserve with outcome "not_found"; the records:`},
		{"audit with", reserveApple + `    Then an audit record for "inventory.Reserve" was written with:
      | request.qty | 3 |
`, `no audit record for inventory.Reserve matches (first record: at "request.qty": want 3, got 2)`},
		{"no audit", reserveApple + `    Then no audit record for "inventory.Reserve" was written
`, "1 audit records for inventory.Reserve were written"},
		{"log line", reserveApple + `    Then a log line at "warn" contains "call"
`, `no log line at warn contains "call"; the lines:`},
		{"log line fields", reserveKiwi + `    Then a log line at "warn" contains "call" with:
      | command | orders.Place |
`, `field "command" is "inventory.Reserve", not "orders.Place"`},
		{"log level", reserveApple + `    Then a log line at "loud" contains "call"
`, `log level "loud": use debug, info, warn or error`},
		{"no log above", reserveKiwi + `    Then no log line at "info" or above was written
`, "1 log lines at info or above were written"},
		{"not published", reserveApple + `    Then an event "orders.Confirmed" was published
`, "no event was published on orders.Confirmed; no event was published in this scenario"},
		{"published, not a topic", `    Then an event "inventory.Reserve" was published
`, "inventory.Reserve is a command, not a topic"},
		{"published with", confirm + `    Then an event "orders.Confirmed" was published with:
      | qty | 3 |
`, `no event published on orders.Confirmed has that payload (first event: at "qty": want 3, got 2)`},
		{"published, unexpected", confirm + `    Then no event "orders.Confirmed" was published
`, "1 event published on orders.Confirmed"},
		{"received", confirm + `    Then the subscriber "shipping.OnConfirmed" received 2 events
`, "shipping.OnConfirmed received 1 event, not 2 events"},
		{"received, not a subscriber", `    Then the subscriber "orders.Confirmed" received 1 event
`, "orders.Confirmed is not a subscriber"},
		{"received with", confirm + `    Then the subscriber "shipping.OnConfirmed" received an event with:
      | order_id | o-9 |
`, `no event that shipping.OnConfirmed received has that payload`},
		{"custom step", reserveApple + `    Then the store has 9 "apple" left
`, `the store has 8 "apple" left, not 9`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, out := runFeature(t, feature(tt.steps))
			if status == 0 {
				t.Fatalf("the run passed; want a failure with %q\n%s", tt.want, out)
			}
			if os.Getenv("BDD_SHOW") != "" {
				t.Log(out)
			}
			if !strings.Contains(out, tt.want) {
				t.Errorf("the output does not say %q:\n%s", tt.want, out)
			}
		})
	}
}

// TestSetupError proves that a Setup function that fails fails the
// scenario, with its error.
func TestSetupError(t *testing.T) {
	status, out := runFeature(t, feature("    When I call \"health.Check\"\n"),
		bdd.Setup(func(*bdd.World) error { return errors.New("no database") }))
	if status == 0 || !strings.Contains(out, "bdd: setup: no database") {
		t.Errorf("status %d, output:\n%s", status, out)
	}
}

// TestUndefinedStep proves that a step no definition matches fails the run
// of a nested godog suite, and that the output names the step.
func TestUndefinedStep(t *testing.T) {
	undefined, err := os.ReadFile("testdata/undefined/undefined.feature")
	if err != nil {
		t.Fatal(err)
	}
	status, out := runFeature(t, string(undefined))
	if status == 0 {
		t.Fatalf("the run passed; want it to fail on the undefined step:\n%s", out)
	}
	if !strings.Contains(out, "I frobnicate the warp core") || !strings.Contains(out, "undefined") {
		t.Errorf("the output does not name the undefined step:\n%s", out)
	}
}

// TestUndefinedStepFailsRun proves the same of Run in a real go test: it
// runs TestUndefinedStepHelper in a child process and checks that the test
// failed with godog's error naming the step.
func TestUndefinedStepFailsRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child test process")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestUndefinedStepHelper$", "-test.v")
	cmd.Env = append(os.Environ(), "BDD_UNDEFINED_HELPER=1", "WEGO_BDD_PATHS=", "WEGO_BDD_TAGS=")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("the child test did not fail (%v):\n%s", err, out)
	}
	for _, want := range []string{
		"--- FAIL: TestUndefinedStepHelper",
		"step is undefined: I frobnicate the warp core",
	} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("the child's output does not say %q:\n%s", want, out)
		}
	}
}

// TestUndefinedStepHelper runs the undefined step with Run; it fails by
// design, so it runs only as TestUndefinedStepFailsRun's child.
func TestUndefinedStepHelper(t *testing.T) {
	if os.Getenv("BDD_UNDEFINED_HELPER") != "1" {
		t.Skip("run by TestUndefinedStepFailsRun")
	}
	base, _ := newCatalog(t)
	bdd.Run(t, bdd.Catalog(base), bdd.Paths("testdata/undefined"), bdd.Randomize(0))
}
