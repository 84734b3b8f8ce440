package config_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/wegomesh/wego/config"
)

func TestPrecedence(t *testing.T) {
	t.Parallel()
	// Each layer sets http.port to its own value; the struct default is 1.
	tests := []struct {
		name                          string
		defaults, embedded, file, env bool
		override                      bool
		want                          int
	}{
		{name: "struct default only", want: 1},
		{name: "defaults", defaults: true, want: 2},
		{name: "embedded over defaults", defaults: true, embedded: true, want: 3},
		{name: "file over embedded", defaults: true, embedded: true, file: true, want: 4},
		{name: "file over defaults", defaults: true, file: true, want: 4},
		{name: "env over file", defaults: true, embedded: true, file: true, env: true, want: 5},
		{name: "env over defaults", defaults: true, env: true, want: 5},
		{name: "env alone", env: true, want: 5},
		{name: "override over all", defaults: true, embedded: true, file: true, env: true, override: true, want: 6},
		{name: "override over file", file: true, override: true, want: 6},
		{name: "override over env", env: true, override: true, want: 6},
		{name: "override alone", override: true, want: 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			opts := []config.Option{config.Dir(dir), config.Optional(), environ()}
			if tt.defaults {
				opts = append(opts, config.Defaults(map[string]any{"http.port": 2}))
			}
			if tt.embedded {
				opts = append(opts, config.FS(fstest.MapFS{"dev.yaml": {Data: []byte("http:\n  port: 3\n")}}))
			}
			if tt.file {
				writeFile(t, dir, "dev.yaml", "http:\n  port: 4\n")
			}
			if tt.env {
				opts = append(opts, environ("WEGO_HTTP_PORT", "5"))
			}
			if tt.override {
				opts = append(opts, config.Override("http.port", 6))
			}
			c, err := config.Load(opts...)
			if err != nil {
				t.Fatal(err)
			}
			h, err := config.GetWithDefaults(c, "http", HTTP{Port: 1})
			if err != nil {
				t.Fatal(err)
			}
			if h.Port != tt.want {
				t.Errorf("http.port = %d, want %d", h.Port, tt.want)
			}
			if got, _ := config.Get[int](c, "http.port"); tt.want != 1 && got != tt.want {
				t.Errorf("Get[int](http.port) = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestLayersMergeKeyByKey checks that every layer contributes the keys it
// sets, and only those.
func TestLayersMergeKeyByKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "dev.yaml", "http:\n  host: file.example\n  tls:\n    enabled: true\n")
	c, err := config.Load(
		config.Dir(dir),
		config.FS(fstest.MapFS{"config/dev.yaml": {Data: []byte("http:\n  host: embedded.example\n  read_timeout: 3s\n")}}),
		config.Defaults(map[string]any{"http": map[string]any{"port": 8080, "max_body_bytes": 10}}),
		environ("WEGO_HTTP_MAX_BODY_BYTES", "1048576", "WEGO_HTTP_TLS_CERT", "env.pem"),
		config.Overrides(map[string]any{"http": map[string]any{"tls": map[string]any{"cert": "override.pem"}}}),
	)
	if err != nil {
		t.Fatal(err)
	}
	got, err := config.GetWithDefaults(c, "http", HTTP{Origins: []string{"*"}})
	if err != nil {
		t.Fatal(err)
	}
	want := HTTP{
		Host:         "file.example",            // disk file over embedded
		Port:         8080,                      // Defaults
		MaxBodyBytes: 1048576,                   // env over Defaults
		ReadTimeout:  3 * time.Second,           // embedded
		Origins:      []string{"*"},             // Go default
		TLS:          TLS{true, "override.pem"}, // file, override over env
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if f := c.File(); f != "embed:config/dev.yaml, "+filepath.Join(dir, "dev.yaml") {
		t.Errorf("File() = %q", f)
	}
}

func TestEnvironmentVariables(t *testing.T) {
	t.Parallel()
	c, err := config.Load(config.Optional(), config.Dir(t.TempDir()), environ(
		"WEGO_HTTP_PORT", "8081",
		"WEGO_HTTP_MAX_BODY_BYTES", "0x100000",
		"WEGO_HTTP_READ_TIMEOUT", "1.5s",
		"WEGO_HTTP_ORIGINS", "a.example, b.example",
		"WEGO_HTTP_TLS_ENABLED", "true",
		"WEGO_HTTP_HOST", "", // empty counts as unset
	))
	if err != nil {
		t.Fatal(err)
	}
	got, err := config.GetWithDefaults(c, "http", HTTP{Host: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	want := HTTP{
		Host:         "localhost",
		Port:         8081,
		MaxBodyBytes: 1 << 20,
		ReadTimeout:  1500 * time.Millisecond,
		Origins:      []string{"a.example", "b.example"},
		TLS:          TLS{Enabled: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	// Accessors consult the variable named after the key.
	if !c.IsSet("http.max_body_bytes") || c.Int("http.max_body_bytes") != 1<<20 {
		t.Errorf("IsSet/Int(http.max_body_bytes) = %v/%d", c.IsSet("http.max_body_bytes"), c.Int("http.max_body_bytes"))
	}
	if c.IsSet("http.host") {
		t.Error("IsSet(http.host) = true for an empty variable")
	}
}

func TestEnvPrefix(t *testing.T) {
	t.Parallel()
	for _, prefix := range []string{"APP", "APP_", "app"} {
		c, err := config.Load(config.Optional(), config.Dir(t.TempDir()), config.EnvPrefix(prefix),
			environ("APP_HTTP_PORT", "1", "WEGO_HTTP_PORT", "2", "APP_ENV", "staging"))
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Int("http.port"); got != 1 {
			t.Errorf("EnvPrefix(%q): http.port = %d, want 1", prefix, got)
		}
		if c.Env() != "staging" {
			t.Errorf("EnvPrefix(%q): Env() = %q, want APP_ENV", prefix, c.Env())
		}
	}
}

func TestEnvironmentName(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "dev.yaml", "name: dev\n")
	writeFile(t, dir, "prod.toml", "name = \"prod\"\n")
	writeFile(t, dir, "qa.json", `{"name": "qa"}`)
	tests := []struct {
		opts    []config.Option
		env     string
		want    string
		wantErr string
	}{
		{want: "dev"},
		{env: "prod", want: "prod"},
		{env: "prod", opts: []config.Option{config.Env("qa")}, want: "qa"},
		{env: "../etc", wantErr: `config: environment variable WEGO_ENV: invalid environment name "../etc"`},
		{opts: []config.Option{config.Env("a b")}, wantErr: `config: invalid environment name "a b"`},
	}
	for _, tt := range tests {
		c, err := config.Load(append([]config.Option{config.Dir(dir), environ("WEGO_ENV", tt.env)}, tt.opts...)...)
		if tt.wantErr != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Errorf("WEGO_ENV=%q: error %v, want %s...", tt.env, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if c.Env() != tt.want || c.String("name") != tt.want {
			t.Errorf("WEGO_ENV=%q: Env() = %q, name = %q, want %q", tt.env, c.Env(), c.String("name"), tt.want)
		}
	}
}

func TestErrorsNameKeyAndSource(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		file     string
		env      []string
		opts     []config.Option
		want     string // message, with FILE for the file's path
		wantKey  string
		wantFrom string // Error.Source
		unknown  bool
	}{{
		name:     "wrong type in file",
		file:     "http:\n  port: abc\n",
		want:     `config: http.port in FILE: cannot parse "abc" as int`,
		wantKey:  "http.port",
		wantFrom: "file",
	}, {
		name:     "wrong type in env",
		file:     "http:\n  port: 80\n",
		env:      []string{"WEGO_HTTP_PORT", "abc"},
		want:     `config: http.port from environment variable WEGO_HTTP_PORT: cannot parse "abc" as int`,
		wantKey:  "http.port",
		wantFrom: "env WEGO_HTTP_PORT",
	}, {
		name:     "wrong type in override",
		file:     "http:\n  port: 80\n",
		opts:     []config.Option{config.Override("http.tls", "yes")},
		want:     `config: http.tls from override: cannot parse "yes" as config_test.TLS`,
		wantKey:  "http.tls",
		wantFrom: "override",
	}, {
		name:     "wrong type in defaults",
		opts:     []config.Option{config.Defaults(map[string]any{"http.tls.enabled": 3})},
		file:     "http:\n  port: 80\n",
		want:     `config: http.tls.enabled from defaults: cannot use 3 as bool`,
		wantKey:  "http.tls.enabled",
		wantFrom: "default",
	}, {
		name:     "list for a number",
		file:     "http:\n  port: [1, 2]\n",
		want:     `config: http.port in FILE: cannot use a list as int`,
		wantKey:  "http.port",
		wantFrom: "file",
	}, {
		name:     "fraction for an integer",
		file:     "http:\n  port: 80.5\n",
		want:     `config: http.port in FILE: cannot use 80.5 as int`,
		wantKey:  "http.port",
		wantFrom: "file",
	}, {
		name:     "duration without unit",
		file:     "http:\n  read_timeout: 5\n",
		want:     `config: http.read_timeout in FILE: cannot use 5 as time.Duration: write a unit, as in "5s"`,
		wantKey:  "http.read_timeout",
		wantFrom: "file",
	}, {
		name:     "map for a section",
		file:     "http: 80\n",
		want:     `config: http in FILE: cannot use 80 as config_test.HTTP`,
		wantKey:  "http",
		wantFrom: "file",
	}, {
		name:     "unknown key in section",
		file:     "http:\n  prot: 80\n",
		want:     `config: unknown key "http.prot" in FILE (did you mean "http.port"?)`,
		wantKey:  "http.prot",
		wantFrom: "file",
		unknown:  true,
	}, {
		name:     "unknown nested key",
		file:     "http:\n  tls:\n    cret: x.pem\n",
		want:     `config: unknown key "http.tls.cret" in FILE (did you mean "http.tls.cert"?)`,
		wantKey:  "http.tls.cret",
		wantFrom: "file",
		unknown:  true,
	}, {
		name:     "validation",
		file:     "http:\n  port: 70000\n",
		want:     `config: http.port in FILE: 70000 is not a TCP port`,
		wantKey:  "http.port",
		wantFrom: "file",
	}, {
		name:     "validation of a value from env",
		file:     "http:\n  host: x\n",
		env:      []string{"WEGO_HTTP_PORT", "-1"},
		want:     `config: http.port from environment variable WEGO_HTTP_PORT: -1 is not a TCP port`,
		wantKey:  "http.port",
		wantFrom: "env WEGO_HTTP_PORT",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := writeFile(t, dir, "dev.yaml", tt.file)
			c, err := config.Load(append([]config.Option{config.Dir(dir), environ(tt.env...)}, tt.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			target := HTTP{Port: 1}
			err = c.Section("http", &target)
			if err == nil {
				t.Fatal("no error")
			}
			if want := strings.ReplaceAll(tt.want, "FILE", path); err.Error() != want {
				t.Errorf("error\n got %s\nwant %s", err, want)
			}
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("%T is not a *config.Error", err)
			}
			if ce.Key != tt.wantKey || ce.Source != tt.wantFrom || ce.File != path {
				t.Errorf("Key, Source, File = %q, %q, %q; want %q, %q, %q", ce.Key, ce.Source, ce.File, tt.wantKey, tt.wantFrom, path)
			}
			if got := errors.Is(err, config.ErrUnknownKey); got != tt.unknown {
				t.Errorf("errors.Is(err, ErrUnknownKey) = %v", got)
			}
			if target.Port != 1 {
				t.Errorf("target changed on error: %+v", target)
			}
		})
	}
}

func TestSeveralErrorsAreJoined(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "dev.yaml", "http:\n  port: abc\n  read_timeout: soon\n")
	c, err := config.Load(config.Dir(dir), environ())
	if err != nil {
		t.Fatal(err)
	}
	_, err = config.Get[HTTP](c, "http")
	if err == nil || !strings.Contains(err.Error(), "http.port") || !strings.Contains(err.Error(), "http.read_timeout") {
		t.Errorf("error %v, want both keys", err)
	}
}

func TestCheckKnown(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := writeFile(t, dir, "dev.yaml", "htpp:\n  port: 80\nlog:\n  level: info\nzzz: 1\n")
	c, err := config.Load(config.Dir(dir), environ(),
		config.FS(fstest.MapFS{"dev.yaml": {Data: []byte("http:\n  port: 1\nzzz: 2\n")}}))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CheckKnown("http", "log", "zzz"); err == nil || !strings.Contains(err.Error(), `unknown key "htpp"`) {
		t.Errorf("CheckKnown = %v", err)
	}
	err = c.CheckKnown("http", "log.level")
	want := `config: unknown key "htpp" in ` + path + ` (did you mean "http"?)` + "\n" +
		`config: unknown key "zzz" in ` + path
	if err == nil || err.Error() != want {
		t.Errorf("CheckKnown error\n got %v\nwant %s", err, want)
	}
	var ce *config.Error
	if !errors.As(err, &ce) || ce.Key != "htpp" || ce.File != path || !errors.Is(err, config.ErrUnknownKey) {
		t.Errorf("errors.As: %+v", ce)
	}
	if err := c.CheckKnown("htpp", "http", "log", "zzz"); err != nil {
		t.Errorf("CheckKnown with every key = %v", err)
	}
}

func TestFiles(t *testing.T) {
	t.Parallel()
	embedded := fstest.MapFS{"config/dev.yaml": {Data: []byte("name: embedded\n")}}

	t.Run("missing", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		_, err := config.Load(config.Dir(dir), config.Env("prod"), environ())
		want := `config: no configuration file for environment "prod": tried ` + filepath.Join(dir, "prod.yaml")
		if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "prod.json;") {
			t.Errorf("error %v, want %s...", err, want)
		}
		if !strings.Contains(err.Error(), "config.Optional()") {
			t.Errorf("error %v does not say what to do", err)
		}
		if !errors.Is(err, config.ErrNotFound) {
			t.Errorf("errors.Is(%v, ErrNotFound) = false", err)
		}
	})
	// Defaults alone are a complete configuration: with no directory, no
	// embedded file system and no environment named, a missing file is
	// fine. Naming any of them means relying on a file.
	t.Run("defaults alone", func(t *testing.T) {
		t.Parallel() // the package directory has no ./config/dev.yaml
		defaults := config.Defaults(map[string]any{"name": "d"})
		c, err := config.Load(defaults, environ())
		if err != nil {
			t.Fatalf("Load(Defaults) = %v", err)
		}
		if c.File() != "" || c.String("name") != "d" || c.Env() != "dev" {
			t.Errorf("File() = %q, name = %q, env = %q", c.File(), c.String("name"), c.Env())
		}
		for name, opts := range map[string][]config.Option{
			"no defaults":      {environ()},
			"a directory":      {defaults, environ(), config.Dir(t.TempDir())},
			"an embedded FS":   {defaults, environ(), config.FS(fstest.MapFS{})},
			"Env":              {defaults, environ(), config.Env("prod")},
			"WEGO_ENV":         {defaults, environ("WEGO_ENV", "prod")},
			"APP_ENV (prefix)": {defaults, environ("APP_ENV", "prod"), config.EnvPrefix("APP")},
		} {
			if _, err := config.Load(opts...); !errors.Is(err, config.ErrNotFound) {
				t.Errorf("%s: Load = %v, want ErrNotFound", name, err)
			}
		}
	})
	t.Run("optional", func(t *testing.T) {
		t.Parallel()
		c, err := config.Load(config.Dir(t.TempDir()), config.Optional(), environ(), config.Defaults(map[string]any{"name": "d"}))
		if err != nil {
			t.Fatal(err)
		}
		if c.File() != "" || c.String("name") != "d" {
			t.Errorf("File() = %q, name = %q", c.File(), c.String("name"))
		}
	})
	t.Run("embedded only", func(t *testing.T) {
		t.Parallel()
		c, err := config.Load(config.Dir(t.TempDir()), config.FS(embedded), environ())
		if err != nil {
			t.Fatal(err)
		}
		if c.File() != "embed:config/dev.yaml" || c.String("name") != "embedded" {
			t.Errorf("File() = %q, name = %q", c.File(), c.String("name"))
		}
	})
	t.Run("disk over embedded", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		writeFile(t, dir, "dev.json", `{"name": "disk"}`)
		c, err := config.Load(config.Dir(dir), config.FS(embedded), environ())
		if err != nil {
			t.Fatal(err)
		}
		if c.String("name") != "disk" {
			t.Errorf("name = %q", c.String("name"))
		}
	})
	t.Run("first directory wins", func(t *testing.T) {
		t.Parallel()
		a, b := t.TempDir(), t.TempDir()
		writeFile(t, b, "dev.yaml", "name: b\n")
		c, err := config.Load(config.Dir(a), config.Dir(b), environ())
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, a, "dev.yml", "name: a\n")
		c2, err := config.Load(config.Dir(a), config.Dir(b), environ())
		if err != nil {
			t.Fatal(err)
		}
		if c.String("name") != "b" || c2.String("name") != "a" {
			t.Errorf("names %q, %q; want b, a", c.String("name"), c2.String("name"))
		}
	})
	t.Run("two formats", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		writeFile(t, dir, "dev.yaml", "name: y\n")
		writeFile(t, dir, "dev.toml", "name = 't'\n")
		_, err := config.Load(config.Dir(dir), environ())
		if err == nil || !strings.Contains(err.Error(), "several files for one environment") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("syntax error", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		path := writeFile(t, dir, "dev.yaml", "http:\n  port: 80\n bad\n")
		_, err := config.Load(config.Dir(dir), environ())
		var ce *config.Error
		if !errors.As(err, &ce) || ce.File != path || !strings.HasPrefix(err.Error(), "config: "+path+": yaml: ") {
			t.Errorf("error %v", err)
		}
	})
}

func TestGetScalarsAndMaps(t *testing.T) {
	t.Parallel()
	c, err := config.Load(config.Optional(), config.Dir(t.TempDir()), environ("WEGO_FEATURES_BETA", "false"),
		config.Defaults(map[string]any{
			"http.port":      8080,
			"http.timeout":   "2s",
			"features.beta":  true,
			"features.alpha": true,
			"tags":           []string{"a", "b"},
		}))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := config.Get[uint16](c, "http.port"); got != 8080 || err != nil {
		t.Errorf("Get[uint16] = %d, %v", got, err)
	}
	if got, err := config.Get[int8](c, "http.port"); err == nil || !strings.Contains(err.Error(), "cannot use 8080 as int8") {
		t.Errorf("Get[int8] = %d, %v; want out of range", got, err)
	}
	if got := c.Duration("http.timeout"); got != 2*time.Second {
		t.Errorf("Duration = %v", got)
	}
	if got, err := config.Get[map[string]bool](c, "features"); err != nil || !reflect.DeepEqual(got, map[string]bool{"alpha": true, "beta": false}) {
		t.Errorf("Get[map] = %v, %v", got, err)
	}
	if got, err := config.Get[[]string](c, "tags"); err != nil || !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("Get[[]string] = %v, %v", got, err)
	}
	if c.Bool("features.beta") || !c.Bool("features.alpha") || c.String("missing") != "" || c.IsSet("missing") {
		t.Error("accessors")
	}
	if err := c.Section("http", HTTP{}); err == nil || !strings.Contains(err.Error(), "non-nil pointer") {
		t.Errorf("Section(non-pointer) = %v", err)
	}
}

func TestGetWithDefaultsDoesNotChangeDefaults(t *testing.T) {
	t.Parallel()
	type S struct {
		List []string          `mapstructure:"list"`
		Map  map[string]string `mapstructure:"map"`
		Ptr  *TLS              `mapstructure:"ptr"`
	}
	c, err := config.Load(config.Optional(), config.Dir(t.TempDir()), environ(), config.Overrides(map[string]any{
		"s.list": []any{"x"}, "s.map.b": "2", "s.ptr.cert": "c",
	}))
	if err != nil {
		t.Fatal(err)
	}
	defaults := S{List: []string{"a", "b", "c"}, Map: map[string]string{"a": "1"}, Ptr: &TLS{Enabled: true}}
	got, err := config.GetWithDefaults(c, "s", defaults)
	if err != nil {
		t.Fatal(err)
	}
	want := S{List: []string{"x"}, Map: map[string]string{"a": "1", "b": "2"}, Ptr: &TLS{Enabled: true, Cert: "c"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if !reflect.DeepEqual(defaults, S{List: []string{"a", "b", "c"}, Map: map[string]string{"a": "1"}, Ptr: &TLS{Enabled: true}}) {
		t.Errorf("defaults changed: %+v %+v", defaults, defaults.Ptr)
	}
}

func TestOverrideOfAncestorHidesSection(t *testing.T) {
	t.Parallel()
	c, err := config.Load(config.Optional(), config.Dir(t.TempDir()), environ("WEGO_A_B_C", "env"),
		config.Defaults(map[string]any{"a.b.c": "default"}), config.Override("a.b", "scalar"))
	if err != nil {
		t.Fatal(err)
	}
	if c.IsSet("a.b.c") || c.String("a.b") != "scalar" {
		t.Errorf("a.b.c set = %v, a.b = %q", c.IsSet("a.b.c"), c.String("a.b"))
	}
}

func TestUnder(t *testing.T) {
	t.Parallel()
	if err := config.Under("a", nil); err != nil {
		t.Errorf("Under(nil) = %v", err)
	}
	inner := &config.Error{Key: "port", File: "f.yaml", Source: config.SourceFile, Err: errors.New("bad")}
	for _, tt := range []struct {
		prefix string
		err    error
		want   []string // the keys, in order
	}{
		{"http", inner, []string{"http.port"}},
		{"", inner, []string{"port"}},
		{"commands", config.Errorf(`["a.B"].ttl`, "x"), []string{`commands["a.B"].ttl`}},
		{"log", config.Errorf("output[1]", "x"), []string{"log.output[1]"}},
		{"log.output", config.Errorf("[1]", "x"), []string{"log.output[1]"}},
		{"http", config.Errorf("", "x"), []string{"http"}},
		{"http", errors.New("plain"), []string{"http"}},
		{"http", fmt.Errorf("wrapped: %w", inner), []string{"http.port"}},
		{"a", errors.Join(config.Errorf("x", "1"), errors.New("2"), errors.Join(config.Errorf("y", "3"))), []string{"a.x", "a", "a.y"}},
	} {
		err := config.Under(tt.prefix, tt.err)
		all := []error{err}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			all = j.Unwrap() // Under joins one level
		}
		var got []string
		for _, e := range all {
			var ce *config.Error
			if !errors.As(e, &ce) {
				t.Fatalf("Under(%q, %v): %v is not a *config.Error", tt.prefix, tt.err, e)
			}
			got = append(got, ce.Key)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("Under(%q, %v): keys %q, want %q", tt.prefix, tt.err, got, tt.want)
		}
	}
	// The error given is not changed; its file, source and cause are kept.
	err := config.Under("http", inner)
	var ce *config.Error
	if !errors.As(err, &ce) || ce == inner || inner.Key != "port" || ce.File != "f.yaml" || ce.Source != config.SourceFile || ce.Err != inner.Err {
		t.Errorf("Under: %+v from %+v", ce, inner)
	}
	if got, want := err.Error(), "config: http.port in f.yaml: bad"; got != want {
		t.Errorf("message %q, want %q", got, want)
	}
	cause := errors.New("cause")
	if err := config.Errorf("k", "cannot open: %w", cause); !errors.Is(err, cause) || err.Error() != "config: k: cannot open: cause" {
		t.Errorf("Errorf: %v", err)
	}
}
