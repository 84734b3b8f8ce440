package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func rsaJWK(kid string, pub *rsa.PublicKey) map[string]any {
	return map[string]any{
		"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig",
		"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}
}

func edJWK(kid string, pub ed25519.PublicKey) map[string]any {
	return map[string]any{"kty": "OKP", "crv": "Ed25519", "kid": kid, "x": base64.RawURLEncoding.EncodeToString(pub)}
}

// jwksServer serves a JWKS document that the test changes, on loopback.
type jwksServer struct {
	*httptest.Server
	mu      sync.Mutex
	keys    []map[string]any
	down    bool
	fetches atomic.Int32
}

func newJWKSServer(t *testing.T, keys ...map[string]any) *jwksServer {
	s := &jwksServer{keys: keys}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": s.keys})
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(down bool, keys ...map[string]any) {
	s.mu.Lock()
	s.down, s.keys = down, keys
	s.mu.Unlock()
}

func jwksProvider(t *testing.T, c *clock, url string, log *zap.Logger) *JWT {
	t.Helper()
	cfg := DefaultJWTConfig()
	cfg.Issuers = []IssuerConfig{{Issuer: testIssuer}}
	cfg.JWKSURL = url
	j, err := NewJWT(cfg, WithClock(c.Now), WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// Keys rotate through the JWKS document: a token that names a new key
// makes the provider fetch the document again, at most once per interval;
// keys dropped from the document stop verifying; a document that cannot
// be fetched keeps the keys in use, and the log says so.
func TestJWKSRotation(t *testing.T) {
	t.Parallel()
	k := testKeys()
	c := newClock()
	srv := newJWKSServer(t, rsaJWK("k1", &k.rsa.PublicKey))
	core, logs := observer.New(zap.InfoLevel)
	j := jwksProvider(t, c, srv.URL, zap.New(core))
	ctx := context.Background()
	claims := claimsAt(c.Now())
	claims["exp"] = c.Now().Add(24 * time.Hour).Unix()
	delete(claims, "aud")
	t1 := sign(t, jwt.SigningMethodRS256, k.rsa, "k1", claims)
	t2 := sign(t, jwt.SigningMethodEdDSA, k.ed, "k2", claims)
	t3 := sign(t, jwt.SigningMethodRS256, k.rsa2, "k3", claims)

	// The first token fetches the document.
	if _, err := j.Authenticate(ctx, bearer(t1)); err != nil {
		t.Fatalf("k1: %v", err)
	}
	if n := srv.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches, want 1", n)
	}
	// The issuer adds k2; a token naming it within the interval fails
	// without a fetch.
	srv.set(false, rsaJWK("k1", &k.rsa.PublicKey), edJWK("k2", k.ed.Public().(ed25519.PublicKey)))
	c.Add(10 * time.Second)
	if _, err := j.Authenticate(ctx, bearer(t2)); !errors.Is(err, ErrUnknownKeyID) {
		t.Fatalf("k2 within the interval: %v", err)
	}
	if n := srv.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches within the interval, want 1", n)
	}
	// After the interval, it fetches again and k2 verifies.
	c.Add(30 * time.Second)
	if _, err := j.Authenticate(ctx, bearer(t2)); err != nil {
		t.Fatalf("k2 after the interval: %v", err)
	}
	// Unknown key ids never fetch more than once per interval.
	c.Add(30 * time.Second)
	for range 10 {
		if _, err := j.Authenticate(ctx, bearer(t3)); !errors.Is(err, ErrUnknownKeyID) {
			t.Fatalf("k3: %v", err)
		}
	}
	if n := srv.fetches.Load(); n != 3 {
		t.Fatalf("%d fetches, want 3", n)
	}
	// The endpoint goes down: the keys in use stay, and the log says so.
	srv.set(true)
	if err := j.Refresh(ctx); err == nil {
		t.Fatal("Refresh of a down endpoint: no error")
	}
	j.Purge()
	if _, err := j.Authenticate(ctx, bearer(t1)); err != nil {
		t.Fatalf("k1 with the endpoint down: %v", err)
	}
	if got := logs.FilterMessageSnippet("keeping the keys in use").All(); len(got) != 1 || got[0].ContextMap()["keys"] != int64(2) {
		t.Fatalf("log of the failed fetch: %v", got)
	}
	// The issuer drops k1: once fetched, k1 tokens fail, cached or not.
	srv.set(false, edJWK("k2", k.ed.Public().(ed25519.PublicKey)))
	if _, err := j.Authenticate(ctx, bearer(t1)); err != nil {
		t.Fatal(err)
	}
	if err := j.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Authenticate(ctx, bearer(t1)); !errors.Is(err, ErrUnknownKeyID) {
		t.Fatalf("k1 after it left the document: %v", err)
	}
	if _, err := j.Authenticate(ctx, bearer(t2)); err != nil {
		t.Fatalf("k2: %v", err)
	}
	for _, e := range logs.All() {
		for _, tok := range []string{t1, t2, t3} {
			if strings.Contains(e.Message, tok[:20]) || strings.Contains(mustJSON(e.ContextMap()), tok[:20]) {
				t.Errorf("log entry holds a token: %v", e)
			}
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// A document older than jwks_refresh is fetched again in the background,
// after the call that noticed it.
func TestJWKSBackgroundRefresh(t *testing.T) {
	t.Parallel()
	k := testKeys()
	c := newClock()
	srv := newJWKSServer(t, rsaJWK("k1", &k.rsa.PublicKey))
	j := jwksProvider(t, c, srv.URL, zap.NewNop())
	claims := claimsAt(c.Now())
	claims["exp"] = c.Now().Add(24 * time.Hour).Unix()
	delete(claims, "aud")
	if err := j.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	c.Add(11 * time.Minute)
	claims["jti"] = "a new token, so not from the cache"
	if _, err := j.Authenticate(context.Background(), bearer(sign(t, jwt.SigningMethodRS256, k.rsa, "k1", claims))); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for srv.fetches.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatal("no background refresh")
		}
		time.Sleep(5 * time.Millisecond)
	}
	for j.jwks.background.Load() {
		time.Sleep(time.Millisecond)
	}
}

func TestParseJWKS(t *testing.T) {
	t.Parallel()
	k := testKeys()
	doc, _ := json.Marshal(map[string]any{"keys": []map[string]any{
		rsaJWK("r", &k.rsa.PublicKey),
		edJWK("e", k.ed.Public().(ed25519.PublicKey)),
		{"kty": "oct", "kid": "secret", "k": "c2VjcmV0"},
		{"kty": "RSA", "kid": "enc", "use": "enc", "n": "AQAB", "e": "AQAB"},
		{"kty": "RSA", "kid": "weak", "n": "AQAB", "e": "AQAB"},
		{"kty": "OKP", "crv": "X25519", "kid": "x", "x": "AAAA"},
		func() map[string]any { m := rsaJWK("confused", &k.rsa.PublicKey); m["alg"] = "HS256"; return m }(),
	}})
	keys, skipped, err := ParseJWKS(doc)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0].ID != "r" || keys[0].Alg != RS256 || keys[1].ID != "e" || keys[1].Alg != EdDSA {
		t.Errorf("keys = %+v", keys)
	}
	if len(skipped) != 5 {
		t.Errorf("skipped = %q", skipped)
	}
	if _, _, err := ParseJWKS([]byte("not json")); err == nil {
		t.Error("not JSON: no error")
	}
}
