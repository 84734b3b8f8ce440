package config_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/wegomesh/wego/config"
)

// waitTimeout bounds every wait for the watcher; it is generous because
// -race and busy machines slow file system notifications down.
const waitTimeout = 10 * time.Second

// watched is a Config on a temporary directory, with a watcher running, a
// subscriber on the http section and a recording logger.
type watched struct {
	c       *config.Config
	dir     string
	updates chan HTTP
	logs    *observer.ObservedLogs
}

func startWatched(t *testing.T, content string, opts ...config.Option) *watched {
	t.Helper()
	w := &watched{dir: t.TempDir(), updates: make(chan HTTP, 100)}
	writeFile(t, w.dir, "dev.yaml", content)
	core, logs := observer.New(zapcore.DebugLevel)
	w.logs = logs
	c, err := config.Load(append([]config.Option{
		config.Dir(w.dir), environ(), config.Logger(zap.New(core)), config.Debounce(50 * time.Millisecond),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	w.c = c
	stop, err := config.Watch(c, "http", HTTP{Port: 1}, func(h HTTP) { w.updates <- h })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	if got := w.next(t); got.Port != portOf(content) {
		t.Fatalf("first call of fn: %+v", got)
	}
	if err := c.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return w
}

// portOf returns the port in a "http: {port: N}" document, or the default.
func portOf(content string) int {
	var port int
	if _, err := fmt.Sscanf(content[strings.Index(content, "port:")+len("port:"):], "%d", &port); err != nil {
		return 1
	}
	return port
}

func (w *watched) next(t *testing.T) HTTP {
	t.Helper()
	select {
	case h := <-w.updates:
		return h
	case <-time.After(waitTimeout):
		t.Fatal("no update")
		return HTTP{}
	}
}

// quiet fails if fn is called within d.
func (w *watched) quiet(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case h := <-w.updates:
		t.Fatalf("unexpected update %+v", h)
	case <-time.After(d):
	}
}

// waitLog waits for n log entries with the message msg.
func (w *watched) waitLog(t *testing.T, msg string, n int) []observer.LoggedEntry {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		entries := w.logs.FilterMessage(msg).All()
		if len(entries) >= n {
			return entries
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d log entries %q, want %d; all: %v", len(entries), msg, n, w.logs.All())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

const (
	msgReloaded = "config: reloaded"
	msgRejected = "config: reload rejected; keeping the previous configuration"
)

func TestWatchDeliversValidChange(t *testing.T) {
	t.Parallel()
	w := startWatched(t, "http:\n  port: 8080\n")
	writeFile(t, w.dir, "dev.yaml", "http:\n  port: 9090\n  host: new\n")
	if got := w.next(t); got.Port != 9090 || got.Host != "new" {
		t.Errorf("update %+v", got)
	}
	if got := w.c.Int("http.port"); got != 9090 {
		t.Errorf("http.port = %d after reload", got)
	}
}

func TestWatchRejectsInvalidChange(t *testing.T) {
	t.Parallel()
	w := startWatched(t, "http:\n  port: 8080\n")
	path := writeFile(t, w.dir, "dev.yaml", "http:\n  port: abc\n")
	entries := w.waitLog(t, msgRejected, 1)
	e := entries[0]
	if e.Level != zapcore.ErrorLevel || e.ContextMap()["key"] != "http.port" || e.ContextMap()["file"] != path ||
		!strings.Contains(fmt.Sprint(e.ContextMap()["error"]), `cannot parse "abc" as int`) {
		t.Errorf("log entry %v %v", e.Level, e.ContextMap())
	}
	w.quiet(t, 200*time.Millisecond)
	if got, err := config.Get[HTTP](w.c, "http"); err != nil || got.Port != 8080 {
		t.Errorf("after a rejected reload: %+v, %v", got, err)
	}

	// Rejected for a validation error too, then a valid change goes through.
	writeFile(t, w.dir, "dev.yaml", "http:\n  port: 70000\n")
	entries = w.waitLog(t, msgRejected, 2)
	if msg := fmt.Sprint(entries[1].ContextMap()["error"]); !strings.Contains(msg, "70000 is not a TCP port") {
		t.Errorf("second rejection: %s", msg)
	}
	writeFile(t, w.dir, "dev.yaml", "http:\n  port: 8081\n")
	if got := w.next(t); got.Port != 8081 {
		t.Errorf("update %+v", got)
	}
}

func TestWatchSkipsUnchangedSection(t *testing.T) {
	t.Parallel()
	w := startWatched(t, "http:\n  port: 8080\nlog:\n  level: info\n")
	writeFile(t, w.dir, "dev.yaml", "http:\n  port: 8080\nlog:\n  level: debug\n")
	w.waitLog(t, msgReloaded, 1)
	w.quiet(t, 100*time.Millisecond)
	if got := w.c.String("log.level"); got != "debug" {
		t.Errorf("log.level = %q", got)
	}
}

func TestWatchDebounces(t *testing.T) {
	t.Parallel()
	w := startWatched(t, "http:\n  port: 8080\n", config.Debounce(500*time.Millisecond))
	for port := 9000; port < 9010; port++ {
		writeFile(t, w.dir, "dev.yaml", fmt.Sprintf("http:\n  port: %d\n", port))
		time.Sleep(5 * time.Millisecond)
	}
	if got := w.next(t); got.Port != 9009 {
		t.Errorf("update %+v, want the last write", got)
	}
	w.quiet(t, 500*time.Millisecond)
	if n := len(w.logs.FilterMessage(msgReloaded).All()); n != 1 {
		t.Errorf("%d reloads, want 1", n)
	}
}

func TestWatchStop(t *testing.T) {
	t.Parallel()
	w := startWatched(t, "http:\n  port: 8080\n")
	var calls int
	var mu sync.Mutex
	stop, err := config.Watch(w.c, "http", HTTP{}, func(HTTP) { mu.Lock(); calls++; mu.Unlock() })
	if err != nil {
		t.Fatal(err)
	}
	stop()
	stop() // idempotent
	writeFile(t, w.dir, "dev.yaml", "http:\n  port: 8081\n")
	w.next(t)
	mu.Lock()
	defer mu.Unlock()
	if calls != 1 {
		t.Errorf("fn called %d times, want once (before stop)", calls)
	}
}

func TestWatchInvalidNow(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "dev.yaml", "http:\n  port: abc\n")
	c, err := config.Load(config.Dir(dir), environ())
	if err != nil {
		t.Fatal(err)
	}
	stop, err := config.Watch(c, "http", HTTP{}, func(HTTP) { t.Error("fn called") })
	if err == nil || stop != nil {
		t.Errorf("Watch error = %v, stop = nil: %t; want an error and no stop", err, stop == nil)
	}
}

func TestReloadChecksKnownKeys(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := writeFile(t, dir, "dev.yaml", "http:\n  port: 8080\n")
	c, err := config.Load(config.Dir(dir), environ())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CheckKnown("http"); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "dev.yaml", "http:\n  port: 8081\nhtpp:\n  port: 1\n")
	err = c.Reload()
	if want := `config: unknown key "htpp" in ` + path + ` (did you mean "http"?)`; err == nil || err.Error() != want {
		t.Errorf("Reload = %v, want %s", err, want)
	}
	if c.Int("http.port") != 8080 {
		t.Error("rejected reload applied")
	}
}

func TestReloadMissingFileKeepsValues(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "dev.yaml", "http:\n  port: 8080\n")
	c, err := config.Load(config.Dir(dir), environ())
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "dev.yaml", "")
	if err := c.Reload(); err != nil {
		t.Fatal(err)
	}
	if c.IsSet("http.port") {
		t.Error("http.port survived an empty file")
	}
	writeFile(t, dir, "dev.yaml", "http:\n  port: 8081\n")
	if err := c.Reload(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "dev.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := c.Reload(); !errors.Is(err, config.ErrNotFound) {
		t.Errorf("Reload without file = %v", err)
	}
	if c.Int("http.port") != 8081 {
		t.Errorf("http.port = %d, want the last good value", c.Int("http.port"))
	}
}

// TestReadersSeeWholeVersions reloads while readers check that host and
// port, always written together, always match.
func TestReadersSeeWholeVersions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	doc := func(i int) string { return fmt.Sprintf("http:\n  host: h%d\n  port: %d\n", i, i) }
	writeFile(t, dir, "dev.yaml", doc(0))
	c, err := config.Load(config.Dir(dir), environ())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				h, err := config.Get[HTTP](c, "http")
				if err != nil || h.Host != fmt.Sprintf("h%d", h.Port) {
					t.Errorf("torn read: %+v, %v", h, err)
					return
				}
			}
		})
	}
	for i := 1; i <= 50; i++ {
		writeFile(t, dir, "dev.yaml", doc(i))
		if err := c.Reload(); err != nil {
			t.Error(err)
		}
	}
	cancel()
	wg.Wait()
}

// TestStartAndCloseLeaveNoGoroutine is not parallel: goleak.VerifyNone sees
// every goroutine of the process.
func TestStartAndCloseLeaveNoGoroutine(t *testing.T) {
	defer goleak.VerifyNone(t)
	dir := t.TempDir()
	writeFile(t, dir, "dev.yaml", "http:\n  port: 8080\n")
	c, err := config.Load(config.Dir(dir), environ())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err == nil {
		t.Error("second Start succeeded")
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}

	// The watcher also ends with its context, and can then start again.
	ctx, cancel := context.WithCancel(context.Background())
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}

	// Nothing to watch: no goroutine at all.
	c2, err := config.Load(config.Dir(dir+"/missing"), config.Optional(), environ())
	if err != nil {
		t.Fatal(err)
	}
	if err := c2.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
}
