package validate

import (
	"context"
	"reflect"

	"github.com/wegomesh/wego/config"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/middleware"
)

// Section is the configuration key of [Config].
const Section = "middleware.validate"

// Validator is what a request type implements, on the type or on its
// pointer, to be validated.
type Validator interface {
	Validate() error
}

// Config configures the middleware; it is the section "middleware.validate".
type Config struct {
	// Enabled turns validation on. Default true.
	Enabled bool `mapstructure:"enabled"`
	// Commands holds per-command settings keyed by "service.Operation",
	// "service.*" or "*"; the most specific entry wins, and keys match
	// without regard to case. Default none.
	Commands middleware.PerCommand[CommandConfig] `mapstructure:"commands"`
}

// CommandConfig is an entry of [Config.Commands].
type CommandConfig struct {
	// Enabled, when set, turns validation on or off for the commands the
	// pattern matches, whatever Config.Enabled says.
	Enabled *bool `mapstructure:"enabled"`
}

// DefaultConfig returns the defaults: enabled, no per-command settings.
func DefaultConfig() Config { return Config{Enabled: true} }

// Validate reports a wrong setting as a [*config.Error] whose key is relative
// to the section, such as `commands["inventory.Reserve"]`.
func (c Config) Validate() error {
	return config.Under("commands", c.Commands.Validate(nil))
}

// Option configures a [Middleware].
type Option interface {
	apply(*Middleware)
}

type optionFunc func(*Middleware)

func (f optionFunc) apply(m *Middleware) { f(m) }

// ConvertWith sets how an error returned by a Validate method that has no
// *errs.Error in its chain becomes one. The default, [Convert], makes an
// invalid-argument error that names the field "request".
func ConvertWith(f func(error) *errs.Error) Option {
	return optionFunc(func(m *Middleware) {
		if f != nil {
			m.convert = f
		}
	})
}

// Middleware validates requests; make one with [New]. It is safe for
// concurrent use and may be put in any number of chains.
type Middleware struct {
	cfg     Config
	convert func(error) *errs.Error
}

// New returns the middleware for cfg, or the error of [Config.Validate]
// with its key under [Section] (`middleware.validate.commands["x"]`).
func New(cfg Config, opts ...Option) (*Middleware, error) {
	if err := cfg.Validate(); err != nil {
		return nil, config.Under(Section, err)
	}
	m := &Middleware{cfg: cfg, convert: Convert}
	for _, o := range opts {
		if o != nil {
			o.apply(m)
		}
	}
	return m, nil
}

var validatorType = reflect.TypeFor[Validator]()

// Wrap returns a handler that validates the request before calling next,
// or nil (nothing added) when validation is off for the command or its
// request type has no Validate method.
func (m *Middleware) Wrap(spec *middleware.Spec, next middleware.Handler) middleware.Handler {
	on := m.cfg.Enabled
	if cc, ok := m.cfg.Commands.Match(spec.Name); ok && cc.Enabled != nil {
		on = *cc.Enabled
	}
	t := spec.Request
	if !on || t == nil {
		return nil
	}
	convert := m.convert
	switch {
	case reflect.PointerTo(t).Implements(validatorType):
		// c.Request is a *Req, whose method set has Validate.
		return func(ctx context.Context, c *middleware.Call) error {
			if v, ok := c.Request.(Validator); ok {
				if err := v.Validate(); err != nil {
					return check(err, convert)
				}
			}
			return next(ctx, c)
		}
	case t.Kind() == reflect.Pointer && t.Implements(validatorType):
		// The request type is itself a pointer, so c.Request is a **T: one
		// reflective dereference per call, which only such commands pay.
		return func(ctx context.Context, c *middleware.Call) error {
			rv := reflect.ValueOf(c.Request)
			if rv.Kind() == reflect.Pointer && !rv.IsNil() {
				if rv = rv.Elem(); rv.IsNil() {
					return errRequired
				}
				if v, ok := rv.Interface().(Validator); ok {
					if err := v.Validate(); err != nil {
						return check(err, convert)
					}
				}
			}
			return next(ctx, c)
		}
	}
	return nil
}

var errRequired = errs.InvalidArgument(errs.FieldViolation{Field: "request", Reason: "is required", Key: KeyRequired})

// check returns err when it is already an errs error, and convert(err)
// otherwise.
func check(err error, convert func(error) *errs.Error) error {
	if _, ok := errs.As(err); ok {
		return err
	}
	if e := convert(err); e != nil {
		return e
	}
	return Convert(err)
}

// Convert is the default conversion of an error returned by a Validate
// method that is not an errs error: an invalid-argument error with one
// violation of the field "request" per error (errors joined with
// errors.Join give one each), whose reason is the error's text, and err as
// its cause.
func Convert(err error) *errs.Error {
	var list []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	} else {
		list = []error{err}
	}
	fields := make([]errs.FieldViolation, 0, len(list))
	for _, e := range list {
		if e != nil {
			fields = append(fields, errs.Field("request", e.Error()))
		}
	}
	return errs.InvalidArgument(fields...).WithCause(err)
}

var _ middleware.Middleware = (*Middleware)(nil)
