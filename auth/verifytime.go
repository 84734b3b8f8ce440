package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

type verifyTimeKey struct{}

// WithVerifyTime returns a copy of ctx that makes the providers judge the
// time limits of a credential at t rather than now: a token's expiry
// ("exp") and not-before time ("nbf"), give or take the clock skew. The
// rest is judged as of now, as always: the signature, the issuer, the
// audience, a key's retirement, a revoked API key.
//
// It is for credentials that were presented at t and are checked later:
// the middleware judges the credential of a delivered event at the time
// the backend stored it, so that an event that waited in a stream (a
// subscriber away for hours, a redelivery, a replay) is not refused
// because its publisher's token expired while it waited, and a token that
// had expired when the event was stored is refused however soon the event
// is delivered.
func WithVerifyTime(ctx context.Context, t time.Time) context.Context {
	return context.WithValue(ctx, verifyTimeKey{}, t)
}

// VerifyTime returns the time that ctx sets with [WithVerifyTime], and
// whether it sets one.
func VerifyTime(ctx context.Context) (time.Time, bool) {
	t, ok := ctx.Value(verifyTimeKey{}).(time.Time)
	return t, ok
}

// untimedParser returns the parser of tokens judged at a time given with
// WithVerifyTime: the same checks of the signature and the algorithms as
// the JWT's own parser, and no check of the claims, which validateAt
// makes at that time.
func untimedParser(algs []string) *jwt.Parser {
	return jwt.NewParser(jwt.WithValidMethods(algs), jwt.WithoutClaimsValidation())
}

// claimChecks returns the options of the claims' validation but for the
// clock: the expiry required, the skew, the audience.
func claimChecks(skew time.Duration, audience []string) []jwt.ParserOption {
	opts := []jwt.ParserOption{jwt.WithExpirationRequired(), jwt.WithLeeway(skew)}
	if len(audience) > 0 {
		opts = append(opts, jwt.WithAudience(audience...))
	}
	return opts
}

// validateAt checks the claims of a token verified by the untimed parser
// as the JWT's own parser does, at the time at. Its error wraps the
// parser's sentinels, as the parser's own errors do, for tokenError.
func (j *JWT) validateAt(claims jwt.MapClaims, at time.Time) error {
	opts := append(j.checks[:len(j.checks):len(j.checks)], jwt.WithTimeFunc(func() time.Time { return at }))
	if err := jwt.NewValidator(opts...).Validate(claims); err != nil {
		return fmt.Errorf("%w: %w", jwt.ErrTokenInvalidClaims, err)
	}
	return nil
}

// notBefore returns the earliest time, in Unix nanoseconds, at which the
// verified claims are valid: the not-before time less the skew, or
// math.MinInt64 when the token has none. The cache keeps it, so that a
// token verified now is not taken from the cache for a time before it
// was valid.
// It reads the claim as the parser does (seconds, a JSON number), without
// allocating: the claims have passed validation already.
func (j *JWT) notBefore(claims jwt.MapClaims) int64 {
	var sec float64
	switch v := claims["nbf"].(type) {
	case float64:
		sec = v
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			return math.MinInt64
		}
		sec = f
	default:
		return math.MinInt64
	}
	const limit = math.MaxInt64 / 1e9 // seconds that fit in Unix nanoseconds
	if sec <= -limit || sec >= limit {
		return math.MinInt64 // not a time of this era: leave it to the parser
	}
	whole, frac := math.Modf(sec)
	return int64(whole)*1e9 + int64(math.Ceil(frac*1e9)) - int64(j.skew)
}
