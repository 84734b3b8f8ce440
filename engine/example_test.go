package engine_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/zap"

	"github.com/wegomesh/wego/engine"
)

// An application embeds a NATS server and serves and calls over the
// engine's connection. A real program reads the configuration with
// engine.LoadConfig and keeps the default listen address, 127.0.0.1:4222.
func Example() {
	ctx := context.Background()
	cfg := engine.DefaultConfig()
	cfg.Server.Listen = "127.0.0.1:-1" // any free port
	cfg.Server.JetStream = false

	e, err := engine.Start(ctx, cfg, zap.NewNop())
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close(ctx)

	nc := e.Conn()
	_, err = nc.QueueSubscribe("greeter.Hello", "greeter", func(m *nats.Msg) {
		_ = m.Respond([]byte("hello, " + string(m.Data)))
	})
	if err != nil {
		log.Fatal(err)
	}
	reply, err := nc.Request("greeter.Hello", []byte("mesh"), time.Second)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(reply.Data))
	fmt.Println("ready:", e.Ready())
	// Output:
	// hello, mesh
	// ready: true
}
