package config_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/wegomesh/wego/config"
)

// memSource is a Source in memory: Load returns values, and Watch passes on
// what the test sends.
type memSource struct {
	values  map[string][]byte
	loadErr error
	changes chan config.Change
}

func newMemSource(kv ...string) *memSource {
	m := &memSource{values: map[string][]byte{}, changes: make(chan config.Change, 4096)}
	for i := 0; i+1 < len(kv); i += 2 {
		m.values[kv[i]] = []byte(kv[i+1])
	}
	return m
}

func (m *memSource) Name() string { return "memory source" }

func (m *memSource) Load(context.Context) (map[string][]byte, error) {
	return m.values, m.loadErr
}

func (m *memSource) Watch(ctx context.Context, fn func(config.Change)) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case ch := <-m.changes:
			fn(ch)
		}
	}
}

func (m *memSource) put(key, value string) {
	m.changes <- config.Change{Key: key, Value: []byte(value)}
}

func (m *memSource) del(key string) { m.changes <- config.Change{Key: key} }

const (
	msgChanged   = "config: changed"
	msgRefused   = "config: change refused; keeping the previous value"
	msgUnwatched = "config: no subscriber watches the key: code that reads it from now on sees the change, what was built from it at start-up does not"
)

// attached is a Config on a file, with src attached, a subscriber on the
// http section and a recording logger.
type attached struct {
	c       *config.Config
	src     *memSource
	updates chan HTTP
	logs    *observer.ObservedLogs
}

func attach(t *testing.T, file string, src *memSource, opts ...config.Option) *attached {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, dir, "dev.yaml", file)
	core, logs := observer.New(zapcore.DebugLevel)
	c, err := config.Load(append([]config.Option{config.Dir(dir), environ(), config.Logger(zap.New(core))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	a := &attached{c: c, src: src, updates: make(chan HTTP, 4096), logs: logs}
	stop, err := config.Watch(c, "http", HTTP{}, func(h HTTP) { a.updates <- h })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	<-a.updates
	if err := c.Attach(t.Context(), src); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return a
}

func (a *attached) next(t *testing.T) HTTP {
	t.Helper()
	select {
	case h := <-a.updates:
		return h
	case <-time.After(waitTimeout):
		t.Fatal("no update")
		return HTTP{}
	}
}

func (a *attached) quiet(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case h := <-a.updates:
		t.Fatalf("unexpected update %+v", h)
	case <-time.After(d):
	}
}

func (a *attached) waitLog(t *testing.T, msg string, n int) []observer.LoggedEntry {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		entries := a.logs.FilterMessage(msg).All()
		if len(entries) >= n {
			return entries
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d log entries %q, want %d; all: %v", len(entries), msg, n, a.logs.All())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSourcePrecedence(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "dev.yaml", "http:\n  host: file\n  port: 8080\n  max_body_bytes: 10\n  tls: {cert: c.pem}\n")
	src := newMemSource(
		"http.port", "9090", // over the environment variable
		"http.tls", "{enabled: true}", // a document merges key by key
		"http.read_timeout", "250ms",
		"http", "{host: doc, max_body_bytes: 20}", // the deeper key http.port wins over a document
	)
	c, err := config.Load(config.Dir(dir), environ("WEGO_HTTP_PORT", "8081", "WEGO_HTTP_HOST", "env"),
		config.Override("http.max_body_bytes", 30))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Attach(t.Context(), src); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	h, err := config.Get[HTTP](c, "http")
	if err != nil {
		t.Fatal(err)
	}
	want := HTTP{Host: "doc", Port: 9090, MaxBodyBytes: 30, ReadTimeout: 250 * time.Millisecond, TLS: TLS{Enabled: true, Cert: "c.pem"}}
	if fmt.Sprint(h) != fmt.Sprint(want) {
		t.Errorf("http = %+v, want %+v", h, want)
	}
	if !c.IsSet("http.read_timeout") || c.Duration("http.read_timeout") != 250*time.Millisecond {
		t.Error("accessors do not see the source")
	}
}

func TestSourceChangeReachesSubscriber(t *testing.T) {
	t.Parallel()
	a := attach(t, "http:\n  port: 8080\n", newMemSource())
	a.src.put("http.port", "9090")
	if got := a.next(t); got.Port != 9090 {
		t.Errorf("update %+v", got)
	}
	e := a.waitLog(t, msgChanged, 1)[0].ContextMap()
	if e["source"] != "memory source" || e["source_key"] != "http.port" {
		t.Errorf("log fields %v", e)
	}

	// Deleting the key brings back the file's value; so does empty text.
	a.src.put("HTTP.Host", "h")
	if got := a.next(t); got.Host != "h" {
		t.Errorf("update %+v", got)
	}
	a.src.del("http.port")
	if got := a.next(t); got.Port != 8080 || got.Host != "h" {
		t.Errorf("after delete: %+v", got)
	}
	a.src.put("HTTP.Host", "")
	if got := a.next(t); got.Host != "" {
		t.Errorf("after empty text: %+v", got)
	}
	// A change of another section calls no subscriber of http.
	a.src.put("log.level", "debug")
	a.waitLog(t, msgChanged, 5)
	if e := a.waitLog(t, msgUnwatched, 1)[0]; e.Level != zapcore.WarnLevel || e.ContextMap()["source_key"] != "log.level" {
		t.Errorf("unwatched key: %v %v", e.Level, e.ContextMap())
	}
	a.quiet(t, 50*time.Millisecond)
	if a.c.String("log.level") != "debug" {
		t.Error("log.level not changed")
	}
}

func TestSourceRefusesInvalidChange(t *testing.T) {
	t.Parallel()
	a := attach(t, "http:\n  port: 8080\n", newMemSource())
	if err := a.c.CheckKnown("http", "log"); err != nil {
		t.Fatal(err)
	}
	for i, tc := range []struct{ key, value, errKey, want string }{
		{"http.port", "abc", "http.port", `config: http.port from memory source: cannot parse "abc" as int`},
		{"http.port", "70000", "http.port", "config: http.port from memory source: 70000 is not a TCP port"},
		{"http", "{prot: 1}", "http.prot", `config: unknown key "http.prot" from memory source (did you mean "http.port"?)`},
		{"htpp.port", "1", "htpp", `config: unknown key "htpp" from memory source (did you mean "http"?)`},
		{"http.port", "[1", "http.port", "config: http.port from memory source: cannot parse the value as YAML or JSON"},
	} {
		a.src.put(tc.key, tc.value)
		e := a.waitLog(t, msgRefused, i+1)[i]
		fields := e.ContextMap()
		if e.Level != zapcore.ErrorLevel || fields["key"] != tc.errKey || fields["source_key"] != tc.key ||
			fields["source"] != "dynamic memory source" || !strings.HasPrefix(fmt.Sprint(fields["error"]), tc.want) {
			t.Errorf("%s=%s: log %v %v", tc.key, tc.value, e.Level, fields)
		}
	}
	a.quiet(t, 50*time.Millisecond)
	if got := a.c.Int("http.port"); got != 8080 {
		t.Errorf("http.port = %d after refusals", got)
	}

	// A refused key does not hold up the others, and comes in once valid.
	a.src.put("http.port", "oops")
	a.src.put("http.host", "h")
	if got := a.next(t); got.Host != "h" || got.Port != 8080 {
		t.Errorf("update %+v", got)
	}
	a.src.put("http.port", "8081")
	if got := a.next(t); got.Port != 8081 {
		t.Errorf("update %+v", got)
	}
}

func TestSourceReset(t *testing.T) {
	t.Parallel()
	a := attach(t, "http:\n  port: 8080\n", newMemSource("http.port", "1", "http.host", "a"))
	if h, _ := config.Get[HTTP](a.c, "http"); h.Port != 1 || h.Host != "a" {
		t.Fatalf("after Attach: %+v", h)
	}
	a.next(t) // the values loaded by Attach
	a.src.changes <- config.Change{Reset: true, Values: map[string][]byte{"http.host": []byte("b"), "http.origins": []byte("[x, y]")}}
	got := a.next(t)
	for got.Port != 8080 || got.Host != "b" || len(got.Origins) != 2 {
		got = a.next(t) // a reset applies key by key
	}
}

func TestSourceRefusedAtAttach(t *testing.T) {
	t.Parallel()
	a := attach(t, "http:\n  port: 8080\n", newMemSource("http.port", "abc", "http.host", "h"))
	if e := a.waitLog(t, msgRefused, 1)[0].ContextMap(); e["key"] != "http.port" {
		t.Errorf("refusal %v", e)
	}
	if h, _ := config.Get[HTTP](a.c, "http"); h.Port != 8080 || h.Host != "h" {
		t.Errorf("after Attach: %+v", h)
	}
}

func TestAttachErrors(t *testing.T) {
	t.Parallel()
	c, err := config.Load(config.Defaults(map[string]any{"http.port": 1}), environ())
	if err != nil {
		t.Fatal(err)
	}
	bad := newMemSource()
	bad.loadErr = errors.New("no bucket")
	if err := c.Attach(t.Context(), bad); err == nil || err.Error() != "config: memory source: no bucket" {
		t.Errorf("Attach = %v", err)
	}
	if err := c.Attach(t.Context(), newMemSource()); err != nil {
		t.Fatal(err)
	}
	if err := c.Attach(t.Context(), newMemSource()); err == nil || !strings.Contains(err.Error(), "attached already") {
		t.Errorf("second Attach = %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	// Another source after Close: the values of the first go.
	src := newMemSource("http.host", "again")
	if err := c.Attach(t.Context(), src); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.String("http.host") != "again" {
		t.Error("second source not applied")
	}
}

// TestSourceRapidUpdates sends 1,000 changes of one document while readers
// check that host and port, always written together, always match; the
// configuration ends on the last value.
func TestSourceRapidUpdates(t *testing.T) {
	t.Parallel()
	doc := func(i int) string { return fmt.Sprintf("{host: h%d, port: %d}", i, i) }
	a := attach(t, "http:\n  host: h0\n  port: 0\n", newMemSource())
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				h, err := config.Get[HTTP](a.c, "http")
				if err != nil || h.Host != fmt.Sprintf("h%d", h.Port) {
					t.Errorf("torn read: %+v, %v", h, err)
					return
				}
			}
		})
	}
	const n = 1000
	for i := 1; i <= n; i++ {
		a.src.put("http", doc(i))
	}
	for last := 0; last != n; {
		h := a.next(t)
		if h.Port < last || h.Host != fmt.Sprintf("h%d", h.Port) {
			t.Fatalf("subscriber got %+v after port %d", h, last)
		}
		last = h.Port
	}
	cancel()
	wg.Wait()
	if got := a.c.Int("http.port"); got != n {
		t.Errorf("http.port = %d, want %d", got, n)
	}
}

func TestReloadKeepsSourceValues(t *testing.T) {
	t.Parallel()
	a := attach(t, "http:\n  port: 8080\n", newMemSource("http.host", "src"))
	if err := a.c.Reload(); err != nil {
		t.Fatal(err)
	}
	if a.c.String("http.host") != "src" {
		t.Error("a reload of the files dropped the source's values")
	}
}
