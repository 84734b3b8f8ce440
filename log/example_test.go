package log_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/wegomesh/wego/log"
)

// fixedClock makes the examples' timestamps reproducible.
type fixedClock struct{}

func (fixedClock) Now() time.Time                         { return time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC) }
func (fixedClock) NewTicker(d time.Duration) *time.Ticker { return time.NewTicker(d) }

// A server builds its logger from configuration once, puts it in the
// context with the request id, and code serving the request logs with For.
func Example() {
	l, err := log.New(log.Config{Level: "info", Format: "json", Output: []string{"stdout"}},
		zap.WithClock(fixedClock{}))
	if err != nil {
		panic(err)
	}
	defer l.Sync()

	// In a transport: keep the client's id when it is valid, else make one.
	id, err := log.ParseRequestID("req-42") // from the X-Request-Id header
	if err != nil {
		id = log.NewRequestID()
	}
	ctx := log.WithLogger(context.Background(), l)
	ctx = log.ContextWithCommand(ctx, id, "inventory.Reserve")

	// In the command.
	log.For(ctx).Info("reserved", zap.String("sku", "A-1"), zap.Int("qty", 2))
	log.For(ctx).Debug("not logged at info level")
	// Output:
	// {"level":"info","ts":"2025-01-02T03:04:05Z","msg":"reserved","request_id":"req-42","command":"inventory.Reserve","sku":"A-1","qty":2}
}

// Code written for log/slog writes through the same zap core, with groups
// as nested objects and the request id taken from the context.
func ExampleSlog() {
	// slog stamps records itself; this example drops the time to keep its
	// output stable. A real program passes the logger from New.
	ec := log.EncoderConfig("json")
	ec.TimeKey = ""
	l := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(ec), zapcore.Lock(os.Stdout), zapcore.InfoLevel))

	logger := log.Slog(l.Named("billing")).With("service", "billing")
	ctx := log.ContextWithRequestID(context.Background(), mustParseID("req-7"))
	logger.WarnContext(ctx, "card declined",
		slog.Group("card", "brand", "visa", "last4", "4242"),
		slog.Int("attempt", 2))
	logger.Debug("not logged at info level")
	// Output:
	// {"level":"warn","logger":"billing","msg":"card declined","service":"billing","request_id":"req-7","card":{"brand":"visa","last4":"4242"},"attempt":2}
}

// Middleware check the level before building fields, so that a disabled
// level costs nothing.
func ExampleAppendFields() {
	l, _ := log.New(log.Config{Output: []string{"stdout"}}, zap.WithClock(fixedClock{}))
	ctx := log.ContextWithCommand(context.Background(), mustParseID("req-9"), "inventory.Reserve")
	ctx = log.WithLogger(ctx, l)

	if ce := log.FromContext(ctx).Check(zap.InfoLevel, "call done"); ce != nil {
		var buf [4]zap.Field // declared here, so that it escapes only when used
		fields := append(log.AppendFields(ctx, buf[:0]), zap.Duration("took", 1500*time.Millisecond))
		ce.Write(fields...)
	}
	// Output:
	// {"level":"info","ts":"2025-01-02T03:04:05Z","msg":"call done","request_id":"req-9","command":"inventory.Reserve","took":1.5}
}

func ExampleParseRequestID() {
	for _, header := range []string{"req-42", "", "has space", "0f8fad5b-d9cb-469f-a165-70867728950e"} {
		id, err := log.ParseRequestID(header)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println("accepted", id)
	}
	// Output:
	// accepted req-42
	// log: invalid request id: empty
	// log: invalid request id "has space": character at byte 3 not allowed (want A-Z, a-z, 0-9, '.', '_', ':' or '-')
	// accepted 0f8fad5b-d9cb-469f-a165-70867728950e
}

func mustParseID(s string) log.RequestID {
	id, err := log.ParseRequestID(s)
	if err != nil {
		panic(err)
	}
	return id
}
