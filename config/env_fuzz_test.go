package config_test

import (
	"errors"
	"testing"
	"testing/fstest"
	"time"

	"github.com/wegomesh/wego/config"
)

// fuzzSection has a field of every kind an environment variable may have
// to convert to.
type fuzzSection struct {
	Port    int               `mapstructure:"port"`
	Size    int64             `mapstructure:"size"`
	Count   uint32            `mapstructure:"count"`
	Ratio   float64           `mapstructure:"ratio"`
	On      bool              `mapstructure:"on"`
	Wait    time.Duration     `mapstructure:"wait"`
	Name    string            `mapstructure:"name"`
	Origins []string          `mapstructure:"origins"`
	Limits  map[string]int    `mapstructure:"limits"`
	Labels  map[string]string `mapstructure:"labels"`
	TLS     TLS               `mapstructure:"tls"`
}

// FuzzEnv feeds arbitrary values to the environment variables that
// override a section's keys (the other input of configuration loading
// besides the file, which FuzzLoad covers): loading and decoding never
// panic, every error is a *config.Error that names the key, and a value
// that decodes is the one a later Get returns again.
func FuzzEnv(f *testing.F) {
	const file = "svc:\n  port: 1\n  size: 2\n  count: 3\n  ratio: 0.5\n  on: true\n  wait: 1s\n  name: n\n" +
		"  origins: [a]\n  limits: {a: 1}\n  labels: {a: b}\n  tls: {enabled: false, cert: c}\n"
	for _, s := range [][2]string{
		{"PORT", "8080"}, {"PORT", "abc"}, {"PORT", "99999999999999999999"}, {"SIZE", "-1"}, {"COUNT", "-1"},
		{"COUNT", "4294967296"}, {"RATIO", "NaN"}, {"RATIO", "1e400"}, {"ON", "yes"}, {"ON", "2"}, {"WAIT", "5"},
		{"WAIT", "-1h"}, {"WAIT", "9999999999h"}, {"NAME", "\x00\xff"}, {"ORIGINS", "a,b,,c"}, {"ORIGINS", ""},
		{"LIMITS_A", "x"}, {"LIMITS", "a=1"}, {"LABELS_A", "\n"}, {"TLS_ENABLED", "maybe"}, {"TLS", "on"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, key, value string) {
		c, err := config.Load(
			config.FS(fstest.MapFS{"dev.yaml": {Data: []byte(file)}}),
			config.Dir("testdata/none"),
			config.Env("dev"),
			environ("WEGO_SVC_"+key, value),
		)
		check := func(err error) {
			t.Helper()
			var ce *config.Error
			if err != nil && !errors.As(err, &ce) {
				t.Fatalf("%T is not a *config.Error: %v", err, err)
			}
			if err != nil && ce.Key == "" && ce.File == "" {
				t.Fatalf("the error names neither a key nor a file: %v", err)
			}
		}
		check(err)
		if err != nil {
			return
		}
		s1, err := config.Get[fuzzSection](c, "svc")
		check(err)
		if err != nil {
			return
		}
		s2, err := config.Get[fuzzSection](c, "svc")
		if err != nil {
			t.Fatalf("second Get failed: %v", err)
		}
		if s1.Port != s2.Port || s1.Name != s2.Name || s1.Wait != s2.Wait || len(s1.Origins) != len(s2.Origins) {
			t.Fatalf("two Gets differ: %+v %+v", s1, s2)
		}
		_ = c.String("svc." + key)
		_ = c.IsSet("svc." + key)
	})
}
