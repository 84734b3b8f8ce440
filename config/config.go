package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/viper"
	"go.uber.org/zap"
)

// extensions are the file formats that Load looks for, in this order.
var extensions = []string{"yaml", "yml", "toml", "json"}

// Config is a loaded, layered configuration. It is safe for concurrent use:
// every read sees one consistent version, and a reload (see [Config.Start])
// replaces that version atomically.
type Config struct {
	o    *options
	env  string
	snap atomic.Pointer[snapshot]
	log  atomic.Pointer[zap.Logger] // reports reloads and changes

	// reloadMu serializes Reload and Watch, and is held while subscribers
	// are called, so that each subscriber sees versions in order.
	reloadMu sync.Mutex

	mu       sync.Mutex // guards the fields below
	subs     []*subscription
	known    []string // top-level keys registered by CheckKnown; nil when none
	cancel   func()   // stops the watcher; nil when not started
	done     chan struct{}
	follower *follower // the attached Source; nil when none
}

// snapshot is one immutable version of the configuration: the defaults and
// the files merged by viper, and the values of the attached [Source].
// Environment variables, the source's values and overrides are laid over
// the tree when a key is read, because the keys that environment variables
// may set are only known from the type a section is decoded into.
type snapshot struct {
	tree    map[string]any
	origins map[string]origin // leaf key → layer it came from
	files   []*file           // the files in use, lowest layer first
	label   string            // the files in use, for messages

	dynName   string         // the attached source's name
	dyn       map[string]any // its accepted values, decoded, by its keys
	dynLeaves []leaf         // dyn split into leaves, shallower keys first
}

// file is one configuration file that was read.
type file struct {
	label string // path on disk, or "embed:" and the path in the FS
	ext   string
	data  []byte
	keys  []string // top-level keys, sorted
}

// origin says where a value came from.
type origin struct {
	file   string
	source string
}

// Load reads the configuration for one environment: the defaults, the
// environment's file (embedded, then on disk), the environment variables and
// the overrides, each layer above the one before. See the package
// documentation for the rules and [Option] for the settings.
//
// Load reads the file but does not decode any section; the errors it returns
// are about finding and parsing the file. Sections are checked by
// [Config.Section], [Get] and [GetWithDefaults], and unknown top-level keys
// by [Config.CheckKnown].
func Load(opts ...Option) (*Config, error) {
	o := newOptions(opts)
	env, err := envName(o)
	if err != nil {
		return nil, err
	}
	if _, fromVar := o.getenv(o.prefix + "ENV"); o.runsOnDefaults(fromVar) {
		o.optional = true
	}
	c := &Config{o: o, env: env}
	c.log.Store(o.logger)
	s, err := c.build()
	if err != nil {
		return nil, err
	}
	c.snap.Store(s)
	return c, nil
}

// envName returns the validated name of the environment.
func envName(o *options) (string, error) {
	name, source := o.env, ""
	if name == "" {
		if v, ok := o.getenv(o.prefix + "ENV"); ok {
			name, source = v, SourceEnv+" "+o.prefix+"ENV"
		}
	}
	if name == "" {
		return "dev", nil
	}
	for _, r := range name {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_') {
			return "", &Error{Source: source, Err: fmt.Errorf("invalid environment name %q: use only letters, digits, '-' and '_'", name)}
		}
	}
	return name, nil
}

// build reads every layer afresh and merges the defaults and the files with
// a new viper instance.
func (c *Config) build() (*snapshot, error) {
	embedded, err := c.findEmbedded()
	if err != nil {
		return nil, err
	}
	disk, tried, err := c.findOnDisk()
	if err != nil {
		return nil, err
	}
	if disk == nil && embedded == nil && !c.o.optional {
		return nil, &Error{Err: fmt.Errorf("%w for environment %q: tried %s; create one of them, or pass config.Optional() to run on defaults and environment variables alone",
			ErrNotFound, c.env, strings.Join(tried, ", "))}
	}

	s := &snapshot{origins: map[string]origin{}}
	v := viper.New()
	for _, l := range c.o.defaults {
		v.SetDefault(l.key, l.value)
		s.origins[l.key] = origin{source: SourceDefault}
	}
	for _, f := range []*file{embedded, disk} {
		if f == nil {
			continue
		}
		m, err := parse(f)
		if err != nil {
			return nil, err
		}
		walkLeaves("", m, func(key string, _ any) {
			s.origins[key] = origin{file: f.label, source: SourceFile}
		})
		if err := v.MergeConfigMap(m); err != nil {
			return nil, &Error{File: f.label, Source: SourceFile, Err: err}
		}
		s.files = append(s.files, f)
	}
	s.tree = v.AllSettings()
	labels := make([]string, len(s.files))
	for i, f := range s.files {
		labels[i] = f.label
	}
	s.label = strings.Join(labels, ", ")
	for k, o := range s.origins {
		if o.file == "" {
			o.file = s.label
			s.origins[k] = o
		}
	}
	return s, nil
}

// parse decodes a file with its own viper instance, and records its
// top-level keys.
func parse(f *file) (map[string]any, error) {
	v := viper.New()
	v.SetConfigType(f.ext)
	if err := v.ReadConfig(bytes.NewReader(f.data)); err != nil {
		var pe viper.ConfigParseError
		if errors.As(err, &pe) {
			err = pe.Unwrap()
		}
		return nil, &Error{File: f.label, Source: SourceFile, Err: err}
	}
	m := v.AllSettings()
	f.keys = make([]string, 0, len(m))
	for k := range m {
		f.keys = append(f.keys, k)
	}
	slices.Sort(f.keys)
	return m, nil
}

// findOnDisk returns the environment's file from the first directory that
// holds one, and the paths it tried.
func (c *Config) findOnDisk() (*file, []string, error) {
	var tried []string
	for _, dir := range c.o.dirs {
		var found []*file
		for _, ext := range extensions {
			p := filepath.Join(dir, c.env+"."+ext)
			tried = append(tried, p)
			data, err := os.ReadFile(p)
			switch {
			case errors.Is(err, fs.ErrNotExist):
				continue
			case err != nil:
				return nil, tried, &Error{File: p, Source: SourceFile, Err: err}
			}
			found = append(found, &file{label: p, ext: ext, data: data})
		}
		if f, err := oneOf(found); f != nil || err != nil {
			return f, tried, err
		}
	}
	return nil, tried, nil
}

// findEmbedded returns the environment's file from the FS option, looked up
// at its root, then under "config" and under each directory.
func (c *Config) findEmbedded() (*file, error) {
	if c.o.fsys == nil {
		return nil, nil
	}
	dirs := []string{".", "config"}
	for _, d := range c.o.dirs {
		if d = path.Clean(filepath.ToSlash(d)); fs.ValidPath(d) && !slices.Contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	for _, dir := range dirs {
		var found []*file
		for _, ext := range extensions {
			p := path.Join(dir, c.env+"."+ext)
			data, err := fs.ReadFile(c.o.fsys, p)
			switch {
			case errors.Is(err, fs.ErrNotExist):
				continue
			case err != nil:
				return nil, &Error{File: "embed:" + p, Source: SourceFile, Err: err}
			}
			found = append(found, &file{label: "embed:" + p, ext: ext, data: data})
		}
		if f, err := oneOf(found); f != nil || err != nil {
			return f, err
		}
	}
	return nil, nil
}

// oneOf returns the only file found in a directory; two files for the same
// environment (dev.yaml and dev.json) are an error rather than a guess.
func oneOf(found []*file) (*file, error) {
	switch len(found) {
	case 0:
		return nil, nil
	case 1:
		return found[0], nil
	}
	labels := make([]string, len(found))
	for i, f := range found {
		labels[i] = f.label
	}
	return nil, &Error{File: found[0].label, Source: SourceFile,
		Err: fmt.Errorf("several files for one environment: %s; keep one", strings.Join(labels, ", "))}
}

// SetLogger replaces the logger that reports reloads and the changes of an
// attached [Source], and, at error level, those it rejects (see [Logger]).
// An application that builds its logger from the configuration sets it
// once the logger is built. A nil logger is ignored.
func (c *Config) SetLogger(l *zap.Logger) {
	if l != nil {
		c.log.Store(l)
	}
}

// logger returns the logger that reports reloads and changes.
func (c *Config) logger() *zap.Logger { return c.log.Load() }

// Env returns the name of the environment, as chosen by [Env], WEGO_ENV or
// the default "dev".
func (c *Config) Env() string { return c.env }

// File returns the file or files in use, lowest layer first and separated
// by ", ", for messages; an embedded file is shown as "embed:" and its path
// in the FS. It returns "" when no file was found and that was acceptable
// (see [Optional]).
func (c *Config) File() string { return c.snap.Load().label }

// view is a section with the environment variables and the overrides laid
// over it.
type view struct {
	value   any               // nil when no layer sets the section
	origins map[string]origin // relative key → layer, for the overlaid keys
}

// view builds the section at key from s, the environment variables for
// keys (relative to key) and for every leaf s holds, and the overrides.
func (c *Config) view(s *snapshot, key string, keys []string) view {
	v := view{origins: map[string]origin{}}
	if base, ok := lookupPath(s.tree, key); ok {
		v.value = copyTree(base)
	}

	candidates := slices.Clone(keys)
	if m, ok := v.value.(map[string]any); ok {
		walkLeaves("", m, func(k string, _ any) { candidates = append(candidates, k) })
	}
	slices.Sort(candidates)
	for _, rel := range slices.Compact(candidates) {
		name := c.o.envVar(joinKey(key, rel))
		if val, ok := c.o.getenv(name); ok {
			setPath(&v.value, rel, val)
			v.origins[rel] = origin{file: s.label, source: SourceEnv + " " + name}
		}
	}

	if len(s.dynLeaves) > 0 {
		v.overlay(key, s.dynLeaves, origin{file: s.label, source: SourceDynamic + " " + s.dynName})
	}
	v.overlay(key, c.o.overrides, origin{file: s.label, source: SourceOverride})
	if m, ok := v.value.(map[string]any); ok && len(m) == 0 && key != "" {
		v.value = nil
	}
	return v
}

// overlay lays the leaves that concern the section at key over the view,
// in order, recording o as their origin.
func (v *view) overlay(key string, leaves []leaf, o origin) {
	for _, l := range leaves {
		switch {
		case l.key == key || isUnder(l.key, key):
			rel := strings.TrimPrefix(strings.TrimPrefix(l.key, key), ".")
			setPath(&v.value, rel, copyTree(l.value))
			for k := range v.origins {
				if isUnder(k, rel) {
					delete(v.origins, k)
				}
			}
			v.origins[rel] = o
		case isUnder(key, l.key):
			// A value replaces an ancestor of the section, so the section
			// does not exist.
			v.value = nil
			clear(v.origins)
		}
	}
}

// origin returns where the value at rel (relative to the section at key)
// came from: the overlay that set it or an ancestor, else the layer of the
// snapshot that did, else the files in use.
func (c *Config) origin(s *snapshot, v view, key, rel string) origin {
	if i := strings.IndexByte(rel, '['); i >= 0 {
		rel = rel[:i] // tags[0] → tags
	}
	for r := rel; ; r = parentKey(r) {
		if o, ok := v.origins[r]; ok {
			return o
		}
		if r == "" {
			break
		}
	}
	for k := joinKey(key, rel); k != ""; k = parentKey(k) {
		if o, ok := s.origins[k]; ok {
			return o
		}
	}
	return origin{file: s.label}
}

// Section decodes the section at key (a dotted path such as "http" or
// "http.tls"; "" is the whole configuration) into target, which must be a
// non-nil pointer, usually to a struct with mapstructure tags.
//
// Fields that no layer sets keep the value they have in *target, so a
// target filled with defaults gives per-section defaults. Strings from
// environment variables and files are converted to numbers, booleans,
// durations ("1.5s") and lists (comma-separated), and types that implement
// [encoding.TextUnmarshaler] parse themselves. A key that the struct does not
// have is an error (a typo must not pass silently), as is a value of the
// wrong type. When decoding succeeds and *target (or target) has a method
// Validate() error, Section calls it; Validate may return an [*Error] whose
// Key names the offending field relative to the section.
//
// Every error is an [*Error] (several are joined) that names the key and the
// file, environment variable, override or default the value came from. On
// error *target is left unchanged.
func (c *Config) Section(key string, target any) error {
	return c.section(c.snap.Load(), key, target)
}

func (c *Config) section(s *snapshot, key string, target any) error {
	key = normalizeKey(key)
	rv := reflect.ValueOf(target)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return &Error{Key: key, File: s.label, Err: fmt.Errorf("Section needs a non-nil pointer, not %T", target)}
	}
	keys := structKeys(rv.Type().Elem())
	v := c.view(s, key, keys)
	out := clone(rv.Elem())
	if v.value != nil {
		unused, problems := decode(v.value, out.Addr())
		var errs []error
		for _, p := range problems {
			o := c.origin(s, v, key, p.key)
			errs = append(errs, &Error{Key: joinKey(key, p.key), File: o.file, Source: o.source, Err: p.err})
		}
		for _, u := range unused {
			u = strings.ToLower(u)
			o := c.origin(s, v, key, u)
			errs = append(errs, &Error{Key: joinKey(key, u), File: o.file, Source: o.source,
				Err: &unknownKeyError{suggestion: suggestKey(key, u, keys)}})
		}
		if len(errs) > 0 {
			return errors.Join(errs...)
		}
	}
	if err := validate(out); err != nil {
		var errs []error
		for _, e := range flattenJoin(err) {
			var ce *Error
			if errors.As(e, &ce) {
				// Copy: the Validate method's error is not ours to change.
				ce = &Error{Key: normalizeKey(ce.Key), File: ce.File, Source: ce.Source, Err: ce.Err}
			} else {
				ce = &Error{Err: e}
			}
			if ce.File == "" && ce.Source == "" {
				o := c.origin(s, v, key, ce.Key)
				ce.File, ce.Source = o.file, o.source
			}
			ce.Key = joinKey(key, ce.Key)
			errs = append(errs, ce)
		}
		return errors.Join(errs...)
	}
	rv.Elem().Set(out)
	return nil
}

// validate calls the Validate method of the decoded value, if it has one.
func validate(out reflect.Value) error {
	type validator interface{ Validate() error }
	if val, ok := out.Addr().Interface().(validator); ok {
		return val.Validate()
	}
	if out.Kind() == reflect.Pointer && !out.IsNil() {
		if val, ok := out.Interface().(validator); ok {
			return val.Validate()
		}
	}
	return nil
}

// suggestKey returns the full key closest to the unknown key u, among the
// keys a section of this type has at the same level.
func suggestKey(section, u string, keys []string) string {
	parent := parentKey(u)
	var siblings []string
	for _, k := range keys {
		for ; k != ""; k = parentKey(k) {
			if parentKey(k) == parent && !slices.Contains(siblings, k) {
				siblings = append(siblings, k)
			}
		}
	}
	slices.Sort(siblings)
	last := func(k string) string { return k[strings.LastIndexByte(k, '.')+1:] }
	names := make([]string, len(siblings))
	for i, k := range siblings {
		names[i] = last(k)
	}
	if s := suggest(last(u), names); s != "" {
		return joinKey(section, joinKey(parent, s))
	}
	return ""
}

// Get decodes the section at key into a new T, as [Config.Section] does.
// Fields that no layer sets keep their zero value. T may be a struct, a map,
// a slice or a scalar: Get[int](c, "http.port").
func Get[T any](c *Config, key string) (T, error) {
	var zero T
	return GetWithDefaults(c, key, zero)
}

// GetWithDefaults decodes the section at key into a copy of defaults, as
// [Config.Section] does: fields that no layer sets keep the value they have
// in defaults. It never modifies defaults, even through its maps, slices and
// pointers. On error it returns the zero T.
func GetWithDefaults[T any](c *Config, key string, defaults T) (T, error) {
	return getWithDefaults(c, c.snap.Load(), key, defaults)
}

func getWithDefaults[T any](c *Config, s *snapshot, key string, defaults T) (T, error) {
	t := defaults
	if err := c.section(s, key, &t); err != nil {
		var zero T
		return zero, err
	}
	return t, nil
}

// CheckKnown returns an [*Error] for each top-level key of the file or files
// in use, and of the attached [Source], that is not one of sections
// (several are joined), so that a typo such as "htpp:" fails start-up
// instead of being ignored. A key such as "http.tls" counts as its first
// part. The sections are remembered: a reload whose file has an unknown
// top-level key is rejected, and so is a change of the source that sets
// one.
func (c *Config) CheckKnown(sections ...string) error {
	known := make([]string, 0, len(sections))
	for _, s := range sections {
		s = normalizeKey(s)
		s, _, _ = strings.Cut(s, ".")
		if s != "" && !slices.Contains(known, s) {
			known = append(known, s)
		}
	}
	slices.Sort(known)
	c.mu.Lock()
	c.known = known
	c.mu.Unlock()
	return checkKnown(c.snap.Load(), known)
}

func checkKnown(s *snapshot, known []string) error {
	var errs []error
	var seen []string
	unknown := func(k, file, source string) {
		if k == "" || slices.Contains(known, k) || slices.Contains(seen, k) {
			return
		}
		seen = append(seen, k)
		errs = append(errs, &Error{Key: k, File: file, Source: source,
			Err: &unknownKeyError{suggestion: suggest(k, known)}})
	}
	for _, l := range s.dynLeaves {
		top, _, _ := strings.Cut(l.key, ".")
		unknown(top, s.label, SourceDynamic+" "+s.dynName)
	}
	for _, f := range slices.Backward(s.files) {
		for _, k := range f.keys {
			unknown(k, f.label, SourceFile)
		}
	}
	return errors.Join(errs...)
}

// IsSet reports whether any layer sets key (to a value other than null or
// an empty map). For a key that no file or default mentions, only the
// environment variable named after key itself is consulted.
func (c *Config) IsSet(key string) bool {
	key = normalizeKey(key)
	return c.view(c.snap.Load(), key, []string{""}).value != nil
}

// String returns the value at key as a string, or "" when it is not set or
// not a scalar. Use [Get] to see the error.
func (c *Config) String(key string) string {
	v, _ := Get[string](c, key)
	return v
}

// Int returns the value at key as an int, or 0 when it is not set or is not
// an integer. Use [Get] to see the error.
func (c *Config) Int(key string) int {
	v, _ := Get[int](c, key)
	return v
}

// Bool returns the value at key as a bool, or false when it is not set or is
// not a boolean. Use [Get] to see the error.
func (c *Config) Bool(key string) bool {
	v, _ := Get[bool](c, key)
	return v
}

// Duration returns the value at key as a time.Duration, or 0 when it is not
// set or is not a duration such as "1.5s". Use [Get] to see the error.
func (c *Config) Duration(key string) time.Duration {
	v, _ := Get[time.Duration](c, key)
	return v
}
