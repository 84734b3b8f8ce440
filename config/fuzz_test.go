package config_test

import (
	"errors"
	"testing"
	"testing/fstest"

	"github.com/wegomesh/wego/config"
)

// FuzzLoad feeds arbitrary bytes as the environment's YAML file: Load and
// the readers must return an error or a value, never panic, and every error
// must be a *config.Error.
func FuzzLoad(f *testing.F) {
	for _, seed := range []string{
		"",
		"http:\n  port: 8080\n",
		"http:\n  port: abc\n  tls: {enabled: yes}\n",
		"http: [1, 2]\n",
		"http:\n  origins: a,b\n  read_timeout: 5\n",
		"1: 2\nhttp:\n  3: 4\n",
		"a: &a [*a]\n",
		"- 1\n- 2\n",
		"http: ~\n",
		"http:\n  max_body_bytes: 1e30\n  port: -1\n",
		"{",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := config.Load(
			config.FS(fstest.MapFS{"dev.yaml": {Data: data}}),
			config.Dir("testdata/none"),
			config.Env("dev"),
			environ("WEGO_HTTP_PORT", "8080"),
		)
		check := func(err error) {
			t.Helper()
			var ce *config.Error
			if err != nil && !errors.As(err, &ce) {
				t.Fatalf("%T is not a *config.Error: %v", err, err)
			}
		}
		check(err)
		if err != nil {
			return
		}
		_, err = config.GetWithDefaults(c, "http", HTTP{Port: 1})
		check(err)
		_, err = config.Get[map[string]any](c, "")
		check(err)
		check(c.CheckKnown("http"))
		_ = c.IsSet("http.port")
		_ = c.String("http.host")
	})
}
