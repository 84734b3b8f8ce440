package engine

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/wegomesh/wego/config"
)

// recorder keeps what a configuration source reports.
type recorder struct {
	mu      sync.Mutex
	values  map[string]string
	revs    []string // keys of the changes, in order
	resets  int
	changed chan struct{}
}

func newRecorder(initial map[string][]byte) *recorder {
	r := &recorder{values: map[string]string{}, changed: make(chan struct{}, 1)}
	for k, v := range initial {
		r.values[k] = string(v)
	}
	return r
}

func (r *recorder) fn(ch config.Change) {
	r.mu.Lock()
	if ch.Reset {
		r.resets++
		clear(r.values)
		for k, v := range ch.Values {
			r.values[k] = string(v)
		}
	} else if ch.Value == nil {
		delete(r.values, ch.Key)
	} else {
		r.values[ch.Key] = string(ch.Value)
	}
	r.revs = append(r.revs, ch.Key)
	r.mu.Unlock()
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

// wait waits until cond holds for the values.
func (r *recorder) wait(t *testing.T, what string, cond func(map[string]string) bool) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		r.mu.Lock()
		ok := cond(r.values)
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-r.changed:
		case <-deadline:
			r.mu.Lock()
			defer r.mu.Unlock()
			t.Fatalf("not %s: %v", what, r.values)
		}
	}
}

// watch runs src.Watch until the test ends.
func watch(t *testing.T, src config.Source, fn func(config.Change)) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Watch(ctx, fn) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Watch: %v", err)
		}
	})
}

func bucketOf(t *testing.T, e *Engine, name string) jetstream.KeyValue {
	t.Helper()
	js, err := e.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

func TestConfigSourceLoadAndWatch(t *testing.T) {
	noLeaks(t)
	logger, obs := logs()
	e := start(t, embedded(t), logger)
	src, err := e.ConfigSource("wego-config")
	if err != nil {
		t.Fatal(err)
	}
	if src.Name() != "NATS key-value bucket wego-config" {
		t.Errorf("name %q", src.Name())
	}
	values, err := src.Load(t.Context())
	if err != nil || len(values) != 0 {
		t.Fatalf("Load of a new bucket: %v, %v", values, err)
	}
	if obs.FilterMessage("nats: created the configuration bucket").Len() != 1 {
		t.Error("no line about the bucket made")
	}
	kv := bucketOf(t, e, "wego-config")
	if _, err := kv.PutString(t.Context(), "log.level", "debug"); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.PutString(t.Context(), "http.port", "1"); err != nil {
		t.Fatal(err)
	}
	if err := kv.Delete(t.Context(), "http.port"); err != nil {
		t.Fatal(err)
	}
	values, err = src.Load(t.Context())
	if err != nil || len(values) != 1 || string(values["log.level"]) != "debug" {
		t.Fatalf("Load: %q, %v", values, err)
	}

	r := newRecorder(values)
	watch(t, src, r.fn)
	if _, err := kv.PutString(t.Context(), "ratelimit", "{per_second: 5}"); err != nil {
		t.Fatal(err)
	}
	if err := kv.Purge(t.Context(), "log.level"); err != nil {
		t.Fatal(err)
	}
	r.wait(t, "changed", func(m map[string]string) bool { return m["ratelimit"] == "{per_second: 5}" && m["log.level"] == "" })
	if r.resets != 0 || !slices.Equal(r.revs, []string{"ratelimit", "log.level"}) {
		t.Errorf("changes %v, %d resets", r.revs, r.resets)
	}
}

func TestConfigSourceErrors(t *testing.T) {
	noLeaks(t)
	cfg := embedded(t)
	cfg.Server.JetStream = false
	cfg.Server.StoreDir = ""
	e, err := New(cfg, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ConfigSource("wego.config"); err == nil || !strings.Contains(err.Error(), "not a key-value bucket name") {
		t.Errorf("ConfigSource(wego.config) = %v", err)
	}
	src, err := e.ConfigSource("wego-config")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Load(t.Context()); err == nil || !strings.Contains(err.Error(), "has not started") {
		t.Errorf("Load before Start = %v", err)
	}
	if err := e.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer e.Close(context.Background())
	if _, err := src.Load(t.Context()); !errors.Is(err, ErrNoJetStream) {
		t.Errorf("Load without JetStream = %v", err)
	}
}

// TestConfigSourceResetsAfterAGap removes the bucket and makes it again
// while the source watches it: the source reports a reset to the new
// contents.
func TestConfigSourceResetsAfterAGap(t *testing.T) {
	noLeaks(t)
	e := start(t, embedded(t), nil)
	src, err := e.ConfigSource("cfg")
	if err != nil {
		t.Fatal(err)
	}
	src.(*kvSource).audit = 100 * time.Millisecond
	values, err := src.Load(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	r := newRecorder(values)
	watch(t, src, r.fn)
	kv := bucketOf(t, e, "cfg")
	if _, err := kv.PutString(t.Context(), "a", "1"); err != nil {
		t.Fatal(err)
	}
	r.wait(t, "a=1", func(m map[string]string) bool { return m["a"] == "1" })

	js, _ := e.JetStream()
	if err := js.DeleteKeyValue(t.Context(), "cfg"); err != nil {
		t.Fatal(err)
	}
	// The source may make it again first, as it does when it finds it gone.
	kv, err = js.CreateOrUpdateKeyValue(t.Context(), jetstream.KeyValueConfig{Bucket: "cfg", History: configHistory})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.PutString(t.Context(), "b", "2"); err != nil {
		t.Fatal(err)
	}
	r.wait(t, "reset to b=2", func(m map[string]string) bool { return len(m) == 1 && m["b"] == "2" })
	if r.resets == 0 {
		t.Error("no reset reported")
	}
}

// restartable is an embedded server on a fixed address and store
// directory that a test stops and starts again.
type restartable struct {
	t   *testing.T
	cfg Config
	e   *Engine
}

func newRestartable(t *testing.T) *restartable {
	cfg := embedded(t)
	cfg.Server.Name = "restartable"
	cfg.Server.Listen = freeAddr(t)
	r := &restartable{t: t, cfg: cfg}
	r.start()
	t.Cleanup(func() { _ = r.e.Close(context.Background()) })
	return r
}

func (r *restartable) start() {
	e, err := Start(context.Background(), r.cfg, zap.NewNop())
	if err != nil {
		r.t.Fatal(err)
	}
	r.e = e
}

func (r *restartable) restart() {
	if err := r.e.Close(context.Background()); err != nil {
		r.t.Error(err)
	}
	r.start()
}

// TestConfigSourceSurvivesServerRestart restarts the server, with the same
// store directory, while a writer keeps putting new keys: the source
// resumes after a reconnect and reports every revision, without a reset,
// and a configuration attached to a second source ends on the last value.
func TestConfigSourceSurvivesServerRestart(t *testing.T) {
	noLeaks(t)
	srv := newRestartable(t)
	url := srv.e.ClientURL()
	logger, obs := logs()
	e := start(t, external(url), logger)
	src, err := e.ConfigSource("wego-config")
	if err != nil {
		t.Fatal(err)
	}
	values, err := src.Load(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	r := newRecorder(values)
	watch(t, src, r.fn)

	type limits struct {
		PerSecond int `mapstructure:"per_second"`
	}
	c, err := config.Load(config.Defaults(map[string]any{"ratelimit.per_second": 0}))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var last int
	stop, err := config.Watch(c, "ratelimit", limits{}, func(l limits) { mu.Lock(); last = l.PerSecond; mu.Unlock() })
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	src2, _ := e.ConfigSource("wego-config")
	if err := c.Attach(t.Context(), src2); err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	writer, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(20*time.Millisecond), nats.ReconnectBufSize(-1))
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	wjs, err := jetstream.New(writer)
	if err != nil {
		t.Fatal(err)
	}
	put := func(key, value string) {
		for end := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			kv, err := wjs.KeyValue(ctx, "wego-config")
			if err == nil {
				_, err = kv.PutString(ctx, key, value)
			}
			cancel()
			if err == nil {
				return
			}
			if time.Now().After(end) {
				t.Fatalf("put %s: %v", key, err)
			}
		}
	}

	const n = 60
	for i := range n {
		if i == n/2 {
			srv.restart()
		}
		put("n."+strconv.Itoa(i), strconv.Itoa(i))
		put("ratelimit.per_second", strconv.Itoa(i))
	}
	r.wait(t, "every key seen", func(m map[string]string) bool {
		for i := range n {
			if m["n."+strconv.Itoa(i)] != strconv.Itoa(i) {
				return false
			}
		}
		return m["ratelimit.per_second"] == strconv.Itoa(n-1)
	})
	if r.resets != 0 {
		t.Errorf("%d resets; want the watch to resume", r.resets)
	}
	eventually(t, 10*time.Second, "the configuration on the last value", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return last == n-1 && c.Int("ratelimit.per_second") == n-1
	})
	if obs.FilterMessage("nats: reconnected; the configuration bucket resumes after the last revision seen").Len() == 0 {
		t.Error("no resume logged")
	}
}

// TestConfigSourceLatency measures how long a change takes from the put to
// the typed subscriber, and checks that 1,000 rapid changes end on the
// last value and that an invalid one reaches no subscriber.
func TestConfigSourceLatency(t *testing.T) {
	noLeaks(t)
	e := start(t, embedded(t), nil)
	core, obs := logs()
	c, err := config.Load(config.Defaults(map[string]any{"ratelimit.per_second": 0}), config.Logger(core))
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan int, 2000)
	stop, err := config.Watch(c, "ratelimit", rateLimits{}, func(l rateLimits) { got <- l.PerSecond })
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	<-got
	src, _ := e.ConfigSource("wego-config")
	if err := c.Attach(t.Context(), src); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	kv := bucketOf(t, e, "wego-config")

	const rounds = 200
	lat := make([]time.Duration, 0, rounds)
	for i := 1; i <= rounds; i++ {
		begin := time.Now()
		if _, err := kv.PutString(t.Context(), "ratelimit.per_second", strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
		select {
		case v := <-got:
			if v != i {
				t.Fatalf("got %d, want %d", v, i)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("change %d not delivered", i)
		}
		lat = append(lat, time.Since(begin))
	}
	slices.Sort(lat)
	p99 := lat[len(lat)*99/100-1]
	t.Logf("put to subscriber: p50 %s, p99 %s, max %s", lat[len(lat)/2], p99, lat[len(lat)-1])
	if p99 > 50*time.Millisecond {
		t.Errorf("p99 %s, want at most 50ms", p99)
	}

	// An invalid value reaches no subscriber, and the old value stays.
	if _, err := kv.PutString(t.Context(), "ratelimit.per_second", "-1"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "refused", func() bool {
		return obs.FilterMessage("config: change refused; keeping the previous value").
			FilterField(zap.String("source_key", "ratelimit.per_second")).Len() == 1
	})
	if c.Int("ratelimit.per_second") != rounds {
		t.Errorf("per_second = %d after a refused change", c.Int("ratelimit.per_second"))
	}

	// 1,000 rapid changes end on the last value.
	const n = 1000
	for i := 1; i <= n; i++ {
		if _, err := kv.PutString(t.Context(), "ratelimit.per_second", strconv.Itoa(rounds+i)); err != nil {
			t.Fatal(err)
		}
	}
	for v := 0; v != rounds+n; {
		select {
		case w := <-got:
			if w < v || w < 0 {
				t.Fatalf("got %d after %d", w, v)
			}
			v = w
		case <-time.After(10 * time.Second):
			t.Fatalf("stuck at %d", v)
		}
	}
	select {
	case v := <-got:
		t.Fatalf("an update after the last value: %d", v)
	case <-time.After(50 * time.Millisecond):
	}
}

// rateLimits is a typed section with a Validate method.
type rateLimits struct {
	PerSecond int `mapstructure:"per_second"`
}

func (l *rateLimits) Validate() error {
	if l.PerSecond < 0 {
		return config.Errorf("per_second", "must not be negative, got %d", l.PerSecond)
	}
	return nil
}
