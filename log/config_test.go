package log_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/wegomesh/wego/config"
	"github.com/wegomesh/wego/log"
)

func TestDefaultConfig(t *testing.T) {
	t.Parallel()
	c := log.DefaultConfig()
	if c.Level != "info" || c.Format != "json" || len(c.Output) != 1 || c.Output[0] != "stdout" ||
		c.Sampling != nil || c.Development || c.Caller {
		t.Errorf("DefaultConfig() = %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("DefaultConfig().Validate() = %v", err)
	}
	if err := (log.Config{}).Validate(); err != nil {
		t.Errorf("Config{}.Validate() = %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     log.Config
		wantKey string // "" means valid
		wantMsg string
	}{
		{name: "debug", cfg: log.Config{Level: "debug"}},
		{name: "upper case", cfg: log.Config{Level: "WARN", Format: "Console"}},
		{name: "error", cfg: log.Config{Level: "error", Output: []string{"stderr"}}},
		{name: "sampling", cfg: log.Config{Sampling: &log.SamplingConfig{Initial: 100, Thereafter: 0}}},
		{
			name: "unknown level", cfg: log.Config{Level: "verbose"}, wantKey: "level",
			wantMsg: `config: level: unknown level "verbose" (want debug, info, warn or error)`,
		},
		{name: "zap-only level", cfg: log.Config{Level: "fatal"}, wantKey: "level"},
		{name: "unknown format", cfg: log.Config{Format: "xml"}, wantKey: "format", wantMsg: `config: format: unknown format "xml" (want json or console)`},
		{name: "sampling initial", cfg: log.Config{Sampling: &log.SamplingConfig{}}, wantKey: "sampling.initial"},
		{name: "sampling thereafter", cfg: log.Config{Sampling: &log.SamplingConfig{Initial: 1, Thereafter: -1}}, wantKey: "sampling.thereafter"},
		{name: "sampling tick", cfg: log.Config{Sampling: &log.SamplingConfig{Initial: 1, Tick: -time.Second}}, wantKey: "sampling.tick"},
		{name: "empty output", cfg: log.Config{Output: []string{"stdout", " "}}, wantKey: "output[1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.cfg.Validate()
			if tt.wantKey == "" {
				if err != nil {
					t.Fatalf("Validate() = %v", err)
				}
				return
			}
			// Validate names the key relative to the section; New, under it.
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("Validate() = %v (%T), want *config.Error", err, err)
			}
			if ce.Key != tt.wantKey || !strings.HasPrefix(err.Error(), "config: "+tt.wantKey+": ") {
				t.Errorf("Validate() = %q (key %q), want key %q", err, ce.Key, tt.wantKey)
			}
			if tt.wantMsg != "" && err.Error() != tt.wantMsg {
				t.Errorf("Validate() = %q, want %q", err, tt.wantMsg)
			}
			_, nerr := log.New(tt.cfg)
			if !errors.As(nerr, &ce) || ce.Key != "log."+tt.wantKey {
				t.Errorf("New() error = %v, want a *config.Error for log.%s", nerr, tt.wantKey)
			}
		})
	}
}

func TestNewBadOutput(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "missing-dir", "app.log")
	_, err := log.New(log.Config{Output: []string{path}})
	var ce *config.Error
	if !errors.As(err, &ce) || ce.Key != "log.output" || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("New with an unopenable output: %v, want a *config.Error for log.output wrapping fs.ErrNotExist", err)
	}
}

// readEntries parses the JSON lines of the file at path.
func readEntries(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var entries []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q is not JSON: %v", sc.Text(), err)
		}
		entries = append(entries, m)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return entries
}

func TestNewJSONFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "app.log")
	core, closeOutputs, err := log.NewCore(log.Config{Level: "info", Output: []string{path}})
	if err != nil {
		t.Fatal(err)
	}
	defer closeOutputs()
	l := zap.New(core, zap.AddCaller())
	ctx := log.ContextWithCommand(log.WithLogger(context.Background(), l), mustParse(t, "req-9"), "inventory.Reserve")

	log.For(ctx).Debug("not logged")
	log.For(ctx).Info("reserved", zap.Int("count", 3))
	log.For(ctx).Error("failed", zap.Error(errors.New("out of stock")))
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}

	entries := readEntries(t, path)
	if len(entries) != 2 {
		t.Fatalf("got %d entries, want 2: %v", len(entries), entries)
	}
	e := entries[0]
	for k, want := range map[string]any{
		"level": "info", "msg": "reserved", "count": float64(3),
		"request_id": "req-9", "command": "inventory.Reserve",
	} {
		if e[k] != want {
			t.Errorf("entry[%q] = %#v, want %#v", k, e[k], want)
		}
	}
	ts, _ := e["ts"].(string)
	if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
		t.Errorf("ts = %#v, want RFC 3339: %v", e["ts"], err)
	}
	if c, _ := e["caller"].(string); !strings.Contains(c, "config_test.go:") {
		t.Errorf("caller = %#v, want this file", e["caller"])
	}
	if entries[1]["level"] != "error" || entries[1]["error"] != "out of stock" {
		t.Errorf("second entry = %v", entries[1])
	}
}

func TestNewOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		cfg   log.Config
		log   func(*zap.Logger)
		check func(t *testing.T, entries []map[string]any)
	}{
		{
			name: "caller",
			cfg:  log.Config{Caller: true},
			log:  func(l *zap.Logger) { l.Info("x") },
			check: func(t *testing.T, e []map[string]any) {
				if len(e) != 1 || e[0]["caller"] == nil {
					t.Errorf("entries = %v, want a caller", e)
				}
			},
		},
		{
			name: "no caller by default",
			log:  func(l *zap.Logger) { l.Info("x") },
			check: func(t *testing.T, e []map[string]any) {
				if len(e) != 1 || e[0]["caller"] != nil || e[0]["stacktrace"] != nil {
					t.Errorf("entries = %v, want no caller and no stack trace", e)
				}
			},
		},
		{
			name: "development adds stack traces to errors",
			cfg:  log.Config{Development: true},
			log:  func(l *zap.Logger) { l.Warn("w"); l.Error("e") },
			check: func(t *testing.T, e []map[string]any) {
				if len(e) != 2 || e[0]["stacktrace"] != nil || e[1]["stacktrace"] == nil {
					t.Errorf("entries = %v, want a stack trace on the error only", e)
				}
			},
		},
		{
			name: "level",
			cfg:  log.Config{Level: "warn"},
			log:  func(l *zap.Logger) { l.Info("i"); l.Warn("w"); l.Error("e") },
			check: func(t *testing.T, e []map[string]any) {
				if len(e) != 2 || e[0]["msg"] != "w" || e[1]["msg"] != "e" {
					t.Errorf("entries = %v, want w and e", e)
				}
			},
		},
		{
			name: "sampling",
			cfg:  log.Config{Sampling: &log.SamplingConfig{Initial: 2, Thereafter: 3, Tick: time.Hour}},
			log: func(l *zap.Logger) {
				for range 10 {
					l.Info("hot")
				}
			},
			check: func(t *testing.T, e []map[string]any) {
				// 1, 2, then every 3rd after the first 2: 5 and 8.
				if len(e) != 4 {
					t.Errorf("got %d entries, want 4", len(e))
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "out.log")
			tt.cfg.Output = []string{path}
			l, err := log.New(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			tt.log(l)
			_ = l.Sync()
			tt.check(t, readEntries(t, path))
		})
	}
}

func TestNewConsole(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "console.log")
	l, err := log.New(log.Config{Format: "console", Output: []string{path}})
	if err != nil {
		t.Fatal(err)
	}
	l.Info("hello", zap.String("k", "v"))
	_ = l.Sync()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	line := string(b)
	if !strings.Contains(line, "\tINFO\thello\t") || !strings.Contains(line, `{"k": "v"}`) || json.Valid(b) {
		t.Errorf("console line = %q", line)
	}
}

func TestNewAppliesOptionsLast(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "out.log")
	l, err := log.New(log.Config{Output: []string{path}}, zap.Fields(zap.String("service", "inventory")))
	if err != nil {
		t.Fatal(err)
	}
	l.Info("x")
	_ = l.Sync()
	if e := readEntries(t, path); len(e) != 1 || e[0]["service"] != "inventory" {
		t.Errorf("entries = %v, want the service field from the option", e)
	}
}
