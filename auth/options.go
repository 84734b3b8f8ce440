package auth

import (
	"net/http"
	"time"

	"go.uber.org/zap"
)

// Option configures [NewJWT] and [Config.Providers]: what the process
// gives at run time rather than what configuration says.
type Option interface{ apply(*options) }

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

type options struct {
	log    *zap.Logger
	now    func() time.Time
	client *http.Client
	keys   []Key
}

func newOptions(opts []Option) *options {
	o := &options{log: zap.NewNop(), now: time.Now}
	for _, opt := range opts {
		opt.apply(o)
	}
	if o.client == nil {
		o.client = &http.Client{Timeout: 5 * time.Second}
	}
	return o
}

// WithLogger sets the logger of JWKS fetches (a failed fetch is a warning).
// Nothing of a credential is ever logged. The default logs nothing.
func WithLogger(l *zap.Logger) Option {
	return optionFunc(func(o *options) {
		if l != nil {
			o.log = l
		}
	})
}

// WithClock sets the clock that expiry, not-before, key retirement, the
// token cache and the JWKS refresh intervals read. Tests use it; the
// default is time.Now.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(o *options) {
		if now != nil {
			o.now = now
		}
	})
}

// WithHTTPClient sets the client that fetches the JWKS document. The
// default has a 5-second timeout.
func WithHTTPClient(c *http.Client) Option {
	return optionFunc(func(o *options) {
		if c != nil {
			o.client = c
		}
	})
}

// WithKeys adds verification keys made in code (a key held in memory, a
// key of a test) to those of the configuration.
func WithKeys(keys ...Key) Option {
	return optionFunc(func(o *options) { o.keys = append(o.keys, keys...) })
}
