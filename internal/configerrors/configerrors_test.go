package configerrors_test

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/config"
	"github.com/wegomesh/wego/fw"
	_ "github.com/wegomesh/wego/fw/newrelic" // decode middleware.newrelic
	"github.com/wegomesh/wego/log"
	"github.com/wegomesh/wego/middleware"
	"github.com/wegomesh/wego/middleware/audit"
	"github.com/wegomesh/wego/middleware/breaker"
	"github.com/wegomesh/wego/middleware/cache"
	"github.com/wegomesh/wego/middleware/faultinject"
	"github.com/wegomesh/wego/middleware/idempotency"
	"github.com/wegomesh/wego/middleware/logging"
	"github.com/wegomesh/wego/middleware/newrelic"
	"github.com/wegomesh/wego/middleware/ratelimit"
	"github.com/wegomesh/wego/middleware/recovery"
	"github.com/wegomesh/wego/middleware/requestid"
	"github.com/wegomesh/wego/middleware/retry"
	"github.com/wegomesh/wego/middleware/timeout"
	"github.com/wegomesh/wego/middleware/validate"
	"github.com/wegomesh/wego/transport"
	httptransport "github.com/wegomesh/wego/transport/http"
)

// wantKey fails t unless err is or holds a *config.Error whose key is key.
func wantKey(t *testing.T, what string, err error, key string) {
	t.Helper()
	var ce *config.Error
	if !errors.As(err, &ce) {
		t.Errorf("%s: %v (%T), want a *config.Error", what, err, err)
		return
	}
	if ce.Key != key {
		t.Errorf("%s: key %q (%v), want %q", what, ce.Key, err, key)
	}
}

// A section's Validate names keys relative to the section, and its
// constructor names them under the section.
func TestSettings(t *testing.T) {
	t.Parallel()
	neg := -1
	for _, tt := range []struct {
		section  string
		key      string // relative to the section
		validate func() error
		build    func() error
	}{
		{log.Section, "level",
			log.Config{Level: "verbose"}.Validate,
			func() error { _, err := log.New(log.Config{Level: "verbose"}); return err }},
		{audit.Section, "file.sync",
			audit.Config{File: audit.FileConfig{Sync: "sometimes"}}.Validate,
			func() error { _, err := audit.New(audit.Config{File: audit.FileConfig{Sync: "sometimes"}}); return err }},
		{breaker.Section, `commands["inventory.Reserve"].failure_ratio`,
			breaker.Config{Commands: bad[breaker.CommandConfig](breaker.CommandConfig{FailureRatio: 2})}.Validate,
			func() error {
				_, err := breaker.New(breaker.Config{Commands: bad[breaker.CommandConfig](breaker.CommandConfig{FailureRatio: 2})})
				return err
			}},
		{cache.Section, `commands["inventory.Reserve"].ttl`,
			cache.Config{Commands: bad[cache.CommandConfig](cache.CommandConfig{TTL: -1})}.Validate,
			func() error {
				_, err := cache.New(cache.Config{Commands: bad[cache.CommandConfig](cache.CommandConfig{TTL: -1})})
				return err
			}},
		{faultinject.Section, `commands["inventory.Reserve"].error_rate`,
			faultinject.Config{Commands: bad[faultinject.CommandConfig](faultinject.CommandConfig{ErrorRate: 2})}.Validate,
			func() error {
				_, err := faultinject.New(faultinject.Config{Commands: bad[faultinject.CommandConfig](faultinject.CommandConfig{ErrorRate: 2})})
				return err
			}},
		{idempotency.Section, `commands["inventory.Reserve"].lease`,
			idempotency.Config{Commands: bad[idempotency.CommandConfig](idempotency.CommandConfig{Lease: -1})}.Validate,
			func() error {
				_, err := idempotency.New(idempotency.Config{Commands: bad[idempotency.CommandConfig](idempotency.CommandConfig{Lease: -1})})
				return err
			}},
		{logging.Section, "sampling.initial",
			logging.Config{Sampling: &log.SamplingConfig{}}.Validate,
			func() error { _, err := logging.New(logging.Config{Sampling: &log.SamplingConfig{}}); return err }},
		{newrelic.Section, `commands["inventory"]`,
			newrelic.Config{Commands: middleware.PerCommand[newrelic.CommandConfig]{"inventory": {}}}.Validate,
			func() error {
				_, err := newrelic.New(newrelic.Config{Commands: middleware.PerCommand[newrelic.CommandConfig]{"inventory": {}}})
				return err
			}},
		{ratelimit.Section, `commands["inventory.Reserve"].burst`,
			ratelimit.Config{Commands: bad[ratelimit.CommandConfig](ratelimit.CommandConfig{Burst: &neg})}.Validate,
			func() error {
				_, err := ratelimit.New(ratelimit.Config{Commands: bad[ratelimit.CommandConfig](ratelimit.CommandConfig{Burst: &neg})})
				return err
			}},
		{recovery.Section, "max_stack_bytes",
			recovery.Config{MaxStackBytes: -1}.Validate,
			func() error { _, err := recovery.New(recovery.Config{MaxStackBytes: -1}); return err }},
		{requestid.Section, "header",
			requestid.Config{Header: "X Bad"}.Validate,
			func() error { _, err := requestid.New(requestid.Config{Header: "X Bad"}); return err }},
		{retry.Section, `commands["inventory.Reserve"].max_delay`,
			retry.Config{Commands: bad[retry.CommandConfig](retry.CommandConfig{MaxDelay: -1})}.Validate,
			func() error {
				_, err := retry.New(retry.Config{Commands: bad[retry.CommandConfig](retry.CommandConfig{MaxDelay: -1})})
				return err
			}},
		{timeout.Section, `commands["inventory.Reserve"].timeout`,
			timeout.Config{Commands: bad[timeout.CommandConfig](timeout.CommandConfig{Timeout: -1})}.Validate,
			func() error {
				_, err := timeout.New(timeout.Config{Commands: bad[timeout.CommandConfig](timeout.CommandConfig{Timeout: -1})})
				return err
			}},
		{timeout.DeadlineSection, `commands["inventory.Reserve"].budget`,
			timeout.DeadlineConfig{Commands: bad[timeout.DeadlineCommand](timeout.DeadlineCommand{Budget: -1})}.Validate,
			func() error {
				_, err := timeout.Deadline(timeout.DeadlineConfig{Commands: bad[timeout.DeadlineCommand](timeout.DeadlineCommand{Budget: -1})})
				return err
			}},
		{validate.Section, `commands["inventory"]`,
			validate.Config{Commands: middleware.PerCommand[validate.CommandConfig]{"inventory": {}}}.Validate,
			func() error {
				_, err := validate.New(validate.Config{Commands: middleware.PerCommand[validate.CommandConfig]{"inventory": {}}})
				return err
			}},
		{"http", "max_body_bytes",
			(&httptransport.ServerConfig{Addr: ":0", MaxBodyBytes: -1}).Validate,
			func() error {
				_, err := httptransport.NewHandler(transport.Host{Catalog: catalog.New()}, httptransport.MaxBodyBytes(-1))
				return err
			}},
		{"http_client", "dial_timeout",
			(&httptransport.ClientConfig{DialTimeout: -1}).Validate,
			func() error {
				_, err := httptransport.NewClientFromConfig(nil, httptransport.DialTimeout(-1))
				return err
			}},
	} {
		wantKey(t, tt.section+": Validate", tt.validate(), tt.key)
		full := tt.section + "." + tt.key
		if strings.HasPrefix(tt.key, "[") {
			full = tt.section + tt.key
		}
		wantKey(t, tt.section+": New", tt.build(), full)
	}
}

// bad returns per-command settings with one entry, for inventory.Reserve.
func bad[T any](e T) middleware.PerCommand[T] {
	return middleware.PerCommand[T]{"inventory.Reserve": e}
}

// fw.New reports a wrong value of any section with the full key and the
// file it came from.
func TestStartUp(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		yaml string
		key  string
	}{
		{"app: {shutdown_timeout: -1s}", "app.shutdown_timeout"},
		{"log: {level: verbose}", "log.level"},
		{"log: {output: [/nonexistent-dir/x/app.log]}", "log.output"},
		{"log: {sampling: {initial: 0}}", "log.sampling.initial"},
		{"middleware: {recovery: {max_stack_bytes: -1}}", "middleware.recovery.max_stack_bytes"},
		{"middleware: {requestid: {header: 'X Bad'}}", "middleware.requestid.header"},
		{"middleware: {logging: {success_level: loud}}", "middleware.logging.success_level"},
		{"middleware: {deadline: {commands: {inventory.reserve: {budget: -1s}}}}", `middleware.deadline.commands["inventory.reserve"].budget`},
		{"middleware: {audit: {sink: kafka}}", "middleware.audit.sink"},
		{"middleware: {ratelimit: {commands: {inventory.reserve: {burst: -1}}}}", `middleware.ratelimit.commands["inventory.reserve"].burst`},
		{"middleware: {faultinject: {commands: {'inventory': {error_rate: 0.5}}}}", `middleware.faultinject.commands["inventory"]`},
		{"middleware: {validate: {commands: {'inventory': {enabled: false}}}}", `middleware.validate.commands["inventory"]`},
		{"middleware: {idempotency: {ttl: -1s}}", "middleware.idempotency.ttl"},
		{"middleware: {cache: {commands: {inventory.*: {ttl: -1s}}}}", `middleware.cache.commands["inventory.*"].ttl`},
		{"middleware: {timeout: {default: -1s}}", "middleware.timeout.default"},
		{"middleware: {retry: {budget: {ratio: 2}}}", "middleware.retry.budget.ratio"},
		{"middleware: {breaker: {mode: sometimes}}", "middleware.breaker.mode"},
		{"middleware: {newrelic: {log_level: loud}}", "middleware.newrelic.log_level"},
		{"middleware: {server: [recovery, recovery]}", "middleware.server[1]"},
		{"routes: {inventory.reserve: 42}", "routes.inventory.reserve"},
	} {
		c, err := config.Load(config.FS(fstest.MapFS{"dev.yaml": {Data: []byte(tt.yaml + "\n")}}), config.Env("dev"), config.Dir(t.TempDir()))
		if err != nil {
			t.Fatalf("%s: %v", tt.yaml, err)
		}
		_, err = fw.New(fw.WithConfig(c), fw.Catalog(catalog.New()))
		wantKey(t, tt.yaml, err, tt.key)
	}
}

// The sections of the HTTP transport, read from a file.
func TestHTTPSections(t *testing.T) {
	t.Parallel()
	c, err := config.Load(config.FS(fstest.MapFS{"dev.yaml": {Data: []byte("http: {max_body_bytes: -1}\nhttp_client: {dial_timeout: -1s}\n")}}),
		config.Env("dev"), config.Dir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	_, err = httptransport.NewHandler(transport.Host{Catalog: catalog.New(), Config: c})
	wantKey(t, "server", err, "http.max_body_bytes")
	_, err = httptransport.NewClientFromConfig(c)
	wantKey(t, "client", err, "http_client.dial_timeout")
}
