package newrelic_test

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	nr "github.com/newrelic/go-agent/v3/newrelic"
	"go.uber.org/zap"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/config"
	"github.com/wegomesh/wego/fw"
	fwnewrelic "github.com/wegomesh/wego/fw/newrelic"
	nrmw "github.com/wegomesh/wego/middleware/newrelic"
	httptransport "github.com/wegomesh/wego/transport/http"
)

const license = "0123456789012345678901234567890123456789"

// TestMain points the agents that the tests create without a transport of
// their own at a closed port on loopback (through HTTPS_PROXY, which the
// agent's default transport honours), so that no test talks to New Relic.
func TestMain(m *testing.M) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	dead := "http://" + l.Addr().String()
	l.Close()
	os.Setenv("HTTPS_PROXY", dead)
	os.Setenv("HTTP_PROXY", dead)
	os.Exit(m.Run())
}

func newApp(t *testing.T, cat *catalog.Catalog, yaml string, opts ...fw.Option) *fw.App {
	t.Helper()
	fsys := fstest.MapFS{"dev.yaml": {Data: []byte(yaml)}}
	base := []fw.Option{fw.Catalog(cat), fw.Logger(zap.NewNop()), fw.Name("nrtest"),
		fw.ConfigOptions(config.FS(fsys), config.Env("dev"), config.Dir(t.TempDir()),
			config.LookupEnv(func(string) (string, bool) { return "", false }))}
	a, err := fw.New(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// Importing the package registers "newrelic": the default chains build it
// from the configuration, with the real agent, and it extends the host.
func TestRegisteredFromConfiguration(t *testing.T) {
	t.Parallel()
	cat := catalog.New()
	h, _ := catalog.RegisterIn(cat, "test.InTxn", func(ctx context.Context, _ string) (bool, error) {
		return nr.FromContext(ctx) != nil, nil
	})
	a := newApp(t, cat, "middleware:\n  newrelic: {license_key: \""+license+"\", log_level: off}\n")
	server, client := a.ChainNames()
	if !strings.Contains(strings.Join(server, " "), "requestid auth newrelic logging") ||
		!strings.Contains(strings.Join(client, " "), "breaker newrelic auth") {
		t.Fatalf("chains = %v / %v, want newrelic where the default chains have it", server, client)
	}
	host := a.Host()
	if len(host.ServerHooks) != 1 || len(host.Propagators) != 1 {
		t.Fatalf("host: %d server hooks, %d propagators; want 1 and 1",
			len(host.ServerHooks), len(host.Propagators))
	}
	if in, err := h.Call(context.Background(), "x"); err != nil || !in {
		t.Fatalf("the command did not run in a transaction: %v, %v", in, err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := a.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 6*time.Second {
		t.Fatalf("Stop took %v", d)
	}
}

// Without a license key, the linked middleware is off: no agent, no host
// extension, no transaction.
func TestRegisteredOff(t *testing.T) {
	t.Parallel()
	cat := catalog.New()
	h, _ := catalog.RegisterIn(cat, "test.InTxn", func(ctx context.Context, _ string) (bool, error) {
		return nr.FromContext(ctx) != nil, nil
	})
	a := newApp(t, cat, "app: {name: x}\n")
	if server, _ := a.ChainNames(); !strings.Contains(strings.Join(server, " "), "newrelic") {
		t.Fatalf("server chain = %v", server)
	}
	if host := a.Host(); len(host.ServerHooks) != 0 || len(host.Propagators) != 0 {
		t.Fatal("the host is extended while New Relic is off")
	}
	if in, _ := h.Call(context.Background(), "x"); in {
		t.Fatal("a transaction while New Relic is off")
	}
	// The section is still checked.
	fsys := fstest.MapFS{"dev.yaml": {Data: []byte("middleware:\n  newrelic: {license_key: short}\n")}}
	_, err := fw.New(fw.Catalog(catalog.New()), fw.Logger(zap.NewNop()),
		fw.ConfigOptions(config.FS(fsys), config.Env("dev"), config.Dir(t.TempDir())))
	if err == nil || !strings.Contains(err.Error(), "middleware.newrelic.license_key") || strings.Contains(err.Error(), "short") {
		t.Fatalf("New = %v, want an error naming the key without quoting it", err)
	}
}

// Factory builds it with agent options: here a transport to a fake
// collector on loopback, which receives the web transaction of a request
// served by the HTTP transport, named after the command.
func TestFactoryReportsToCollector(t *testing.T) {
	t.Parallel()
	col := newCollector(t)
	cat := catalog.New()
	catalog.RegisterIn(cat, "test.Echo", func(_ context.Context, s string) (string, error) { return s, nil })
	server := httptransport.NewServer(httptransport.Addr("127.0.0.1:0"))
	a := newApp(t, cat, "middleware:\n  newrelic: {license_key: \""+license+"\", app_name: nrtest, log_level: off}\n",
		fw.Transports(server),
		fw.Middleware("newrelic", fwnewrelic.Factory(nrmw.AgentOptions(col.agentOption()))))
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			a.Stop(context.Background())
		}
	}()
	// Wait until the agent has connected, so that the transaction counts.
	deadline := time.Now().Add(10 * time.Second)
	for !col.has("connect") {
		if time.Now().After(deadline) {
			t.Fatal("the agent did not connect to the fake collector")
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // the agent takes the reply in
	resp, err := http.Post(server.URL()+"/test/echo", "application/json", strings.NewReader(`"hi"`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != `"hi"` {
		t.Fatalf("POST /test/echo = %d %s", resp.StatusCode, body)
	}
	if err := a.Stop(context.Background()); err != nil { // Close flushes the agent
		t.Fatal(err)
	}
	stopped = true
	if got := col.payload("analytic_event_data"); !strings.Contains(got, "WebTransaction/Go/test.Echo") {
		t.Fatalf("the collector has no web transaction for test.Echo: %s", got)
	}
}

// collector is a fake New Relic collector on loopback: it answers the
// agent's preconnect and connect and records every other payload.
type collector struct {
	srv      *httptest.Server
	mu       sync.Mutex
	payloads map[string][]string
}

func newCollector(t *testing.T) *collector {
	c := &collector{payloads: map[string][]string{}}
	c.srv = httptest.NewServer(http.HandlerFunc(c.serve))
	t.Cleanup(c.srv.Close)
	return c
}

const connectReply = `{"return_value":{"agent_run_id":"1","account_id":"123","trusted_account_key":"123",
"primary_application_id":"456","entity_guid":"guid","apdex_t":0.5,"collect_analytics_events":true,
"collect_errors":true,"collect_error_events":true,"collect_span_events":true,"collect_traces":true,
"sampling_target":1000,"sampling_target_period_in_seconds":60,
"event_harvest_config":{"report_period_ms":100,"harvest_limits":{"analytic_event_data":100,"error_event_data":100}}}}`

func (c *collector) serve(w http.ResponseWriter, r *http.Request) {
	var rd io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rd = zr
	}
	body, _ := io.ReadAll(rd)
	method := r.URL.Query().Get("method")
	c.mu.Lock()
	c.payloads[method] = append(c.payloads[method], string(body))
	c.mu.Unlock()
	switch method {
	case "preconnect":
		io.WriteString(w, `{"return_value":{"redirect_host":"collector.fake"}}`)
	case "connect":
		var reply any
		if err := json.Unmarshal([]byte(connectReply), &reply); err != nil {
			panic(err)
		}
		json.NewEncoder(w).Encode(reply)
	default:
		io.WriteString(w, `{"return_value":null}`)
	}
}

// RoundTrip sends every request of the agent to the fake.
func (c *collector) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.URL.Scheme, r.URL.Host = "http", strings.TrimPrefix(c.srv.URL, "http://")
	r.Host = r.URL.Host
	return http.DefaultTransport.RoundTrip(r)
}

func (c *collector) agentOption() nr.ConfigOption {
	return func(cfg *nr.Config) {
		cfg.Transport = c
		cfg.Utilization.DetectAWS, cfg.Utilization.DetectAzure, cfg.Utilization.DetectGCP = false, false, false
		cfg.Utilization.DetectPCF, cfg.Utilization.DetectDocker, cfg.Utilization.DetectKubernetes = false, false, false
	}
}

func (c *collector) has(method string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.payloads[method]) > 0
}

func (c *collector) payload(method string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.payloads[method], "\n")
}
