package recovery_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/log"
	"github.com/wegomesh/wego/middleware/recovery"
)

func Example() {
	core, logs := observer.New(zapcore.ErrorLevel) // a real program logs to its zap logger
	mw, err := recovery.New(recovery.DefaultConfig(), recovery.WithLogger(zap.New(core)))
	if err != nil {
		panic(err)
	}
	c := catalog.New()
	c.UseServerSide(mw)
	div, _ := catalog.RegisterIn(c, "calc.Div", func(_ context.Context, n int) (int, error) {
		return 100 / n, nil
	})

	id, _ := log.ParseRequestID("req-1")
	_, err = div.Call(log.ContextWithRequestID(context.Background(), id), 0)

	// The caller gets a plain internal error...
	e, _ := errs.As(err)
	fmt.Println(e.Code(), e.Status(), e.Message())
	// ...whose cause, for logs, is the panic.
	var pe *recovery.PanicError
	fmt.Println(errors.As(err, &pe), pe)
	// The log line has the panic and the stack.
	line := logs.All()[0].ContextMap()
	fmt.Println(line["command"], line["request_id"], line["panic"])
	fmt.Println(strings.HasPrefix(line["stack"].(string), "goroutine "))
	// Output:
	// internal 500 An internal error occurred.
	// true panic: runtime error: integer divide by zero
	// calc.Div req-1 runtime error: integer divide by zero
	// true
}
