package log

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Config configures a logger built by [New] or [NewCore]. It is read from
// the "log" section of the configuration (the mapstructure tags are the
// keys); [DefaultConfig] holds the defaults.
//
// The zero value of each field means its default, so the zero Config is
// valid and equivalent to DefaultConfig.
type Config struct {
	// Level is the minimum level logged: "debug", "info", "warn" or
	// "error", in any case. Default "info".
	Level string `mapstructure:"level"`
	// Format is the encoding of each entry: "json" (one JSON object per
	// line) or "console" (human-readable, tab-separated). Default "json".
	Format string `mapstructure:"format"`
	// Sampling, when set, limits the entries logged per second for each
	// level and message. Default nil: no sampling.
	Sampling *SamplingConfig `mapstructure:"sampling"`
	// Output lists where entries are written: "stdout", "stderr", file
	// paths or file URLs, as accepted by [zap.Open]. Default ["stdout"].
	Output []string `mapstructure:"output"`
	// Development makes DPanic entries panic and adds stack traces to
	// entries at error level and above. Default false.
	Development bool `mapstructure:"development"`
	// Caller adds the file and line of the logging call to each entry, at
	// the cost of a runtime.Caller per entry. Default false.
	Caller bool `mapstructure:"caller"`
}

// SamplingConfig configures sampling: in each Tick, the first Initial
// entries with a given level and message are logged, and after that only
// every Thereafter-th one. It bounds the cost of a hot loop that logs.
type SamplingConfig struct {
	// Initial is the number of entries logged per Tick before sampling
	// starts. It must be at least 1.
	Initial int `mapstructure:"initial"`
	// Thereafter is the sampling rate after Initial entries: 1 of every
	// Thereafter entries is logged. Zero drops all of them until the next
	// Tick.
	Thereafter int `mapstructure:"thereafter"`
	// Tick is the sampling period. Zero means one second.
	Tick time.Duration `mapstructure:"tick"`
}

// Defaults of [Config].
const (
	DefaultLevel        = "info"
	DefaultFormat       = "json"
	DefaultOutput       = "stdout"
	DefaultSamplingTick = time.Second
)

// DefaultConfig returns the default configuration: level "info", JSON
// format, written to stdout, without sampling, caller or development mode.
func DefaultConfig() Config {
	return Config{
		Level:  DefaultLevel,
		Format: DefaultFormat,
		Output: []string{DefaultOutput},
	}
}

// ConfigError is the error returned by [Config.Validate], [New] and
// [NewCore] for a configuration that cannot be used. It names the
// configuration key at fault.
type ConfigError struct {
	// Key is the full configuration key, for example "log.level" or
	// "log.output[1]".
	Key string
	// Msg says what is wrong with the value.
	Msg string
	// Err is the underlying error, if any.
	Err error
}

// Error returns "key: msg", followed by the underlying error if any.
func (e *ConfigError) Error() string {
	if e.Err != nil {
		return e.Key + ": " + e.Msg + ": " + e.Err.Error()
	}
	return e.Key + ": " + e.Msg
}

// Unwrap returns the underlying error, if any.
func (e *ConfigError) Unwrap() error { return e.Err }

// Validate reports the first problem in c as a [*ConfigError], or nil when c
// can be used. It does not open the outputs; [New] reports those errors.
func (c Config) Validate() error {
	_, err := c.build()
	return err
}

// settings is a validated Config with defaults applied.
type settings struct {
	level    zapcore.Level
	console  bool
	sampling *SamplingConfig
	output   []string
}

func (c Config) build() (settings, error) {
	var s settings
	var err error
	if s.level, err = parseLevel(c.Level); err != nil {
		return s, err
	}
	switch {
	case c.Format == "" || strings.EqualFold(c.Format, "json"):
	case strings.EqualFold(c.Format, "console"):
		s.console = true
	default:
		return s, &ConfigError{Key: "log.format", Msg: fmt.Sprintf("unknown format %q (want json or console)", c.Format)}
	}
	if sc := c.Sampling; sc != nil {
		switch {
		case sc.Initial < 1:
			return s, &ConfigError{Key: "log.sampling.initial", Msg: fmt.Sprintf("must be at least 1, got %d", sc.Initial)}
		case sc.Thereafter < 0:
			return s, &ConfigError{Key: "log.sampling.thereafter", Msg: fmt.Sprintf("must not be negative, got %d", sc.Thereafter)}
		case sc.Tick < 0:
			return s, &ConfigError{Key: "log.sampling.tick", Msg: fmt.Sprintf("must not be negative, got %s", sc.Tick)}
		}
		cp := *sc
		if cp.Tick == 0 {
			cp.Tick = DefaultSamplingTick
		}
		s.sampling = &cp
	}
	s.output = c.Output
	if len(s.output) == 0 {
		s.output = []string{DefaultOutput}
	}
	for i, o := range s.output {
		if strings.TrimSpace(o) == "" {
			return s, &ConfigError{Key: "log.output[" + strconv.Itoa(i) + "]", Msg: "empty output (want stdout, stderr or a file path)"}
		}
	}
	return s, nil
}

func parseLevel(s string) (zapcore.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return zapcore.DebugLevel, nil
	case "", "info":
		return zapcore.InfoLevel, nil
	case "warn":
		return zapcore.WarnLevel, nil
	case "error":
		return zapcore.ErrorLevel, nil
	}
	return 0, &ConfigError{Key: "log.level", Msg: fmt.Sprintf("unknown level %q (want debug, info, warn or error)", s)}
}

// EncoderConfig returns the zap encoder configuration used for format
// ("json" or "console"). JSON entries have the keys ts (RFC 3339 with
// nanoseconds), level, logger, caller, msg and stacktrace; durations are in
// seconds.
func EncoderConfig(format string) zapcore.EncoderConfig {
	if strings.EqualFold(format, "console") {
		ec := zap.NewDevelopmentEncoderConfig()
		ec.EncodeTime = zapcore.RFC3339NanoTimeEncoder
		return ec
	}
	ec := zap.NewProductionEncoderConfig()
	ec.EncodeTime = zapcore.RFC3339NanoTimeEncoder
	return ec
}

// NewCore validates cfg, opens its outputs and returns the zap core that
// writes to them, with sampling when configured. closeOutputs releases the outputs
// (it closes opened files, not stdout or stderr); call it once the core and
// every logger built on it are no longer used, after a final Sync.
//
// Use NewCore rather than [New] to control the outputs' lifetime, to tee the
// core with another one, or to feed [NewSlogHandler].
func NewCore(cfg Config) (core zapcore.Core, closeOutputs func(), err error) {
	s, err := cfg.build()
	if err != nil {
		return nil, nil, err
	}
	ws, closeOutputs, err := zap.Open(s.output...)
	if err != nil {
		return nil, nil, &ConfigError{Key: "log.output", Msg: "cannot open", Err: err}
	}
	var enc zapcore.Encoder
	if s.console {
		enc = zapcore.NewConsoleEncoder(EncoderConfig("console"))
	} else {
		enc = zapcore.NewJSONEncoder(EncoderConfig("json"))
	}
	core = zapcore.NewCore(enc, ws, s.level)
	if sc := s.sampling; sc != nil {
		core = zapcore.NewSamplerWithOptions(core, sc.Tick, sc.Initial, sc.Thereafter)
	}
	return core, closeOutputs, nil
}

// New validates cfg and builds a logger that writes as it says. The options
// opts are applied after those derived from cfg (caller, development mode),
// so they can add to or override them.
//
// New returns a [*ConfigError] for an invalid configuration or an output
// that cannot be opened; it never panics. Files it opens stay open for the
// life of the process; use [NewCore] to close them.
func New(cfg Config, opts ...zap.Option) (*zap.Logger, error) {
	core, _, err := NewCore(cfg)
	if err != nil {
		return nil, err
	}
	var base []zap.Option
	if cfg.Caller {
		base = append(base, zap.AddCaller())
	}
	if cfg.Development {
		base = append(base, zap.Development(), zap.AddStacktrace(zapcore.ErrorLevel))
	}
	return zap.New(core, append(base, opts...)...), nil
}

var _ error = (*ConfigError)(nil)
