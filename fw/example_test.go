package fw_test

import (
	"context"
	"fmt"
	"testing/fstest"

	"go.uber.org/zap"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/config"
	"github.com/wegomesh/wego/fw"
)

// An application built from embedded configuration, started and stopped
// explicitly; Run does the same and waits for SIGINT or SIGTERM between.
func Example() {
	cat := catalog.New() // programs usually serve catalog.Default
	greet, _ := catalog.RegisterIn(cat, "hello.Greet", func(_ context.Context, name string) (string, error) {
		return "hello " + name, nil
	})
	defaults := fstest.MapFS{"dev.yaml": {Data: []byte("app:\n  name: hello\n  shutdown_timeout: 5s\n")}}

	app, err := fw.New(
		fw.Catalog(cat),
		fw.Logger(zap.NewNop()),
		fw.ConfigOptions(config.FS(defaults), config.Env("dev"), config.Dir("testdata/none")),
		fw.AfterStart(func(ctx context.Context) error {
			out, err := greet.Call(ctx, "gopher")
			fmt.Println(out)
			return err
		}),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(app.Name())
	if err := app.Start(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(app.Stop(context.Background()))
	// Output:
	// hello
	// hello gopher
	// <nil>
}
