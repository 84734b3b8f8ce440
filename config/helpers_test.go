package config_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/wegomesh/wego/config"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// HTTP is the section most tests decode.
type HTTP struct {
	Host         string        `mapstructure:"host"`
	Port         int           `mapstructure:"port"`
	MaxBodyBytes int64         `mapstructure:"max_body_bytes"`
	ReadTimeout  time.Duration `mapstructure:"read_timeout"`
	Origins      []string      `mapstructure:"origins"`
	TLS          TLS           `mapstructure:"tls"`
}

// TLS is nested in HTTP.
type TLS struct {
	Enabled bool   `mapstructure:"enabled"`
	Cert    string `mapstructure:"cert"`
}

// Validate rejects ports that TCP does not have.
func (h *HTTP) Validate() error {
	if h.Port < 0 || h.Port > 65535 {
		return &config.Error{Key: "port", Err: fmt.Errorf("%d is not a TCP port", h.Port)}
	}
	return nil
}

// environ returns an option that makes vars the whole environment, so that
// tests run in parallel without t.Setenv.
func environ(vars ...string) config.Option {
	m := map[string]string{}
	for i := 0; i+1 < len(vars); i += 2 {
		m[vars[i]] = vars[i+1]
	}
	return config.LookupEnv(func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	})
}

// writeFile writes content to dir/name, replacing it atomically (write a
// temporary file, then rename it) as editors do.
func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	tmp := filepath.Join(dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
	return p
}
