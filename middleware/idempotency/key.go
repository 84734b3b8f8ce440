package idempotency

import (
	"context"

	errs "github.com/wegomesh/wego/err"
)

// Header is the name of the header that carries an idempotency key in the
// protocols that have headers: HTTP, and NATS when a transport for it
// exists.
const Header = "Idempotency-Key"

// MaxKeyLen is the longest valid key, in bytes.
const MaxKeyLen = 255

// Errors of the idempotency middleware.
var (
	// ErrInvalidKey: the key is not one value of 1 to [MaxKeyLen] printable
	// ASCII characters (400).
	ErrInvalidKey = errs.Define("idempotency.invalid_key", errs.KindInvalidArgument,
		"The idempotency key must be one value of 1 to 255 printable ASCII characters.")
	// ErrKeyReused: the key was used before for another request to the same
	// command (422). The client must send a new key with a new request.
	ErrKeyReused = errs.Define("idempotency.key_reused", errs.KindInvalidArgument,
		"The idempotency key was already used for a different request.",
		errs.WithHTTPStatus(422))
	// ErrUnavailable: the store of outcomes failed or is full of attempts in
	// progress, so the call could not be made safely (503); trying again
	// later may work.
	ErrUnavailable = errs.Define("idempotency.unavailable", errs.KindUnavailable,
		"The request cannot be accepted safely now; try again later.")
)

// ValidKey reports whether key is a valid idempotency key: 1 to
// [MaxKeyLen] bytes of printable ASCII (space to tilde).
func ValidKey(key string) bool {
	if key == "" || len(key) > MaxKeyLen {
		return false
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// CheckKey returns nil for a valid key and an [ErrInvalidKey] error
// otherwise. Transports call it on the key a client sends.
func CheckKey(key string) error {
	if ValidKey(key) {
		return nil
	}
	return ErrInvalidKey.New()
}

// ctxKey is the context key of a keyCtx.
type ctxKey struct{}

// keyCtx carries an idempotency key. It implements Value itself, as
// package log's request context does, so that adding a key costs one
// allocation and reading it none.
type keyCtx struct {
	context.Context
	key string
}

func (c *keyCtx) Value(k any) any {
	if _, ok := k.(ctxKey); ok {
		return c
	}
	return c.Context.Value(k)
}

func (c *keyCtx) String() string {
	if s, ok := c.Context.(interface{ String() string }); ok {
		return s.String() + ".WithIdempotencyKey"
	}
	return "context.WithIdempotencyKey"
}

// WithKey returns a copy of ctx that carries the idempotency key key: the
// calls made with it of commands that accept keys (see [Enabled]) store
// their first outcome under it and replay it. Transports call it with the
// key a client sent; code calls it to make its own calls retryable. An
// empty key hides any key ctx carries, so that the calls made with the
// result have none.
//
// The key travels: a command that runs with a key passes it, through its
// context, to the commands it calls, in process and over remote routes. A
// command that calls one command with a key several times for one request
// gives each call a key of its own, derived from its own:
//
//	key, _ := idempotency.KeyFrom(ctx)
//	ctx := idempotency.WithKey(ctx, key+"/line-"+strconv.Itoa(i))
func WithKey(ctx context.Context, key string) context.Context {
	if key == "" {
		if _, ok := KeyFrom(ctx); !ok {
			return ctx
		}
	}
	return &keyCtx{Context: ctx, key: key}
}

// KeyFrom returns the idempotency key ctx carries, and whether it carries
// one. It does not allocate.
func KeyFrom(ctx context.Context) (string, bool) {
	if c, ok := ctx.Value(ctxKey{}).(*keyCtx); ok && c.key != "" {
		return c.key, true
	}
	return "", false
}
