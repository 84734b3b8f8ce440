package bdd_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/cucumber/godog"

	"github.com/wegomesh/wego/bdd"
	"github.com/wegomesh/wego/catalog"
)

type GreetRequest struct {
	Name string `json:"name"`
}

type GreetResponse struct {
	Greeting string `json:"greeting"`
}

// In a test, bdd.Run(t, ...) runs the features as subtests. Without a
// *testing.T, as here or under the godog command, a Suite gives godog's own
// runner its scenario initializer: built-in steps, the application's own
// steps, and a fresh world per scenario.
func ExampleSuite_InitializeScenario() {
	cat := catalog.New()
	if _, err := catalog.RegisterIn(cat, "greeter.Greet",
		func(_ context.Context, r GreetRequest) (GreetResponse, error) {
			return GreetResponse{Greeting: "Hello, " + r.Name}, nil
		}); err != nil {
		panic(err)
	}

	s := bdd.New(bdd.Catalog(cat))
	s.AddSteps(func(sc *godog.ScenarioContext, w *bdd.World) {
		sc.Step(`^the greeting is polite$`, func() error {
			if r := w.Response(); r == nil || !strings.Contains(string(r.Body), "Hello") {
				return errors.New("the greeting is rude")
			}
			return nil
		})
	})

	feature := `Feature: greetings
  Scenario: a greeting by name
    When I call "greeter.Greet" with:
      | name | Ada |
    Then the response field "greeting" is "Hello, Ada"
    And the greeting is polite
    And "greeter.Greet" was called 1 time
`
	status := godog.TestSuite{
		Name:                "greeter",
		ScenarioInitializer: s.InitializeScenario,
		Options: &godog.Options{
			Format:          "progress",
			Output:          io.Discard,
			Strict:          true,
			FeatureContents: []godog.Feature{{Name: "greet.feature", Contents: []byte(feature)}},
		},
	}.Run()
	fmt.Println("godog status:", status)
	// Output: godog status: 0
}

// The vocabulary lists the built-in steps, as docs/bdd-steps.md does.
func ExampleVocabulary() {
	for _, s := range bdd.Vocabulary() {
		if s.Section == "Recorded calls" {
			fmt.Println(s.Example)
		}
	}
	// Output:
	// Then "inventory.Reserve" was called 1 time
	// Then "payments.Charge" was not called
	// Then "inventory.Reserve" was called with:
}
