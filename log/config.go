package log

import (
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/wegomesh/wego/config"
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

// Section is the configuration key of [Config].
const Section = "log"

// Validate reports the first problem in c as a [*config.Error] whose key is
// relative to the section ("level", "output[1]"), or nil when c can be
// used. It does not open the outputs; [New] reports those errors.
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
		return s, config.Errorf("format", "unknown format %q (want json or console)", c.Format)
	}
	if sc := c.Sampling; sc != nil {
		switch {
		case sc.Initial < 1:
			return s, config.Errorf("sampling.initial", "must be at least 1, got %d", sc.Initial)
		case sc.Thereafter < 0:
			return s, config.Errorf("sampling.thereafter", "must not be negative, got %d", sc.Thereafter)
		case sc.Tick < 0:
			return s, config.Errorf("sampling.tick", "must not be negative, got %s", sc.Tick)
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
			return s, config.Errorf("output["+strconv.Itoa(i)+"]", "empty output (want stdout, stderr or a file path)")
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
	return 0, config.Errorf("level", "unknown level %q (want debug, info, warn or error)", s)
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
// Errors are those of [New].
//
// Use NewCore rather than [New] to control the outputs' lifetime, to tee the
// core with another one, or to feed [NewSlogHandler].
func NewCore(cfg Config) (core zapcore.Core, closeOutputs func(), err error) {
	s, err := cfg.build()
	if err != nil {
		return nil, nil, config.Under(Section, err)
	}
	ws, closeOutputs, err := zap.Open(s.output...)
	if err != nil {
		return nil, nil, config.Errorf(Section+".output", "cannot open: %w", err)
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
// New returns a [*config.Error] naming the key under "log" for an invalid
// configuration or an output that cannot be opened; it never panics. Files it opens stay open for the
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
