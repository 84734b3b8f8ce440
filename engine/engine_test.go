package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// noLeaks fails the test if goroutines it started are still running when
// it ends (after its other cleanups, which run first).
func noLeaks(t *testing.T) {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
}

// logs returns a logger whose lines, from debug up, the test can read.
func logs() (*zap.Logger, *observer.ObservedLogs) {
	core, obs := observer.New(zapcore.DebugLevel)
	return zap.New(core), obs
}

// embedded returns the configuration of an embedded server on a free
// loopback port, JetStream in a directory of the test.
func embedded(t *testing.T) Config {
	cfg := DefaultConfig()
	cfg.Server.Listen = "127.0.0.1:-1"
	cfg.Server.StoreDir = t.TempDir()
	return cfg
}

// external returns the configuration of a connection to urls that
// reconnects quickly.
func external(urls ...string) Config {
	cfg := DefaultConfig()
	cfg.URLs = urls
	cfg.ReconnectWait = 50 * time.Millisecond
	return cfg
}

// start starts an engine that the test closes when it ends.
func start(t *testing.T, cfg Config, logger *zap.Logger) *Engine {
	t.Helper()
	if logger == nil {
		logger = zap.NewNop()
	}
	e, err := Start(t.Context(), cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return e
}

// echo serves subject on e's connection, answering each request with
// prefix and the request.
func echo(t *testing.T, e *Engine, subject, prefix string) {
	t.Helper()
	_, err := e.Conn().Subscribe(subject, func(m *nats.Msg) {
		_ = m.Respond(append([]byte(prefix), m.Data...))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
}

// eventually fails the test unless cond becomes true within d.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(d); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("not %s after %s", what, d)
		}
	}
}

// freeAddr returns a loopback address where nothing listens (as far as
// this test knows).
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

func hostPort(t *testing.T, url string) string {
	t.Helper()
	_, hp, ok := strings.Cut(url, "://")
	if !ok {
		t.Fatalf("%q has no scheme", url)
	}
	return hp
}

func TestEmbeddedStartAndClose(t *testing.T) {
	noLeaks(t)
	logger, obs := logs()
	cfg := embedded(t)
	e, err := Start(t.Context(), cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	if !e.Ready() || e.Server() == nil {
		t.Fatalf("ready %v, server %v", e.Ready(), e.Server())
	}
	url := e.ClientURL()
	if !strings.HasPrefix(url, "nats://127.0.0.1:") || strings.HasSuffix(url, ":4222") || strings.HasSuffix(url, ":-1") {
		t.Fatalf("client URL %q", url)
	}
	echo(t, e, "svc.echo", "in-process ")
	msg, err := e.Conn().Request("svc.echo", []byte("hi"), time.Second)
	if err != nil || string(msg.Data) != "in-process hi" {
		t.Fatalf("request: %v %q", err, msgData(msg))
	}

	// Other processes reach the server at its client URL.
	other, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	msg, err = other.Request("svc.echo", []byte("there"), time.Second)
	other.Close()
	if err != nil || string(msg.Data) != "in-process there" {
		t.Fatalf("request over TCP: %v %q", err, msgData(msg))
	}

	js, err := e.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.CreateKeyValue(t.Context(), jetstream.KeyValueConfig{Bucket: "engine"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(t.Context(), "k", []byte("v")); err != nil {
		t.Fatal(err)
	}

	if err := e.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if e.Ready() || !e.Conn().IsClosed() || e.Server().Running() {
		t.Fatalf("after Close: ready %v, closed %v, running %v", e.Ready(), e.Conn().IsClosed(), e.Server().Running())
	}
	if err := e.Close(t.Context()); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if obs.FilterMessage("nats: embedded server ready").FilterField(zap.String("url", url)).Len() != 1 {
		t.Fatalf("no start line with the URL: %v", obs.All())
	}
	if n := obs.FilterMessage("nats: connection closed after the last reconnect attempt (nats.max_reconnects)").Len(); n != 0 {
		t.Fatal("Close logged as a lost connection")
	}
}

func msgData(m *nats.Msg) string {
	if m == nil {
		return ""
	}
	return string(m.Data)
}

func TestTemporaryStoreDirIsRemoved(t *testing.T) {
	noLeaks(t)
	cfg := embedded(t)
	cfg.Server.StoreDir = ""
	e := start(t, cfg, nil)
	dir := e.tempDir
	if _, err := os.Stat(dir); dir == "" || err != nil {
		t.Fatalf("store dir %q: %v", dir, err)
	}
	if err := e.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s left behind: %v", dir, err)
	}
}

func TestJetStreamOff(t *testing.T) {
	noLeaks(t)
	cfg := embedded(t)
	cfg.Server.JetStream = false
	cfg.Server.StoreDir = ""
	e := start(t, cfg, nil)
	if _, err := e.JetStream(); !errors.Is(err, ErrNoJetStream) {
		t.Fatalf("JetStream: %v", err)
	}
	if e.tempDir != "" {
		t.Fatalf("a store directory %s without JetStream", e.tempDir)
	}
}

func TestExternalServers(t *testing.T) {
	noLeaks(t)
	srv := start(t, embedded(t), nil)
	echo(t, srv, "svc.echo", "served ")
	// The second URL answers nothing; the connection uses the first.
	e := start(t, external(srv.ClientURL(), "nats://"+freeAddr(t)), nil)
	if e.Server() != nil {
		t.Fatal("an external engine embeds a server")
	}
	if e.ClientURL() != srv.ClientURL() {
		t.Fatalf("client URL %q, want %q", e.ClientURL(), srv.ClientURL())
	}
	msg, err := e.Conn().Request("svc.echo", []byte("x"), time.Second)
	if err != nil || string(msg.Data) != "served x" {
		t.Fatalf("request: %v %q", err, msgData(msg))
	}
	if _, err := e.JetStream(); err != nil {
		t.Fatal(err)
	}
}

func TestReadinessFollowsTheServer(t *testing.T) {
	noLeaks(t)
	logger, obs := logs()
	cfg := embedded(t)
	srv, err := Start(t.Context(), cfg, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	url := srv.ClientURL()
	e := start(t, external(url), logger)
	if !e.Ready() {
		t.Fatal("not ready after Start")
	}

	if err := srv.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "unready while the server is down", func() bool { return !e.Ready() })
	// While disconnected, a request fails at once instead of waiting.
	began := time.Now()
	if _, err := e.Conn().Request("svc.echo", nil, 2*time.Second); !errors.Is(err, nats.ErrReconnectBufExceeded) || time.Since(began) > time.Second {
		t.Fatalf("request while disconnected: %v after %s", err, time.Since(began))
	}
	// The client's status changes before its disconnection handler logs.
	eventually(t, 5*time.Second, "a disconnection line with the URL", func() bool {
		return obs.FilterMessage("nats: disconnected, reconnecting").FilterField(zap.String("url", url)).Len() > 0
	})

	// The server comes back on the same port.
	cfg.Server.Listen = hostPort(t, url)
	srv = start(t, cfg, nil)
	eventually(t, 5*time.Second, "ready once the server is back", e.Ready)
	echo(t, srv, "svc.echo", "back ")
	msg, err := e.Conn().Request("svc.echo", []byte("!"), time.Second)
	if err != nil || string(msg.Data) != "back !" {
		t.Fatalf("request after reconnecting: %v %q", err, msgData(msg))
	}
	if obs.FilterMessage("nats: reconnected").FilterField(zap.String("url", url)).Len() != 1 {
		t.Fatalf("no reconnection line with the URL: %v", obs.All())
	}
}

func TestStartFailsNamingTheURLs(t *testing.T) {
	noLeaks(t)
	a, b := "nats://"+freeAddr(t), "nats://wego:secret@"+freeAddr(t)
	cfg := external(a, b)
	cfg.ConnectTimeout = 500 * time.Millisecond
	began := time.Now()
	_, err := Start(t.Context(), cfg, zap.NewNop())
	if err == nil {
		t.Fatal("started with no server")
	}
	if msg := err.Error(); !strings.Contains(msg, a) || !strings.Contains(msg, strings.Replace(b, "secret", "xxxxx", 1)) || strings.Contains(msg, "secret") {
		t.Fatalf("error %q does not name the URLs (password hidden)", msg)
	}
	if !errors.Is(err, nats.ErrNoServers) {
		t.Fatalf("error %v is not nats.ErrNoServers", err)
	}
	if d := time.Since(began); d > 2*time.Second {
		t.Fatalf("failing took %s", d)
	}
}

func TestWaitAtStart(t *testing.T) {
	noLeaks(t)
	addr := freeAddr(t)
	logger, obs := logs()
	cfg := external("nats://" + addr)
	cfg.WaitAtStart = true
	cfg.ReconnectWait = 200 * time.Millisecond

	type result struct {
		e   *Engine
		err error
	}
	done := make(chan result, 1)
	go func() {
		e, err := Start(t.Context(), cfg, logger)
		done <- result{e, err}
	}()
	eventually(t, 5*time.Second, "retrying", func() bool {
		return obs.FilterMessage("nats: no server answers, waiting (nats.wait_at_start)").Len() >= 2
	})
	select {
	case r := <-done:
		t.Fatalf("Start returned before a server listened: %v", r.err)
	default:
	}

	srvCfg := embedded(t)
	srvCfg.Server.Listen = addr
	start(t, srvCfg, nil)
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	defer func() {
		if err := r.e.Close(t.Context()); err != nil {
			t.Error(err)
		}
	}()
	if !r.e.Ready() {
		t.Fatal("not ready")
	}
	line := obs.FilterMessage("nats: no server answers, waiting (nats.wait_at_start)").All()[0]
	if line.ContextMap()["urls"] != "nats://"+addr || line.ContextMap()["attempt"] != int64(1) {
		t.Fatalf("retry line %v", line.ContextMap())
	}
}

func TestWaitAtStartEndsWithTheContext(t *testing.T) {
	noLeaks(t)
	cfg := external("nats://" + freeAddr(t))
	cfg.WaitAtStart = true
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	_, err := Start(ctx, cfg, zap.NewNop())
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), cfg.URLs[0]) {
		t.Fatalf("got %v", err)
	}
}

func TestPortTaken(t *testing.T) {
	noLeaks(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cfg := embedded(t)
	cfg.Server.Listen = l.Addr().String()
	began := time.Now()
	_, err = Start(t.Context(), cfg, zap.NewNop())
	if err == nil || !strings.Contains(err.Error(), "listen "+l.Addr().String()) || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("got %v", err)
	}
	if d := time.Since(began); d > 2*time.Second {
		t.Fatalf("failing took %s", d)
	}
}

// Three embedded servers form one cluster over loopback routes; an engine
// connected to one node calls a service connected to another.
func TestCluster(t *testing.T) {
	noLeaks(t)
	node := func(name string, routes ...string) *Engine {
		cfg := embedded(t)
		cfg.Server.Name = name
		cfg.Server.Cluster = ClusterConfig{Name: "wego-test", Listen: "127.0.0.1:-1", Routes: routes}
		return start(t, cfg, nil)
	}
	a := node("a")
	route := "nats-route://" + a.Server().ClusterAddr().String()
	b := node("b", route)
	c := node("c", route)
	nodes := []*Engine{a, b, c}
	eventually(t, 10*time.Second, "a full mesh", func() bool {
		for _, n := range nodes {
			if routed(n) != 2 {
				return false
			}
		}
		return true
	})

	echo(t, a, "svc.echo", "from a: ")
	// A client of node c, connected over TCP like another process.
	client := start(t, external(c.ClientURL()), nil)
	for _, caller := range []*Engine{b, client} {
		var msg *nats.Msg
		var err error
		eventually(t, 5*time.Second, "answered across the cluster", func() bool {
			msg, err = caller.Conn().Request("svc.echo", []byte("hello"), time.Second)
			return !errors.Is(err, nats.ErrNoResponders)
		})
		if err != nil || string(msg.Data) != "from a: hello" {
			t.Fatalf("request: %v %q", err, msgData(msg))
		}
	}
}

// routed returns the number of other servers e's server has a route to.
func routed(e *Engine) int {
	rz, err := e.Server().Routez(nil)
	if err != nil {
		return 0
	}
	seen := map[string]bool{}
	for _, r := range rz.Routes {
		seen[r.RemoteID] = true
	}
	return len(seen)
}

// Close drains: a request that a subscription is serving when Close begins
// gets its answer.
func TestCloseDrains(t *testing.T) {
	noLeaks(t)
	srv := start(t, embedded(t), nil)
	service := start(t, external(srv.ClientURL()), nil)
	caller := start(t, external(srv.ClientURL()), nil)

	serving := make(chan struct{})
	_, err := service.Conn().Subscribe("svc.slow", func(m *nats.Msg) {
		close(serving)
		time.Sleep(300 * time.Millisecond)
		_ = m.Respond([]byte("done"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := service.Conn().Flush(); err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	var reply *nats.Msg
	var reqErr error
	wg.Go(func() { reply, reqErr = caller.Conn().Request("svc.slow", nil, 5*time.Second) })
	<-serving
	began := time.Now()
	if err := service.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if reqErr != nil || string(reply.Data) != "done" {
		t.Fatalf("in-flight request: %v %q", reqErr, msgData(reply))
	}
	if d := time.Since(began); d < 200*time.Millisecond {
		t.Fatalf("Close returned after %s, before the handler finished", d)
	}
}

func TestCloseIsBounded(t *testing.T) {
	noLeaks(t)
	srv := start(t, embedded(t), nil)
	caller := start(t, external(srv.ClientURL()), nil)
	for _, tc := range []struct {
		name  string
		drain time.Duration
		ctx   time.Duration
		want  string
	}{
		{"by drain_timeout", 100 * time.Millisecond, time.Minute, "nats.drain_timeout (100ms)"},
		{"by the context", time.Minute, 100 * time.Millisecond, context.DeadlineExceeded.Error()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := external(srv.ClientURL())
			cfg.DrainTimeout = tc.drain
			service, err := Start(t.Context(), cfg, zap.NewNop())
			if err != nil {
				t.Fatal(err)
			}
			release := make(chan struct{})
			serving := make(chan struct{})
			_, err = service.Conn().Subscribe("svc.stuck."+fmt.Sprint(tc.drain), func(m *nats.Msg) {
				close(serving)
				<-release
			})
			if err != nil {
				t.Fatal(err)
			}
			_ = service.Conn().Flush()
			_ = caller.Conn().PublishRequest("svc.stuck."+fmt.Sprint(tc.drain), "nobody", nil)
			<-serving
			ctx, cancel := context.WithTimeout(t.Context(), tc.ctx)
			defer cancel()
			began := time.Now()
			err = service.Close(ctx)
			close(release)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Close: %v, want %q", err, tc.want)
			}
			if d := time.Since(began); d > 2*time.Second {
				t.Fatalf("Close took %s", d)
			}
		})
	}
}

func TestJetStreamCannotStart(t *testing.T) {
	noLeaks(t)
	file := t.TempDir() + "/not-a-directory"
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := embedded(t)
	cfg.Server.StoreDir = file
	_, err := Start(t.Context(), cfg, zap.NewNop())
	if err == nil || !strings.Contains(err.Error(), "JetStream") {
		t.Fatalf("got %v", err)
	}
}

func TestEmbeddedServerSyncsAlwaysByDefault(t *testing.T) {
	e := start(t, embedded(t), nil)
	if jc := e.Server().JetStreamConfig(); jc == nil || !jc.SyncAlways {
		t.Fatalf("the embedded server's JetStream config %+v does not sync always", jc)
	}
	cfg := embedded(t)
	cfg.Server.SyncInterval = "2m"
	e = start(t, cfg, nil)
	if jc := e.Server().JetStreamConfig(); jc == nil || jc.SyncAlways || jc.SyncInterval != 2*time.Minute {
		t.Fatalf("with sync_interval 2m, the embedded server's JetStream config is %+v", jc)
	}
}
