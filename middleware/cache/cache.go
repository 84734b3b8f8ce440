package cache

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	gocache "github.com/patrickmn/go-cache"

	"github.com/wegomesh/wego/config"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/middleware"
)

// TTL is the attribute that makes a command cacheable for a time:
//
//	catalog.Register("catalog.Product", product, catalog.With(cache.TTL.Value(time.Minute)))
//
// Zero or negative means not cached.
var TTL = middleware.NewKey[time.Duration]("cache.ttl")

// KeyFunc is the attribute that gives a command its own cache keys. The
// function gets the request as a pointer (*Req) and returns its key, or
// false to leave the call uncached. It must be safe for concurrent use and
// must not keep req.
var KeyFunc = middleware.NewKey[func(req any) (string, bool)]("cache.key")

// Config configures the cache. It is read from the configuration section
// middleware.cache; [DefaultConfig] holds the defaults, and a zero field
// means its default.
type Config struct {
	// MaxEntries bounds the entries of each command's store. Default 10000.
	MaxEntries int `mapstructure:"max_entries"`
	// CacheErrors caches errors that are not server faults nor
	// cancellations. Default false.
	CacheErrors bool `mapstructure:"cache_errors"`
	// ErrorTTL is how long errors are cached, at most the command's TTL.
	// Default 5s.
	ErrorTTL time.Duration `mapstructure:"error_ttl"`
	// CleanupInterval is how often expired entries are removed, on an
	// insert. Default 1m.
	CleanupInterval time.Duration `mapstructure:"cleanup_interval"`
	// Commands holds per-command entries, keyed by a command name
	// ("inventory.Stock"), a service ("inventory.*") or "*" (every
	// command); keys match without regard to case. Default none.
	Commands middleware.PerCommand[CommandConfig] `mapstructure:"commands"`
}

// CommandConfig is an entry of [Config.Commands]. Zero fields inherit
// from less specific entries, then from the Config and the [TTL]
// attribute.
type CommandConfig struct {
	// TTL caches the commands for this long.
	TTL time.Duration `mapstructure:"ttl"`
	// MaxEntries overrides [Config.MaxEntries].
	MaxEntries int `mapstructure:"max_entries"`
	// ErrorTTL overrides [Config.ErrorTTL].
	ErrorTTL time.Duration `mapstructure:"error_ttl"`
	// Disable turns caching off for the commands, whatever their attribute.
	Disable bool `mapstructure:"disable"`
}

// Defaults of [Config].
const (
	DefaultMaxEntries      = 10000
	DefaultErrorTTL        = 5 * time.Second
	DefaultCleanupInterval = time.Minute
)

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{MaxEntries: DefaultMaxEntries, ErrorTTL: DefaultErrorTTL, CleanupInterval: DefaultCleanupInterval}
}

// Section is the configuration key of [Config].
const Section = "middleware.cache"

// Validate reports the first invalid value of c as a [*config.Error] whose
// key is relative to the section (`commands["inventory.Stock"].ttl`).
func (c Config) Validate() error {
	if err := (CommandConfig{MaxEntries: c.MaxEntries, ErrorTTL: c.ErrorTTL}).check(); err != nil {
		return err
	}
	if c.CleanupInterval < 0 {
		return config.Errorf("cleanup_interval", "must not be negative, got %s", c.CleanupInterval)
	}
	return config.Under("commands", c.Commands.Validate(CommandConfig.check))
}

func (e CommandConfig) check() error {
	switch {
	case e.TTL < 0:
		return config.Errorf("ttl", "must not be negative, got %s", e.TTL)
	case e.MaxEntries < 0:
		return config.Errorf("max_entries", "must not be negative, got %d", e.MaxEntries)
	case e.ErrorTTL < 0:
		return config.Errorf("error_ttl", "must not be negative, got %s", e.ErrorTTL)
	}
	return nil
}

// Policy is how one command is cached, as [Config.For] resolves it.
type Policy struct {
	TTL         time.Duration
	MaxEntries  int
	CacheErrors bool
	ErrorTTL    time.Duration
}

// For returns how the command described by spec is cached, and false when
// it is not.
func (c Config) For(spec *middleware.Spec) (Policy, bool) {
	p := Policy{MaxEntries: c.MaxEntries, CacheErrors: c.CacheErrors, ErrorTTL: c.ErrorTTL}
	p.TTL, _ = TTL.Get(spec.Attributes)
	for e := range c.Commands.Matching(spec.Name) {
		if e.Disable {
			p.TTL = 0
		} else if e.TTL > 0 {
			p.TTL = e.TTL
		}
		if e.MaxEntries > 0 {
			p.MaxEntries = e.MaxEntries
		}
		if e.ErrorTTL > 0 {
			p.ErrorTTL = e.ErrorTTL
		}
	}
	if p.MaxEntries == 0 {
		p.MaxEntries = DefaultMaxEntries
	}
	if p.ErrorTTL == 0 {
		p.ErrorTTL = DefaultErrorTTL
	}
	p.ErrorTTL = min(p.ErrorTTL, p.TTL)
	return p, p.TTL > 0
}

// Option configures a [Cache]. There are none yet; the type keeps New's
// signature stable.
type Option interface{ apply(*Cache) }

// Cache is the cache middleware: one store per cached command, and the
// invalidation API. It is safe for concurrent use. Its stores outlive
// chain rebuilds: a command keeps its entries when the catalog recomposes
// its chains.
type Cache struct {
	cfg    Config
	stores sync.Map // command name -> *store
}

// New returns the cache middleware configured by cfg, or the error of
// [Config.Validate] with its key under [Section].
func New(cfg Config, opts ...Option) (*Cache, error) {
	if err := cfg.Validate(); err != nil {
		return nil, config.Under(Section, err)
	}
	if cfg.CleanupInterval == 0 {
		cfg.CleanupInterval = DefaultCleanupInterval
	}
	c := &Cache{cfg: cfg}
	for _, o := range opts {
		if o != nil {
			o.apply(c)
		}
	}
	return c, nil
}

// store holds the entries of one command.
type store struct {
	items   *gocache.Cache
	gen     atomic.Uint64 // bumped by invalidations
	keyer   atomic.Pointer[keyer]
	cleaned atomic.Int64 // unix nanoseconds of the last removal of expired entries

	mu      sync.Mutex
	flights map[string]*flight
}

// keyer computes the keys of a command's requests.
type keyer struct {
	fn     func(req any) (string, bool) // from the KeyFunc attribute, or nil
	flat   *flatKey                     // for flat request types, or nil: JSON
	req    reflect.Type                 // the request type, Req
	reqPtr reflect.Type                 // *Req
}

func newKeyer(spec *middleware.Spec) *keyer {
	k := &keyer{req: spec.Request, reqPtr: reflect.PointerTo(spec.Request)}
	k.fn, _ = KeyFunc.Get(spec.Attributes)
	if k.fn == nil {
		k.flat = newFlatKey(spec.Request)
	}
	return k
}

// entry is one cached outcome: a response value or an error.
type entry struct {
	val any // a Resp, not a *Resp
	err error
}

// flight is a call in progress for one key.
type flight struct {
	done   chan struct{}
	val    any
	err    error
	shared bool // the outcome is the command's, not the leader's cancellation
}

func (c *Cache) store(name string) *store {
	if v, ok := c.stores.Load(name); ok {
		return v.(*store)
	}
	v, _ := c.stores.LoadOrStore(name, &store{items: gocache.New(gocache.NoExpiration, 0), flights: map[string]*flight{}})
	return v.(*store)
}

// UnaryOnly marks the cache as having nothing to do for streaming
// commands: a stream has no one response to keep.
func (c *Cache) UnaryOnly() {}

// Wrap returns next behind the command's cache, or nil (nothing added) when the
// command is not cached.
func (c *Cache) Wrap(spec *middleware.Spec, next middleware.Handler) middleware.Handler {
	p, ok := c.cfg.For(spec)
	if !ok || spec.Response == nil || spec.Request == nil {
		return nil
	}
	s := c.store(spec.Name)
	k := newKeyer(spec)
	s.keyer.Store(k)
	respType := reflect.PointerTo(spec.Response)
	cleanup := c.cfg.CleanupInterval
	return func(ctx context.Context, call *middleware.Call) error {
		rv := reflect.ValueOf(call.Response)
		if !rv.IsValid() || rv.Type() != respType || rv.IsNil() {
			return next(ctx, call) // not ours to fill
		}
		var arr [128]byte
		b, ok := k.appendKey(arr[:0], call.Request)
		if !ok {
			return next(ctx, call)
		}
		if v, found := s.items.Get(unsafe.String(unsafe.SliceData(b), len(b))); found {
			e := v.(*entry)
			if e.err != nil {
				return e.err
			}
			rv.Elem().Set(reflect.ValueOf(e.val))
			return nil
		}
		return s.miss(ctx, call, next, rv, string(b), p, cleanup)
	}
}

// miss runs the command once for all concurrent misses of key.
func (s *store) miss(ctx context.Context, call *middleware.Call, next middleware.Handler, rv reflect.Value,
	key string, p Policy, cleanup time.Duration) error {
	s.mu.Lock()
	if f, ok := s.flights[key]; ok {
		s.mu.Unlock()
		select {
		case <-f.done:
		case <-ctx.Done():
			return errs.From(ctx.Err())
		}
		if !f.shared {
			return next(ctx, call)
		}
		if f.err != nil {
			return f.err
		}
		rv.Elem().Set(reflect.ValueOf(f.val))
		return nil
	}
	f := &flight{done: make(chan struct{})}
	s.flights[key] = f
	gen := s.gen.Load()
	s.mu.Unlock()
	defer func() { // also when next panics: waiting calls then run the command themselves
		s.mu.Lock()
		delete(s.flights, key)
		s.mu.Unlock()
		close(f.done)
	}()

	err := next(ctx, call)
	if ctx.Err() != nil && err != nil {
		return err // the leader's own cancellation or deadline: not shared
	}
	f.err = err
	switch {
	case err == nil:
		f.val = rv.Elem().Interface() // a copy of the response value
		s.put(key, &entry{val: f.val}, p.TTL, p.MaxEntries, cleanup, gen)
	case p.CacheErrors && cacheableError(err):
		s.put(key, &entry{err: err}, p.ErrorTTL, p.MaxEntries, cleanup, gen)
	}
	f.shared = true
	return err
}

func cacheableError(err error) bool {
	k := errs.KindOf(err)
	return !k.ServerFault() && k != errs.KindCanceled
}

// put stores e under key unless the store was invalidated since gen or is
// full.
func (s *store) put(key string, e *entry, ttl time.Duration, maxEntries int, cleanup time.Duration, gen uint64) {
	now := time.Now().UnixNano()
	if last := s.cleaned.Load(); now-last >= int64(cleanup) && s.cleaned.CompareAndSwap(last, now) {
		s.items.DeleteExpired()
	}
	if s.items.ItemCount() >= maxEntries {
		if last := s.cleaned.Load(); now-last >= int64(time.Second) && s.cleaned.CompareAndSwap(last, now) {
			s.items.DeleteExpired()
		}
		if s.items.ItemCount() >= maxEntries {
			return
		}
	}
	if s.gen.Load() != gen {
		return // invalidated while the command ran: the response may be stale
	}
	s.items.Set(key, e, ttl)
}

// jsonBuf is a pooled buffer with a JSON encoder that writes into it.
type jsonBuf struct {
	buf bytes.Buffer
	enc *json.Encoder
}

var jsonBufs = sync.Pool{New: func() any {
	jb := new(jsonBuf)
	jb.enc = json.NewEncoder(&jb.buf)
	jb.enc.SetEscapeHTML(false)
	return jb
}}

// appendKey appends the key of req, a *Req, to b. It returns false when
// the call is not to be cached.
func (k *keyer) appendKey(b []byte, req any) ([]byte, bool) {
	if k.fn != nil {
		key, ok := k.fn(req)
		return append(b, key...), ok
	}
	if k.flat != nil {
		if reflect.TypeOf(req) != k.reqPtr {
			return b, false
		}
		p := reflect.ValueOf(req).UnsafePointer()
		if p == nil {
			return b, false
		}
		return k.flat.append(b, p), true
	}
	jb := jsonBufs.Get().(*jsonBuf)
	jb.buf.Reset()
	err := jb.enc.Encode(req)
	b = append(b, jb.buf.Bytes()...)
	if jb.buf.Cap() <= 64<<10 {
		jsonBufs.Put(jb)
	}
	return b, err == nil
}

// keyOf returns the key of a request given as a value or a pointer.
func (k *keyer) keyOf(req any) (string, bool) {
	if req == nil {
		return "", false
	}
	if reflect.TypeOf(req) == k.req { // a Req: make it a *Req
		p := reflect.New(k.req)
		p.Elem().Set(reflect.ValueOf(req))
		req = p.Interface()
	}
	b, ok := k.appendKey(nil, req)
	return string(b), ok
}

// Invalidate removes the cached outcome of command (its name,
// "inventory.Stock") for req, the request as a value or a pointer. Calls
// of the command that are running when it is called do not store their
// responses.
func (c *Cache) Invalidate(command string, req any) {
	v, ok := c.stores.Load(command)
	if !ok {
		return
	}
	s := v.(*store)
	s.gen.Add(1)
	k := s.keyer.Load()
	if k == nil {
		return
	}
	if key, ok := k.keyOf(req); ok {
		s.items.Delete(key)
	}
}

// InvalidateCommand removes every cached outcome of command. Calls of the
// command that are running when it is called do not store their
// responses.
func (c *Cache) InvalidateCommand(command string) {
	if v, ok := c.stores.Load(command); ok {
		s := v.(*store)
		s.gen.Add(1)
		s.items.Flush()
	}
}

// Len returns the number of entries cached for command, expired ones not
// yet removed included.
func (c *Cache) Len(command string) int {
	if v, ok := c.stores.Load(command); ok {
		return v.(*store).items.ItemCount()
	}
	return 0
}

var (
	_ middleware.Middleware = (*Cache)(nil)
	_ middleware.UnaryOnly  = (*Cache)(nil)
)
