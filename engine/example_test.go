package engine_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/zap"

	"github.com/wegomesh/wego/config"
	"github.com/wegomesh/wego/engine"
	wlog "github.com/wegomesh/wego/log"
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

// A key-value bucket laid over a configuration: a change of the bucket, as
// nats kv put wego-config log.level debug makes, reaches the subscribers of
// the configuration, and a value that does not validate is refused.
func ExampleEngine_ConfigSource() {
	ctx := context.Background()
	cfg := engine.DefaultConfig()
	cfg.Server.Listen = "127.0.0.1:-1" // any free port
	e, err := engine.Start(ctx, cfg, zap.NewNop())
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close(ctx)

	c, err := config.Load(config.Defaults(map[string]any{"log.level": "info"}))
	if err != nil {
		log.Fatal(err)
	}
	levels := make(chan string, 1)
	stop, err := config.Watch(c, "log", wlog.DefaultConfig(), func(l wlog.Config) { levels <- l.Level })
	if err != nil {
		log.Fatal(err)
	}
	defer stop()
	fmt.Println("from the defaults:", <-levels)

	src, err := e.ConfigSource("wego-config")
	if err != nil {
		log.Fatal(err)
	}
	if err := c.Attach(ctx, src); err != nil { // creates the bucket, reads it and follows it
		log.Fatal(err)
	}
	defer c.Close()

	js, _ := e.JetStream()
	kv, err := js.KeyValue(ctx, "wego-config")
	if err != nil {
		log.Fatal(err)
	}
	for _, level := range []string{"verbose", "debug"} { // an invalid level reaches no subscriber
		if _, err := kv.PutString(ctx, "log.level", level); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println("from the bucket:", <-levels)
	// Output:
	// from the defaults: info
	// from the bucket: debug
}
