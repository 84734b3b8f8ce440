package timeout_test

import (
	"context"
	"fmt"
	"time"

	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/middleware/timeout"
)

func Example() {
	mw, err := timeout.New(timeout.Config{Default: 10 * time.Second})
	if err != nil {
		panic(err)
	}
	c := catalog.New()
	c.UseClientSide(mw)

	// This command asks for a shorter timeout than the default.
	slow, _ := catalog.RegisterIn(c, "report.Build", func(ctx context.Context, _ string) (string, error) {
		<-ctx.Done() // a slow dependency
		return "", ctx.Err()
	}, catalog.With(timeout.Key.Value(10*time.Millisecond)))

	_, err = slow.Call(context.Background(), "monthly")
	fmt.Println(errs.CodeOf(err))
	// Output: deadline_exceeded
}
