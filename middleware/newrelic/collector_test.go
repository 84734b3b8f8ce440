package newrelic_test

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	nr "github.com/newrelic/go-agent/v3/newrelic"
)

// collector is a fake New Relic collector: it answers the agent's
// preconnect and connect, and records the payload of every other method
// (metric_data, analytic_event_data, error_event_data, span_event_data,
// transaction_sample_data, error_data, ...), decompressed.
type collector struct {
	srv *httptest.Server

	mu       sync.Mutex
	payloads map[string][]json.RawMessage
	licenses map[string]bool
}

func newCollector(t *testing.T) *collector {
	t.Helper()
	c := &collector{payloads: map[string][]json.RawMessage{}, licenses: map[string]bool{}}
	c.srv = httptest.NewServer(http.HandlerFunc(c.serve))
	t.Cleanup(c.srv.Close)
	return c
}

// connectReply is what connect returns: a run id, the account settings that
// distributed tracing needs, and a fast event harvest.
const connectReply = `{"return_value":{
	"agent_run_id":"1",
	"account_id":"123",
	"trusted_account_key":"123",
	"primary_application_id":"456",
	"entity_guid":"guid",
	"apdex_t":0.5,
	"collect_analytics_events":true,
	"collect_custom_events":true,
	"collect_traces":true,
	"collect_errors":true,
	"collect_error_events":true,
	"collect_span_events":true,
	"sampling_target":1000,
	"sampling_target_period_in_seconds":60,
	"event_harvest_config":{"report_period_ms":100,"harvest_limits":{
		"analytic_event_data":100,"error_event_data":100,"custom_event_data":100,"log_event_data":100,"span_event_data":100}},
	"span_event_harvest_config":{"report_period_ms":100,"harvest_limit":100}
}}`

func (c *collector) serve(w http.ResponseWriter, r *http.Request) {
	method := r.URL.Query().Get("method")
	body, err := readBody(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	c.licenses[r.URL.Query().Get("license_key")] = true
	c.payloads[method] = append(c.payloads[method], json.RawMessage(body))
	c.mu.Unlock()
	switch method {
	case "preconnect":
		io.WriteString(w, `{"return_value":{"redirect_host":"collector.fake"}}`)
	case "connect":
		io.WriteString(w, connectReply)
	default:
		io.WriteString(w, `{"return_value":null}`)
	}
}

func readBody(r *http.Request) ([]byte, error) {
	var rd io.Reader = r.Body
	switch r.Header.Get("Content-Encoding") {
	case "gzip":
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, err
		}
		rd = zr
	case "deflate":
		zr, err := zlib.NewReader(r.Body)
		if err != nil {
			return nil, err
		}
		rd = zr
	}
	return io.ReadAll(rd)
}

// RoundTrip sends every request of the agent, whatever its host and scheme
// (https://collector.newrelic.com, then the redirect host), to the fake.
func (c *collector) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.URL.Scheme = "http"
	r.URL.Host = strings.TrimPrefix(c.srv.URL, "http://")
	r.Host = r.URL.Host
	return http.DefaultTransport.RoundTrip(r)
}

// agentOptions point the agent at the fake and keep it from probing cloud
// metadata endpoints.
func (c *collector) agentOptions() []nr.ConfigOption {
	return []nr.ConfigOption{func(cfg *nr.Config) {
		cfg.Transport = c
		cfg.Utilization.DetectAWS = false
		cfg.Utilization.DetectAzure = false
		cfg.Utilization.DetectGCP = false
		cfg.Utilization.DetectPCF = false
		cfg.Utilization.DetectDocker = false
		cfg.Utilization.DetectKubernetes = false
	}}
}

func (c *collector) methods() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for m := range c.payloads {
		out = append(out, m)
	}
	return out
}

// events returns the events of every payload of method
// (analytic_event_data, error_event_data, span_event_data): each payload is
// [run_id, {reservoir info}, [event, ...]], and each event is
// [intrinsics, user attributes, agent attributes].
func (c *collector) events(t *testing.T, method string) []event {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []event
	for _, p := range c.payloads[method] {
		var payload []json.RawMessage
		if err := json.Unmarshal(p, &payload); err != nil || len(payload) < 3 {
			t.Fatalf("%s payload %s: %v", method, p, err)
		}
		var evs [][]map[string]any
		if err := json.Unmarshal(payload[2], &evs); err != nil {
			t.Fatalf("%s events %s: %v", method, payload[2], err)
		}
		for _, e := range evs {
			ev := event{}
			if len(e) > 0 {
				ev.Intrinsics = e[0]
			}
			if len(e) > 1 {
				ev.User = e[1]
			}
			if len(e) > 2 {
				ev.Agent = e[2]
			}
			out = append(out, ev)
		}
	}
	return out
}

func (c *collector) raw(method string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b bytes.Buffer
	for _, p := range c.payloads[method] {
		b.Write(p)
		b.WriteByte('\n')
	}
	return b.String()
}

type event struct {
	Intrinsics, User, Agent map[string]any
}
