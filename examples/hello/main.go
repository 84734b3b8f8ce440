// Command hello is the smallest WeGO program: it registers a command from
// init, runs the application, calls the command through its typed handle
// and by name, and stops.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/fw"
)

// GreetRequest is the request of hello.Greet.
type GreetRequest struct {
	Name string `json:"name"`
}

// GreetResponse is the response of hello.Greet.
type GreetResponse struct {
	Text string `json:"text"`
}

// Greet is the typed handle of hello.Greet.
var Greet = catalog.Register("hello.Greet", greet, catalog.Doc("Greets someone by name"))

func greet(_ context.Context, req GreetRequest) (GreetResponse, error) {
	if req.Name == "" {
		return GreetResponse{}, errs.InvalidArgument(errs.Field("name", "must not be empty"))
	}
	return GreetResponse{Text: "hello " + req.Name}, nil
}

func main() {
	app, err := fw.New(fw.Name("hello"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx := context.Background()
	if err := app.Start(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	resp, err := Greet.Call(ctx, GreetRequest{Name: "gopher"})
	fmt.Println(resp.Text, err)

	var byName GreetResponse
	err = catalog.Call(ctx, "hello.Greet", &GreetRequest{}, &byName)
	fmt.Println(errs.CodeOf(err), "-", errs.From(err).Message())

	if err := app.Stop(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
