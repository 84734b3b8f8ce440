package idempotency

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/wegomesh/wego/config"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/log"
	"github.com/wegomesh/wego/middleware"
)

// Enabled is the attribute that makes a command accept idempotency keys:
//
//	catalog.Register("orders.Place", place, catalog.With(idempotency.Enabled.Value(true)))
//
// Set it where the command is declared: accepting a key is part of the
// command's API, and the HTTP transport lists the Idempotency-Key header in
// the OpenAPI document of the commands that have it.
var Enabled = middleware.NewKey[bool]("idempotency.enabled")

// Config configures the middleware. It is read from the configuration
// section middleware.idempotency; [DefaultConfig] holds the defaults, and a
// zero field means its default.
type Config struct {
	// TTL is how long an outcome is replayed. Default 24h.
	TTL time.Duration `mapstructure:"ttl"`
	// Lease is how long an attempt holds its key: a call with the same key
	// that comes while the attempt runs waits for it, at most until the
	// lease ends, and then runs the command itself. Make it longer than
	// the longest a command may run. Default 1m.
	Lease time.Duration `mapstructure:"lease"`
	// MaxEntries bounds the records of the default memory store, outcomes
	// and attempts in progress of every command together. Default 10000.
	MaxEntries int `mapstructure:"max_entries"`
	// Commands holds per-command entries, keyed by a command name
	// ("orders.Place"), a service ("orders.*") or "*" (every command);
	// keys match without regard to case. Default none.
	Commands middleware.PerCommand[CommandConfig] `mapstructure:"commands"`
}

// CommandConfig is an entry of [Config.Commands]. Zero fields inherit
// from less specific entries, then from the Config and the [Enabled]
// attribute.
type CommandConfig struct {
	// Enabled makes the commands accept keys, as the [Enabled] attribute
	// does.
	Enabled bool `mapstructure:"enabled"`
	// Disable makes the commands ignore keys, whatever their attribute.
	Disable bool `mapstructure:"disable"`
	// TTL and Lease override the Config's; zero inherits.
	TTL   time.Duration `mapstructure:"ttl"`
	Lease time.Duration `mapstructure:"lease"`
}

// Defaults of [Config].
const (
	DefaultTTL   = 24 * time.Hour
	DefaultLease = time.Minute
)

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{TTL: DefaultTTL, Lease: DefaultLease, MaxEntries: DefaultMaxEntries}
}

// Section is the configuration key of [Config].
const Section = "middleware.idempotency"

// Validate reports the first invalid value of c as a [*config.Error] whose
// key is relative to the section (`commands["orders.Place"].ttl`).
func (c Config) Validate() error {
	if err := (CommandConfig{TTL: c.TTL, Lease: c.Lease}).check(); err != nil {
		return err
	}
	if c.MaxEntries < 0 {
		return config.Errorf("max_entries", "must not be negative, got %d", c.MaxEntries)
	}
	return config.Under("commands", c.Commands.Validate(CommandConfig.check))
}

func (e CommandConfig) check() error {
	switch {
	case e.Enabled && e.Disable:
		return config.Errorf("", "enabled and disable are both set")
	case e.TTL < 0:
		return config.Errorf("ttl", "must not be negative, got %s", e.TTL)
	case e.Lease < 0:
		return config.Errorf("lease", "must not be negative, got %s", e.Lease)
	}
	return nil
}

// Policy is what the middleware does for one command, as [Config.For]
// resolves it.
type Policy struct {
	TTL   time.Duration
	Lease time.Duration
}

// For returns the policy of the command described by spec, and false when
// the command does not accept keys.
func (c Config) For(spec *middleware.Spec) (Policy, bool) {
	on, _ := Enabled.Get(spec.Attributes)
	p := Policy{TTL: c.TTL, Lease: c.Lease}
	for e := range c.Commands.Matching(spec.Name) {
		if e.Disable {
			on = false
		} else if e.Enabled {
			on = true
		}
		if e.TTL > 0 {
			p.TTL = e.TTL
		}
		if e.Lease > 0 {
			p.Lease = e.Lease
		}
	}
	if p.TTL <= 0 {
		p.TTL = DefaultTTL
	}
	if p.Lease <= 0 {
		p.Lease = DefaultLease
	}
	return p, on
}

// Option configures a [Middleware].
type Option interface{ apply(*Middleware) }

type optionFunc func(*Middleware)

func (f optionFunc) apply(m *Middleware) { f(m) }

// WithStore makes the middleware keep its records in s instead of a
// [MemoryStore] of [Config.MaxEntries] records: a store shared by the
// replicas of a service makes a retry that reaches another replica safe.
func WithStore(s Store) Option {
	return optionFunc(func(m *Middleware) {
		if s != nil {
			m.store = s
		}
	})
}

// WithPrincipal scopes keys by the caller: principal returns the
// authenticated caller of a call (fw passes audit.PrincipalFrom), so that
// two callers who choose the same key never see each other's outcomes.
// Calls without a principal share one scope.
func WithPrincipal(principal func(ctx context.Context) (string, bool)) Option {
	return optionFunc(func(m *Middleware) { m.principal = principal })
}

// WithLogger logs what the caller cannot see: a store that failed, an
// attempt that outlived its lease (its outcome is not stored, and a retry
// may have run the command again). Default: no logs.
func WithLogger(l *zap.Logger) Option {
	return optionFunc(func(m *Middleware) {
		if l != nil {
			m.log = l
		}
	})
}

// Middleware is the server-side idempotency middleware. It is safe for
// concurrent use.
type Middleware struct {
	cfg       Config
	store     Store
	principal func(context.Context) (string, bool)
	log       *zap.Logger
}

// New returns the middleware configured by cfg, or the error of
// [Config.Validate] with its key under [Section].
func New(cfg Config, opts ...Option) (*Middleware, error) {
	if err := cfg.Validate(); err != nil {
		return nil, config.Under(Section, err)
	}
	m := &Middleware{cfg: cfg, log: zap.NewNop()}
	for _, o := range opts {
		if o != nil {
			o.apply(m)
		}
	}
	if m.store == nil {
		m.store = NewMemoryStore(cfg.MaxEntries)
	}
	return m, nil
}

// Store returns the store of the middleware's records.
func (m *Middleware) Store() Store { return m.store }

// Wrap returns next behind the command's idempotency, or nil (nothing added) when
// the command does not accept keys.
func (m *Middleware) Wrap(spec *middleware.Spec, next middleware.Handler) middleware.Handler {
	p, ok := m.cfg.For(spec)
	if !ok || spec.Request == nil || spec.Response == nil {
		return nil
	}
	g := &guard{m: m, next: next, policy: p, name: spec.Name,
		fp: newFingerprinter(spec.Request), resp: spec.Response, respPtr: reflect.PointerTo(spec.Response)}
	return g.handle
}

// guard is the middleware for one command.
type guard struct {
	m       *Middleware
	next    middleware.Handler
	policy  Policy
	name    string
	fp      *fingerprinter
	resp    reflect.Type // Resp
	respPtr reflect.Type // *Resp
}

// handle is the per-call path: a call without a key costs a context
// lookup.
func (g *guard) handle(ctx context.Context, c *middleware.Call) error {
	key, ok := KeyFrom(ctx)
	if !ok {
		return g.next(ctx, c)
	}
	return g.keyed(ctx, c, key)
}

// Polling of stores that cannot notify (Record.Changed nil).
const (
	pollMin = 5 * time.Millisecond
	pollMax = 250 * time.Millisecond
)

func (g *guard) keyed(ctx context.Context, c *middleware.Call, key string) error {
	if !ValidKey(key) {
		return ErrInvalidKey.New()
	}
	rv := reflect.ValueOf(c.Response)
	if !rv.IsValid() || rv.Type() != g.respPtr || rv.IsNil() {
		return g.next(ctx, c) // not ours to fill
	}
	fp, err := g.fp.sum(c.Request)
	if err != nil {
		return errs.Internal().WithCause(err)
	}
	sk := g.storeKey(ctx, key)
	for {
		a := Attempt{Fingerprint: fp, Token: rand.Uint64() | 1, Lease: g.policy.Lease}
		rec, reserved, err := g.m.store.Reserve(ctx, sk, a)
		switch {
		case err != nil:
			return g.storeFailed(ctx, "reserving", err)
		case reserved:
			return g.run(ctx, c, rv, sk, a)
		case rec.Fingerprint != fp:
			return ErrKeyReused.New()
		case rec.Done:
			return g.replay(rec, rv)
		}
		if err := g.wait(ctx, sk, rec); err != nil {
			return err
		}
	}
}

// storeKey is the key of the store: the command, the principal and the
// client's key, which holds no NUL byte.
func (g *guard) storeKey(ctx context.Context, key string) string {
	var principal string
	if g.m.principal != nil {
		principal, _ = g.m.principal(ctx)
	}
	var b strings.Builder
	b.Grow(len(g.name) + len(principal) + len(key) + 2)
	b.WriteString(g.name)
	b.WriteByte(0)
	b.WriteString(principal)
	b.WriteByte(0)
	b.WriteString(key)
	return b.String()
}

// run runs the command for the attempt that holds the key and stores its
// outcome, or releases the key when there is none to replay.
func (g *guard) run(ctx context.Context, c *middleware.Call, rv reflect.Value, sk string, a Attempt) error {
	finished := false
	defer func() {
		if !finished { // next panicked: no outcome, and the next call runs
			g.release(ctx, sk, a.Token)
		}
	}()
	err := g.next(ctx, c)
	finished = true
	if !g.storable(ctx, err) {
		g.release(ctx, sk, a.Token)
		return err
	}
	rec := Record{Fingerprint: a.Fingerprint, Done: true, Err: err}
	if err == nil {
		rec.Response = rv.Elem().Interface() // a copy of the response value
	}
	// The outcome is stored even when the caller has gone: its retry
	// replays it.
	if serr := g.m.store.Complete(context.WithoutCancel(ctx), sk, a.Token, rec, g.policy.TTL); serr != nil {
		g.logStore(ctx, "completing", serr)
	}
	return err
}

// storable reports whether the outcome err is stored: success, and errors
// that answer this request for good. The errors that tell the client to try
// again — cancellation, deadline, unavailable, resource exhausted — and
// those that depend on its credentials — unauthenticated, permission denied
// — are not, and neither is any error of a call whose own context ended,
// which may come from that.
func (g *guard) storable(ctx context.Context, err error) bool {
	if err == nil {
		return true
	}
	if ctx.Err() != nil {
		return false
	}
	return Stored(errs.KindOf(err))
}

// Stored reports whether the middleware stores and replays errors of kind
// k: invalid argument, not found, already exists, conflict and internal.
// Errors of the other kinds let the next call with the same key run the
// command again.
func Stored(k errs.Kind) bool {
	switch k {
	case errs.KindInvalidArgument, errs.KindNotFound, errs.KindAlreadyExists, errs.KindConflict, errs.KindInternal:
		return true
	}
	return false
}

func (g *guard) release(ctx context.Context, sk string, token uint64) {
	if err := g.m.store.Release(context.WithoutCancel(ctx), sk, token); err != nil {
		g.logStore(ctx, "releasing", err)
	}
}

// replay copies a stored outcome into the call.
func (g *guard) replay(rec Record, rv reflect.Value) error {
	if rec.Err != nil {
		return rec.Err
	}
	v := reflect.ValueOf(rec.Response)
	switch {
	case v.IsValid() && v.Type() == g.resp:
		rv.Elem().Set(v)
	case v.IsValid() && v.Type() == rawMessage:
		if err := json.Unmarshal(rec.Response.(json.RawMessage), rv.Interface()); err != nil {
			return errs.Internal().WithCause(fmt.Errorf("idempotency: %s: decoding a stored response: %w", g.name, err))
		}
	default:
		return errs.Internal().WithCause(fmt.Errorf("idempotency: %s: a stored response of type %T, want %s", g.name, rec.Response, g.resp))
	}
	return nil
}

var rawMessage = reflect.TypeFor[json.RawMessage]()

// wait waits until the attempt that rec describes ends, its lease ends, or
// ctx ends.
func (g *guard) wait(ctx context.Context, sk string, rec Record) error {
	delay := pollMin
	for {
		d := time.Until(rec.Expires)
		if d <= 0 {
			return nil
		}
		if rec.Changed == nil {
			d = min(d, delay)
			delay = min(2*delay, pollMax)
		}
		t := time.NewTimer(d)
		select {
		case <-rec.Changed: // nil: never
			t.Stop()
			return nil
		case <-ctx.Done():
			t.Stop()
			return errs.From(ctx.Err())
		case <-t.C:
		}
		if rec.Changed != nil {
			return nil // the lease ended
		}
		r, found, err := g.m.store.Get(ctx, sk)
		switch {
		case err != nil:
			return g.storeFailed(ctx, "reading", err)
		case !found || r.Done || r.Fingerprint != rec.Fingerprint:
			return nil
		}
		rec = r
	}
}

// storeFailed is the error of a call whose store failed: a retryable 503.
func (g *guard) storeFailed(ctx context.Context, op string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return errs.From(ctxErr).WithCause(err)
	}
	g.logStore(ctx, op, err)
	return ErrUnavailable.Wrap(fmt.Errorf("idempotency: %s: %s the key: %w", g.name, op, err))
}

func (g *guard) logStore(ctx context.Context, op string, err error) {
	msg := "idempotency: store failed"
	if errors.Is(err, ErrLeaseLost) {
		msg = "idempotency: attempt outlived its lease; its outcome is not stored"
	}
	if ce := g.m.log.Check(zap.WarnLevel, msg); ce != nil {
		var buf [6]zap.Field
		fields := log.AppendFields(ctx, buf[:0])
		if cmd, ok := log.CommandFrom(ctx); !ok || cmd != g.name {
			fields = append(fields, zap.String("idempotent_command", g.name))
		}
		fields = append(fields, zap.String("op", op), zap.Error(err))
		ce.Write(fields...)
	}
}
