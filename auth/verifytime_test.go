package auth

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// A context made with WithVerifyTime has the expiry and the not-before
// time judged at its time; the rest — the signature, the audience, a
// key's retirement — as of now.
func TestJWTVerifyTime(t *testing.T) {
	t.Parallel()
	k := testKeys()
	c := newClock()
	j := testJWT(t, c)
	stored := c.Now()
	m := claimsAt(stored)
	m["exp"] = stored.Add(time.Minute).Unix()
	m["nbf"] = stored.Add(-time.Minute).Unix()
	tok := sign(t, jwt.SigningMethodHS256, k.secret, "hs", m)
	at := func(t time.Time) context.Context { return WithVerifyTime(context.Background(), t) }

	c.Add(3 * time.Hour) // the event waited: the token expired since
	if _, err := j.Authenticate(context.Background(), bearer(tok)); !errors.Is(err, ErrTokenExpired) {
		t.Fatalf("now: %v, want %s", err, ErrTokenExpired.Code())
	}
	a, err := j.Authenticate(at(stored), bearer(tok))
	if err != nil || a.ID != "alice" {
		t.Fatalf("at the time it was stored: %v, %v", a, err)
	}
	if _, err := j.Authenticate(at(stored.Add(2*time.Minute)), bearer(tok)); !errors.Is(err, ErrTokenExpired) {
		t.Errorf("stored after its expiry: %v, want %s", err, ErrTokenExpired.Code())
	}
	if _, err := j.Authenticate(at(stored.Add(-2*time.Minute)), bearer(tok)); !errors.Is(err, ErrTokenNotYetValid) {
		t.Errorf("stored before its not-before time: %v, want %s", err, ErrTokenNotYetValid.Code())
	}
	if got, ok := VerifyTime(at(stored)); !ok || !got.Equal(stored) {
		t.Errorf("VerifyTime = %v, %v", got, ok)
	}
	if _, ok := VerifyTime(context.Background()); ok {
		t.Error("VerifyTime of a context without one")
	}

	// The rest is judged as usual.
	bad := claimsAt(stored)
	bad["aud"] = "billing"
	if _, err := j.Authenticate(at(stored), bearer(sign(t, jwt.SigningMethodHS256, k.secret, "hs", bad))); !errors.Is(err, ErrWrongAudience) {
		t.Errorf("another audience: %v", err)
	}
	if _, err := j.Authenticate(at(stored), bearer(tok[:len(tok)-2]+"xx")); !errors.Is(err, ErrBadSignature) {
		t.Errorf("a bad signature: %v", err)
	}
	none := claimsAt(stored)
	delete(none, "exp")
	if _, err := j.Authenticate(at(stored), bearer(sign(t, jwt.SigningMethodHS256, k.secret, "hs", none))); !errors.Is(err, ErrInvalidClaims) {
		t.Errorf("no expiry: %v", err)
	}
	// "old" retired an hour after the start: a token it signed before is
	// refused now, whenever its event was stored.
	old := claimsAt(stored)
	old["exp"] = stored.Add(5 * time.Hour).Unix()
	if _, err := j.Authenticate(at(stored), bearer(sign(t, jwt.SigningMethodRS256, k.rsa2, "old", old))); !errors.Is(err, ErrKeyRetired) {
		t.Errorf("a retired key: %v, want %s", err, ErrKeyRetired.Code())
	}
}

// A cached verification answers only for the times the token is valid
// at: the cache judges the expiry at the later of now and the time given,
// and the not-before time at the time given.
func TestJWTCacheVerifyTime(t *testing.T) {
	t.Parallel()
	k := testKeys()
	c := newClock()
	j := testJWT(t, c, func(cfg *JWTConfig) { cfg.ClockSkew = 0 })
	start := c.Now()
	m := claimsAt(start)
	m["nbf"] = start.Unix()
	m["exp"] = start.Add(time.Hour).Unix()
	tok := sign(t, jwt.SigningMethodHS256, k.secret, "hs", m)
	at := func(t time.Time) context.Context { return WithVerifyTime(context.Background(), t) }

	a1, err := j.Authenticate(context.Background(), bearer(tok)) // cached now
	if err != nil {
		t.Fatal(err)
	}
	if a, err := j.Authenticate(at(start.Add(time.Minute)), bearer(tok)); err != nil || a != a1 {
		t.Errorf("within its life: %p, %v; want the cached %p", a, err, a1)
	}
	if _, err := j.Authenticate(at(start.Add(-time.Second)), bearer(tok)); !errors.Is(err, ErrTokenNotYetValid) {
		t.Errorf("before its not-before time, cached: %v, want %s", err, ErrTokenNotYetValid.Code())
	}
	if _, err := j.Authenticate(at(start.Add(2*time.Hour)), bearer(tok)); !errors.Is(err, ErrTokenExpired) {
		t.Errorf("after its expiry, cached: %v, want %s", err, ErrTokenExpired.Code())
	}
	// Expired now, valid when stored: verified again, and accepted.
	c.Add(2 * time.Hour)
	if a, err := j.Authenticate(at(start.Add(time.Minute)), bearer(tok)); err != nil || a.ID != "alice" {
		t.Errorf("stored while valid, delivered after its expiry: %v, %v", a, err)
	}
	if _, err := j.Authenticate(context.Background(), bearer(tok)); !errors.Is(err, ErrTokenExpired) {
		t.Errorf("now, after a verification at another time: %v, want %s", err, ErrTokenExpired.Code())
	}
}

// A token verified at a time to come is not taken from the cache now,
// before its not-before time.
func TestJWTCacheVerifyTimeAhead(t *testing.T) {
	t.Parallel()
	k := testKeys()
	c := newClock()
	j := testJWT(t, c, func(cfg *JWTConfig) { cfg.ClockSkew = 0 })
	now := c.Now()
	m := claimsAt(now)
	m["nbf"] = now.Add(time.Minute).Unix()
	tok := sign(t, jwt.SigningMethodHS256, k.secret, "hs", m)
	if _, err := j.Authenticate(WithVerifyTime(context.Background(), now.Add(2*time.Minute)), bearer(tok)); err != nil {
		t.Fatalf("at a time it is valid: %v", err)
	}
	if _, err := j.Authenticate(context.Background(), bearer(tok)); !errors.Is(err, ErrTokenNotYetValid) {
		t.Errorf("now: %v, want %s", err, ErrTokenNotYetValid.Code())
	}
}

func TestRuleReaches(t *testing.T) {
	t.Parallel()
	for res, want := range map[string][2]bool{
		"inventory.Reserve": {true, false}, "inventory.*": {true, false}, "*": {true, true},
		"publish:orders.OrderPlaced": {false, true}, "Subscribe:shipping.*": {false, true}, "publish:*": {false, true},
		"bad name": {true, false},
	} {
		if c, e := (Rule{Resource: res}).Reaches(); c != want[0] || e != want[1] {
			t.Errorf("%q reaches commands %v, events %v; want %v", res, c, e, want)
		}
	}
	if PublishResource("orders.OrderPlaced") != "publish:orders.OrderPlaced" || SubscribeResource("shipping.On") != "subscribe:shipping.On" {
		t.Error("event resource names")
	}
}
