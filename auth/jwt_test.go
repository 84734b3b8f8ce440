package auth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	errs "github.com/wegomesh/wego/err"
)

func bearer(tok string) Credential { return Credential{Scheme: SchemeBearer, Value: tok} }

// Every bad credential fails with its own code, of kind unauthenticated,
// and no error holds the token.
func TestJWTRejects(t *testing.T) {
	t.Parallel()
	k := testKeys()
	c := newClock()
	j := testJWT(t, c)
	now := c.Now()
	with := func(mod func(jwt.MapClaims)) jwt.MapClaims {
		m := claimsAt(now)
		mod(m)
		return m
	}
	valid := sign(t, jwt.SigningMethodHS256, k.secret, "hs", claimsAt(now))
	parts := strings.Split(valid, ".")
	rsPEM := []byte(pemPublic(t, &k.rsa.PublicKey))
	none := sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "hs", claimsAt(now))

	tests := []struct {
		name string
		tok  string
		want *errs.Def
	}{
		{"empty", "", ErrMalformedCredential},
		{"not a JWT", "abc", ErrMalformedCredential},
		{"two segments", parts[0] + "." + parts[1], ErrMalformedCredential},
		{"four segments", valid + ".x", ErrMalformedCredential},
		{"bad base64", parts[0] + ".!!!." + parts[2], ErrMalformedCredential},
		{"header not JSON", "bm90anNvbg." + parts[1] + "." + parts[2], ErrMalformedCredential},
		{"kid not a string", sign(t, jwt.SigningMethodHS256, k.secret, "", jwt.MapClaims{}) + "", ErrInvalidClaims},
		{"expired", sign(t, jwt.SigningMethodHS256, k.secret, "hs", with(func(m jwt.MapClaims) { m["exp"] = now.Add(-time.Minute).Unix() })), ErrTokenExpired},
		{"not yet valid", sign(t, jwt.SigningMethodHS256, k.secret, "hs", with(func(m jwt.MapClaims) { m["nbf"] = now.Add(time.Minute).Unix() })), ErrTokenNotYetValid},
		{"no expiry", sign(t, jwt.SigningMethodHS256, k.secret, "hs", with(func(m jwt.MapClaims) { delete(m, "exp") })), ErrInvalidClaims},
		{"no subject", sign(t, jwt.SigningMethodHS256, k.secret, "hs", with(func(m jwt.MapClaims) { delete(m, "sub") })), ErrInvalidClaims},
		{"scope of the wrong type", sign(t, jwt.SigningMethodHS256, k.secret, "hs", with(func(m jwt.MapClaims) { m["scope"] = 42 })), ErrInvalidClaims},
		{"account type unknown", sign(t, jwt.SigningMethodHS256, k.secret, "hs", with(func(m jwt.MapClaims) { m[TypeClaim] = "robot" })), ErrInvalidClaims},
		{"wrong issuer", sign(t, jwt.SigningMethodHS256, k.secret, "hs", with(func(m jwt.MapClaims) { m["iss"] = "https://evil.example.com" })), ErrWrongIssuer},
		{"no issuer", sign(t, jwt.SigningMethodHS256, k.secret, "hs", with(func(m jwt.MapClaims) { delete(m, "iss") })), ErrWrongIssuer},
		{"wrong audience", sign(t, jwt.SigningMethodHS256, k.secret, "hs", with(func(m jwt.MapClaims) { m["aud"] = "billing" })), ErrWrongAudience},
		{"no audience", sign(t, jwt.SigningMethodHS256, k.secret, "hs", with(func(m jwt.MapClaims) { delete(m, "aud") })), ErrWrongAudience},
		{"alg none", none, ErrUnsignedToken},
		{"alg none without kid", sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", claimsAt(now)), ErrUnsignedToken},
		{"HS256 with the RS256 public key, kid of the RS key", sign(t, jwt.SigningMethodHS256, rsPEM, "rs", claimsAt(now)), ErrAlgorithmNotAllowed},
		{"HS256 with the RS256 public key, no kid", sign(t, jwt.SigningMethodHS256, rsPEM, "", claimsAt(now)), ErrBadSignature},
		{"RS256 token naming the HS256 key", sign(t, jwt.SigningMethodRS256, k.rsa, "hs", claimsAt(now)), ErrAlgorithmNotAllowed},
		{"algorithm no key uses", sign(t, jwt.SigningMethodHS512, k.secret, "", claimsAt(now)), ErrAlgorithmNotAllowed},
		{"unknown algorithm", "eyJhbGciOiJYWDk5OSIsInR5cCI6IkpXVCJ9." + parts[1] + "." + parts[2], ErrAlgorithmNotAllowed},
		{"bad signature", parts[0] + "." + parts[1] + "." + parts[2][:len(parts[2])-4] + "AAAA", ErrBadSignature},
		{"signed with another secret", sign(t, jwt.SigningMethodHS256, []byte("another secret, 32 bytes or more, really"), "hs", claimsAt(now)), ErrBadSignature},
		{"claims changed", parts[0] + "." + sign(t, jwt.SigningMethodHS256, k.secret, "hs", with(func(m jwt.MapClaims) { m["sub"] = "root" }))[len(parts[0])+1:strings.LastIndexByte(sign(t, jwt.SigningMethodHS256, k.secret, "hs", with(func(m jwt.MapClaims) { m["sub"] = "root" })), '.')] + "." + parts[2], ErrBadSignature},
		{"unknown kid", sign(t, jwt.SigningMethodHS256, k.secret, "nope", claimsAt(now)), ErrUnknownKeyID},
		{"RS256 with another key", sign(t, jwt.SigningMethodRS256, k.rsa2, "rs", claimsAt(now)), ErrBadSignature},
		{"EdDSA with the RSA key id", sign(t, jwt.SigningMethodEdDSA, k.ed, "rs", claimsAt(now)), ErrAlgorithmNotAllowed},
	}
	// "kid not a string" needs a header of its own.
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claimsAt(now))
	tok.Header["kid"] = 7
	s, err := tok.SignedString(k.secret)
	if err != nil {
		t.Fatal(err)
	}
	tests[6].tok, tests[6].want = s, ErrMalformedCredential

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := j.Authenticate(context.Background(), bearer(tt.tok))
			if a != nil || !errors.Is(err, tt.want) {
				t.Fatalf("Authenticate = %v, %v; want %s", a, err, tt.want.Code())
			}
			if errs.KindOf(err) != errs.KindUnauthenticated {
				t.Errorf("kind = %v, want unauthenticated", errs.KindOf(err))
			}
			assertNoLeak(t, err, tt.tok)
		})
	}
}

// assertNoLeak fails when the error's text, message or parameters hold the
// token or one of its segments.
func assertNoLeak(t *testing.T, err error, tok string) {
	t.Helper()
	texts := []string{err.Error()}
	if e, ok := errs.As(err); ok {
		texts = append(texts, e.Message())
		for _, p := range e.Params() {
			texts = append(texts, p.Value)
		}
	}
	for _, part := range strings.Split(tok, ".") {
		if len(part) < 8 {
			continue
		}
		for _, s := range texts {
			if strings.Contains(s, part) {
				t.Errorf("error text %q holds part of the credential", s)
			}
		}
	}
}

func TestJWTAccepts(t *testing.T) {
	t.Parallel()
	k := testKeys()
	c := newClock()
	j := testJWT(t, c)
	now := c.Now()
	tests := []struct {
		name   string
		tok    string
		want   Account
		modify func(jwt.MapClaims)
	}{
		{name: "HS256 with kid", tok: sign(t, jwt.SigningMethodHS256, k.secret, "hs", claimsAt(now))},
		{name: "RS256", tok: sign(t, jwt.SigningMethodRS256, k.rsa, "rs", claimsAt(now))},
		{name: "EdDSA", tok: sign(t, jwt.SigningMethodEdDSA, k.ed, "ed", claimsAt(now))},
		{name: "HS256 without kid", tok: sign(t, jwt.SigningMethodHS256, k.secret, "", claimsAt(now))},
		{name: "RS256 without kid, two RS256 keys", tok: sign(t, jwt.SigningMethodRS256, k.rsa2, "", claimsAt(now))},
		{name: "previous key before its retirement", tok: sign(t, jwt.SigningMethodRS256, k.rsa2, "old", claimsAt(now))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := j.Authenticate(context.Background(), bearer(tt.tok))
			if err != nil {
				t.Fatal(err)
			}
			if a.ID != "alice" || a.Type != User || a.Issuer != testIssuer ||
				strings.Join(a.Scopes, ",") != "inventory.read,inventory.write" || a.Metadata != nil {
				t.Errorf("account = %+v", a)
			}
		})
	}
}

func TestJWTClaims(t *testing.T) {
	t.Parallel()
	k := testKeys()
	c := newClock()
	now := c.Now()
	tok := func(mod func(jwt.MapClaims)) string {
		m := claimsAt(now)
		mod(m)
		return sign(t, jwt.SigningMethodHS256, k.secret, "hs", m)
	}
	tests := []struct {
		name   string
		cfg    func(*JWTConfig)
		tok    string
		scopes string
		typ    AccountType
		meta   map[string]string
	}{
		{"scope string", nil, tok(func(m jwt.MapClaims) {}), "inventory.read,inventory.write", User, nil},
		{"scp array", nil, tok(func(m jwt.MapClaims) { delete(m, "scope"); m["scp"] = []string{"a", "b"} }), "a,b", User, nil},
		{"scopes array", nil, tok(func(m jwt.MapClaims) { delete(m, "scope"); m["scopes"] = []string{"x"} }), "x", User, nil},
		{"no scope", nil, tok(func(m jwt.MapClaims) { delete(m, "scope") }), "", User, nil},
		{"configured claim", func(c *JWTConfig) { c.ScopeClaim = "roles" }, tok(func(m jwt.MapClaims) { m["roles"] = []string{"admin"} }), "admin", User, nil},
		{"type from claim", nil, tok(func(m jwt.MapClaims) { m[TypeClaim] = "service" }), "inventory.read,inventory.write", Service, nil},
		{"type from issuer", nil, tok(func(m jwt.MapClaims) { m["iss"] = "https://svc.example.com" }), "inventory.read,inventory.write", Service, nil},
		{"claim beats issuer", nil, tok(func(m jwt.MapClaims) { m["iss"] = "https://svc.example.com"; m[TypeClaim] = "user" }), "inventory.read,inventory.write", User, nil},
		{"default type", func(c *JWTConfig) { c.AccountType = Service }, tok(func(m jwt.MapClaims) {}), "inventory.read,inventory.write", Service, nil},
		{"metadata", nil, tok(func(m jwt.MapClaims) { m["email"] = "alice@example.com"; m["name"] = "Alice" }), "inventory.read,inventory.write", User, map[string]string{"email": "alice@example.com"}},
		{"audience list", nil, tok(func(m jwt.MapClaims) { m["aud"] = []string{"billing", "inventory"} }), "inventory.read,inventory.write", User, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mods []func(*JWTConfig)
			if tt.cfg != nil {
				mods = append(mods, tt.cfg)
			}
			j := testJWT(t, c, mods...)
			a, err := j.Authenticate(context.Background(), bearer(tt.tok))
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(a.Scopes, ","); got != tt.scopes || a.Type != tt.typ || len(a.Metadata) != len(tt.meta) || a.Metadata["email"] != tt.meta["email"] {
				t.Errorf("account = %+v; want scopes %q, type %s, metadata %v", a, tt.scopes, tt.typ, tt.meta)
			}
		})
	}
}

// A token signed with the previous key stays valid until the key's
// retirement, from the cache or not; after it, it fails.
func TestJWTKeyRetirement(t *testing.T) {
	t.Parallel()
	k := testKeys()
	c := newClock()
	j := testJWT(t, c)
	claims := claimsAt(c.Now())
	claims["exp"] = c.Now().Add(3 * time.Hour).Unix()
	old := sign(t, jwt.SigningMethodRS256, k.rsa2, "old", claims)
	current := sign(t, jwt.SigningMethodRS256, k.rsa, "rs", claims)
	for _, tok := range []string{old, current} {
		if _, err := j.Authenticate(context.Background(), bearer(tok)); err != nil {
			t.Fatal(err)
		}
	}
	c.Add(59 * time.Minute)
	if _, err := j.Authenticate(context.Background(), bearer(old)); err != nil {
		t.Fatalf("before retirement: %v", err)
	}
	c.Add(time.Minute)
	if _, err := j.Authenticate(context.Background(), bearer(old)); !errors.Is(err, ErrKeyRetired) {
		t.Fatalf("at retirement (cached before): %v, want %s", err, ErrKeyRetired.Code())
	}
	j.Purge()
	if _, err := j.Authenticate(context.Background(), bearer(old)); !errors.Is(err, ErrKeyRetired) {
		t.Fatalf("at retirement: %v, want %s", err, ErrKeyRetired.Code())
	}
	if _, err := j.Authenticate(context.Background(), bearer(current)); err != nil {
		t.Fatalf("current key: %v", err)
	}
}

// The clock skew lets a token a little past its expiry or before its
// not-before time through, and no more.
func TestJWTClockSkew(t *testing.T) {
	t.Parallel()
	k := testKeys()
	c := newClock()
	j := testJWT(t, c) // 30s
	now := c.Now()
	m := claimsAt(now)
	m["exp"] = now.Add(-20 * time.Second).Unix()
	if _, err := j.Authenticate(context.Background(), bearer(sign(t, jwt.SigningMethodHS256, k.secret, "hs", m))); err != nil {
		t.Errorf("expired 20s ago: %v", err)
	}
	m["exp"] = now.Add(-40 * time.Second).Unix()
	if _, err := j.Authenticate(context.Background(), bearer(sign(t, jwt.SigningMethodHS256, k.secret, "hs", m))); !errors.Is(err, ErrTokenExpired) {
		t.Errorf("expired 40s ago: %v", err)
	}
	m = claimsAt(now)
	m["nbf"] = now.Add(20 * time.Second).Unix()
	if _, err := j.Authenticate(context.Background(), bearer(sign(t, jwt.SigningMethodHS256, k.secret, "hs", m))); err != nil {
		t.Errorf("valid in 20s: %v", err)
	}
}

// The cache answers a token seen again with the same account, and
// forgets it when it expires.
func TestJWTCache(t *testing.T) {
	t.Parallel()
	k := testKeys()
	c := newClock()
	j := testJWT(t, c)
	m := claimsAt(c.Now())
	m["exp"] = c.Now().Add(time.Minute).Unix()
	tok := sign(t, jwt.SigningMethodRS256, k.rsa, "rs", m)
	a1, err := j.Authenticate(context.Background(), bearer(tok))
	if err != nil {
		t.Fatal(err)
	}
	a2, err := j.Authenticate(context.Background(), bearer(tok))
	if err != nil || a1 != a2 {
		t.Fatalf("second call = %p, %v; want the cached %p", a2, err, a1)
	}
	if j.cache.len() != 1 {
		t.Errorf("cache holds %d tokens, want 1", j.cache.len())
	}
	c.Add(time.Minute + 29*time.Second)
	if a, err := j.Authenticate(context.Background(), bearer(tok)); err != nil || a != a1 {
		t.Errorf("within the skew: %v, %v", a, err)
	}
	c.Add(time.Second)
	if _, err := j.Authenticate(context.Background(), bearer(tok)); !errors.Is(err, ErrTokenExpired) {
		t.Errorf("after expiry: %v, want %s", err, ErrTokenExpired.Code())
	}
}

// The cache stays within its bound.
func TestJWTCacheBound(t *testing.T) {
	t.Parallel()
	k := testKeys()
	c := newClock()
	j := testJWT(t, c, func(cfg *JWTConfig) { cfg.CacheSize = 32 })
	for i := range 200 {
		m := claimsAt(c.Now())
		m["jti"] = i
		if _, err := j.Authenticate(context.Background(), bearer(sign(t, jwt.SigningMethodHS256, k.secret, "hs", m))); err != nil {
			t.Fatal(err)
		}
	}
	if n := j.cache.len(); n > 32 || n < 16 {
		t.Errorf("cache holds %d tokens, want at most 32 (and not empty)", n)
	}
	j.Purge()
	if n := j.cache.len(); n != 0 {
		t.Errorf("after Purge: %d", n)
	}
	off := testJWT(t, c, func(cfg *JWTConfig) { cfg.CacheSize = 0 })
	tok := sign(t, jwt.SigningMethodHS256, k.secret, "hs", claimsAt(c.Now()))
	a1, _ := off.Authenticate(context.Background(), bearer(tok))
	a2, _ := off.Authenticate(context.Background(), bearer(tok))
	if a1 == nil || a1 == a2 {
		t.Errorf("without a cache, each call verifies: %p %p", a1, a2)
	}
}

// A repeated valid token does not allocate.
func TestJWTCacheHitAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	k := testKeys()
	j := testJWT(t, newClock())
	cred := bearer(sign(t, jwt.SigningMethodRS256, k.rsa, "rs", claimsAt(newClock().Now())))
	ctx := context.Background()
	if _, err := j.Authenticate(ctx, cred); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(1000, func() {
		if _, err := j.Authenticate(ctx, cred); err != nil {
			panic(err)
		}
	}); n != 0 {
		t.Errorf("a cached token costs %v allocations, want 0", n)
	}
}

func TestJWTSchemeAndConfig(t *testing.T) {
	t.Parallel()
	j := testJWT(t, newClock())
	if _, err := j.Authenticate(context.Background(), Credential{Scheme: SchemeAPIKey, Value: "x"}); !errors.Is(err, ErrUnsupportedScheme) {
		t.Errorf("API key to JWT: %v", err)
	}
	if got := strings.Join(j.Keys(), ","); got != "ed,hs,old,rs" {
		t.Errorf("Keys() = %s", got)
	}
	if err := j.Refresh(context.Background()); err != nil {
		t.Errorf("Refresh without JWKS: %v", err)
	}
	if _, err := NewJWT(JWTConfig{}); err == nil {
		t.Error("NewJWT without keys: no error")
	}
	if _, err := NewJWT(JWTConfig{Issuers: []IssuerConfig{{Issuer: "x"}}}, WithKeys(Key{ID: "k", Alg: HS256, Material: []byte("short")})); err == nil ||
		!strings.Contains(err.Error(), "at least 32 bytes") {
		t.Errorf("short secret in code: %v", err)
	}
}
