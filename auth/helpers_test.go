package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// The tests make their own keys, once per test binary (an RSA key takes
// a while).
var testKeys = sync.OnceValue(func() (k struct {
	rsa, rsa2 *rsa.PrivateKey
	ed        ed25519.PrivateKey
	secret    []byte
}) {
	var err error
	if k.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	if k.rsa2, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	if _, k.ed, err = ed25519.GenerateKey(rand.Reader); err != nil {
		panic(err)
	}
	k.secret = []byte("0123456789abcdef0123456789abcdef-test-secret")
	return k
})

const testIssuer = "https://id.example.com"

// clock is a settable clock for the tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// sign signs claims with the method and key, naming kid when not empty.
func sign(t testing.TB, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// claimsAt returns valid claims at now.
func claimsAt(now time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"iss":   testIssuer,
		"sub":   "alice",
		"aud":   "inventory",
		"exp":   now.Add(time.Hour).Unix(),
		"nbf":   now.Add(-time.Minute).Unix(),
		"iat":   now.Unix(),
		"scope": "inventory.read inventory.write",
	}
}

func pemPublic(t testing.TB, pub any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// testJWT returns a provider with an HS256 key "hs", an RS256 key "rs",
// an EdDSA key "ed" and an RS256 key "old" retired an hour after the
// clock's start.
func testJWT(t testing.TB, c *clock, mod ...func(*JWTConfig)) *JWT {
	t.Helper()
	k := testKeys()
	cfg := DefaultJWTConfig()
	cfg.Issuers = []IssuerConfig{{Issuer: testIssuer}, {Issuer: "https://svc.example.com", AccountType: Service}}
	cfg.Audience = []string{"inventory"}
	cfg.MetadataClaims = []string{"email"}
	cfg.Keys = []KeyConfig{
		{ID: "hs", Alg: HS256, Secret: string(k.secret)},
		{ID: "rs", Alg: RS256, PublicKey: pemPublic(t, &k.rsa.PublicKey)},
		{ID: "ed", Alg: EdDSA, PublicKey: pemPublic(t, k.ed.Public())},
		{ID: "old", Alg: RS256, PublicKey: pemPublic(t, &k.rsa2.PublicKey), RetireAt: c.Now().Add(time.Hour)},
	}
	for _, m := range mod {
		m(&cfg)
	}
	j, err := NewJWT(cfg, WithClock(c.Now))
	if err != nil {
		t.Fatal(err)
	}
	return j
}
