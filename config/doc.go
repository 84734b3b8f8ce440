// Package config is WeGO's layered configuration: typed sections read from
// a file per environment, environment variables and explicit overrides, with
// validation and hot reload. It is built on a private [viper] instance (never
// viper's global one) and [mapstructure].
//
// # Layers
//
// [Load] merges four layers, and [Config.Attach] adds a fifth; a key set
// in a higher layer wins, key by key:
//
//	overrides       Override("http.port", 9090)                    highest
//	dynamic source  a NATS key-value bucket, attached with Config.Attach
//	env variables   WEGO_HTTP_PORT=8081
//	file            config/dev.yaml, above an embedded dev.yaml (FS option)
//	defaults        Defaults(...) and the Go value given to a section  lowest
//
// The environment is chosen by [Env], else the variable WEGO_ENV, else
// "dev", and names the file: dev.yaml, dev.yml, dev.toml or dev.json, looked
// up in the [Dir] directories ("config" by default) and in the embedded
// file system given by [FS]. A binary may embed its defaults; a file on disk
// then overrides them key by key.
//
// A missing file is an error ([ErrNotFound], naming the paths tried) unless
// an embedded file exists, [Optional] is given, or the program gives
// [Defaults] and names no [Dir], no [FS] and no environment: a program
// that only has defaults runs on them, while one that relies on files —
// WEGO_ENV=prod and a config directory — fails when its file is missing.
//
// # Environment variables
//
// The key http.max_body_bytes is read from WEGO_HTTP_MAX_BODY_BYTES: the
// prefix ([EnvPrefix]), then the key in upper case with dots replaced by
// underscores. Because an underscore may separate two levels or belong to a
// key, environment variables are matched from keys, never parsed: a section
// consults the variables for every field of the struct it decodes into and
// for every key the lower layers hold. Values are strings and are converted
// to the field's type: numbers, booleans, durations ("1.5s") and lists
// ("a,b,c"). Empty variables count as unset. Tests inject variables with
// [LookupEnv] instead of changing the process's environment, so that they
// can run in parallel.
//
// # Sections
//
// A section is a dotted key decoded into a struct with mapstructure tags:
//
//	type HTTP struct {
//		Port         int           `mapstructure:"port"`
//		MaxBodyBytes int64         `mapstructure:"max_body_bytes"`
//		ReadTimeout  time.Duration `mapstructure:"read_timeout"`
//	}
//
//	func (h *HTTP) Validate() error {
//		if h.Port <= 0 || h.Port > 65535 {
//			return config.Errorf("port", "%d is not a TCP port", h.Port)
//		}
//		return nil
//	}
//
//	h, err := config.GetWithDefaults(c, "http", HTTP{Port: 8080})
//
// Unknown keys, values of the wrong type and failed validation are errors of
// type [*Error] that name the key and where its value came from:
//
//	config: http.port in config/dev.yaml: cannot parse "abc" as int
//	config: http.port from environment variable WEGO_HTTP_PORT: cannot parse "abc" as int
//	config: unknown key "htpp" in config/dev.yaml (did you mean "http"?)
//
// # Hot reload
//
// [Config.Start] watches the configuration directory. When the file changes,
// a fresh viper instance merges the defaults and the files again (the live
// one is never touched), and each section subscribed to with [Watch] is
// decoded and validated. Only if all are valid
// does the new configuration replace the old one, atomically, and each
// subscriber whose section changed is called with its new value; otherwise
// the old configuration stays and the problems are logged. Readers never see
// a half-applied reload.
//
// # Dynamic configuration
//
// A [Source] is configuration that changes while the process runs, such
// as a NATS key-value bucket whose keys are configuration keys
// ("log.level") and whose values are YAML or JSON. [Config.Attach] loads
// it, lays it over the files and the environment variables, and applies
// each change key by key through the path of a reload: a change that
// leaves a watched section invalid, or sets an unknown top-level key, is
// refused and logged, and the key keeps its previous value.
//
// [viper]: https://pkg.go.dev/github.com/spf13/viper
// [mapstructure]: https://pkg.go.dev/github.com/go-viper/mapstructure/v2
package config
