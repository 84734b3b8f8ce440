package config

import (
	"io/fs"
	"os"
	"strings"
	"time"

	"go.uber.org/zap"
)

// An Option configures [Load]. Options are applied in order, so a later
// option of the same kind replaces an earlier one, except where its
// documentation says that it adds (Dir, Defaults, Override, Overrides).
type Option interface {
	apply(*options)
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// options is the resolved configuration of a Load.
type options struct {
	env       string
	dirs      []string
	fsys      fs.FS
	prefix    string
	defaults  []leaf
	overrides []leaf
	optional  bool
	dirsGiven bool // Dir was given; dirs then holds no default
	logger    *zap.Logger
	lookupEnv func(string) (string, bool)
	debounce  time.Duration
}

// defaultDebounce is how long the watcher waits for a burst of file system
// events to end before it reloads.
const defaultDebounce = 100 * time.Millisecond

func newOptions(opts []Option) *options {
	o := &options{
		prefix:    "WEGO_",
		logger:    zap.NewNop(),
		lookupEnv: os.LookupEnv,
		debounce:  defaultDebounce,
	}
	for _, opt := range opts {
		if opt != nil {
			opt.apply(o)
		}
	}
	o.dirsGiven = len(o.dirs) > 0
	if len(o.dirs) == 0 {
		o.dirs = []string{"config"}
	}
	return o
}

// Dir adds a directory in which Load looks for the environment's file
// (dev.yaml, dev.yml, dev.toml or dev.json). Directories are searched in the
// order given and the first one that holds a file for the environment wins.
// The default is the single directory "config", relative to the working
// directory.
func Dir(path string) Option {
	return optionFunc(func(o *options) { o.dirs = append(o.dirs, path) })
}

// FS sets a file system, usually an [embed.FS], that provides the built-in
// configuration of a binary. The environment's file is looked up at the root
// of fsys, then under "config" and under each relative [Dir], so both
// //go:embed dev.yaml and //go:embed config work. When both an embedded file and an on-disk file
// exist, the embedded file is the layer below the on-disk one; when an
// embedded file exists, a missing on-disk file is not an error. The default
// is no embedded file system.
//
// [embed.FS]: https://pkg.go.dev/embed#FS
func FS(fsys fs.FS) Option {
	return optionFunc(func(o *options) { o.fsys = fsys })
}

// Env sets the name of the environment, which names the file to load
// (Env("prod") loads prod.yaml). A name may hold only letters, digits, '-'
// and '_'. The default is the value of the environment variable WEGO_ENV (or
// <prefix>ENV, see [EnvPrefix]), or "dev" when that is unset or empty.
func Env(name string) Option {
	return optionFunc(func(o *options) { o.env = name })
}

// EnvPrefix sets the prefix of the environment variables that override keys.
// The key http.max_body_bytes is read from <prefix>HTTP_MAX_BODY_BYTES. A
// prefix that does not end in '_' gets one, so EnvPrefix("APP") and
// EnvPrefix("APP_") are the same; EnvPrefix("") reads HTTP_MAX_BODY_BYTES.
// The default is "WEGO_".
func EnvPrefix(p string) Option {
	return optionFunc(func(o *options) {
		if p != "" && !strings.HasSuffix(p, "_") {
			p += "_"
		}
		o.prefix = strings.ToUpper(p)
	})
}

// Defaults adds defaults, the lowest layer. Keys are dotted paths
// ("http.port") or nested maps ({"http": {"port": 8080}}); both forms merge
// key by key with the other layers. Defaults given later win over earlier
// ones. The default is no defaults; [GetWithDefaults] and [Section] also take
// per-section defaults from a Go value.
func Defaults(m map[string]any) Option {
	return optionFunc(func(o *options) { o.defaults = appendLeaves(o.defaults, "", m) })
}

// Override sets key to v in the highest layer, above the file and the
// environment variables. A map value merges key by key, like [Defaults].
// Overrides given later win over earlier ones. The default is no overrides.
func Override(key string, v any) Option {
	return optionFunc(func(o *options) { o.overrides = appendLeaves(o.overrides, key, v) })
}

// Overrides sets every key of m as if by [Override]. The default is no
// overrides.
func Overrides(m map[string]any) Option {
	return optionFunc(func(o *options) { o.overrides = appendLeaves(o.overrides, "", m) })
}

// Optional makes a missing file for the environment acceptable: the
// configuration then comes from the defaults, the environment variables and
// the overrides alone. By default a missing file is an error ([ErrNotFound])
// unless [FS] provides an embedded one, or unless the program gives
// [Defaults] and names no place to look for a file and no environment —
// neither [Dir], [FS], [Env] nor the variable WEGO_ENV — in which case it
// runs on its defaults. A program that names any of them relies on a file,
// and a file missing in production is then an error, not a silent start on
// defaults.
func Optional() Option {
	return optionFunc(func(o *options) { o.optional = true })
}

// Logger sets the logger that reports reloads, and, at error level, reloads
// that were rejected. A nil logger is ignored. The default is [zap.NewNop].
func Logger(l *zap.Logger) Option {
	return optionFunc(func(o *options) {
		if l != nil {
			o.logger = l
		}
	})
}

// LookupEnv sets the function that reads environment variables, in the shape
// of [os.LookupEnv]. Tests use it to inject an environment, so that they can
// run in parallel instead of calling t.Setenv. An empty value counts as
// unset. A nil function is ignored. The default is [os.LookupEnv].
func LookupEnv(lookup func(key string) (string, bool)) Option {
	return optionFunc(func(o *options) {
		if lookup != nil {
			o.lookupEnv = lookup
		}
	})
}

// Debounce sets how long the file watcher started by [Config.Start] waits
// after the last file system event of a burst before it reloads; editors
// and deployment tools often write a file in several steps. A value of zero
// or less is ignored. The default is 100ms.
func Debounce(d time.Duration) Option {
	return optionFunc(func(o *options) {
		if d > 0 {
			o.debounce = d
		}
	})
}

// runsOnDefaults reports whether a missing file is acceptable without
// [Optional]: the program gives defaults and names no directory, no
// embedded file system and no environment (envFromVar: WEGO_ENV set it),
// so it expects to run on its defaults. A program that names any of them
// relies on a file.
func (o *options) runsOnDefaults(envFromVar bool) bool {
	return len(o.defaults) > 0 && !o.dirsGiven && o.fsys == nil && o.env == "" && !envFromVar
}

// envVar returns the name of the environment variable that sets key.
func (o *options) envVar(key string) string {
	return o.prefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// getenv reads the environment variable name; an empty value is unset.
func (o *options) getenv(name string) (string, bool) {
	v, ok := o.lookupEnv(name)
	return v, ok && v != ""
}
