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

// A command that changes state runs to completion once started: its
// caller's going away does not cut it half-way. The Deadline middleware
// stands in the server chain.
func ExampleRunToCompletion() {
	mw, err := timeout.Deadline(timeout.DefaultDeadlineConfig())
	if err != nil {
		panic(err)
	}
	c := catalog.New()
	c.UseServerSide(mw)

	stock := 10
	started, resume := make(chan struct{}), make(chan struct{})
	reserve, _ := catalog.RegisterIn(c, "inventory.Reserve", func(ctx context.Context, qty int) (int, error) {
		close(started)
		<-resume // the caller gives up meanwhile
		if err := ctx.Err(); err != nil {
			return 0, err // what a command without the policy would see
		}
		stock -= qty
		return stock, nil
	}, catalog.With(timeout.RunToCompletion(5*time.Second)))

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		left, _ := reserve.Call(ctx, 3)
		done <- left
	}()
	<-started
	cancel()
	close(resume)
	fmt.Println("left:", <-done)

	// A call whose caller has gone already never starts.
	_, err = reserve.Call(ctx, 3)
	fmt.Println(errs.CodeOf(err), "stock:", stock)
	// Output:
	// left: 7
	// canceled stock: 7
}
