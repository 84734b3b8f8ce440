package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	errs "github.com/wegomesh/wego/err"
)

// sentinel is in every claim a token of this test can carry, so that a
// decoded claim leaking into a message is caught too.
const sentinel = "SENTINEL7f3a9c"

// No error, however formatted, and no log line holds a credential or a
// part of it, on any path that fails: header parsing, every token check,
// API keys, JWKS fetches that fail.
func TestNoCredentialLeaks(t *testing.T) {
	t.Parallel()
	k := testKeys()
	c := newClock()
	now := c.Now()
	core, logs := observer.New(zap.DebugLevel)
	log := zap.New(core)

	// A JWKS endpoint that fails in every way, behind a URL with a password.
	mode := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch mode {
		case 0:
			http.Error(w, sentinel, http.StatusInternalServerError)
		case 1:
			_, _ = w.Write([]byte(`{"keys": [{"kty": "oct", "kid": "x", "k": "` + sentinel + `"}]}`))
		default:
			_, _ = w.Write([]byte(sentinel))
		}
	}))
	defer srv.Close()
	cfg := DefaultJWTConfig()
	cfg.Issuers = []IssuerConfig{{Issuer: testIssuer}}
	cfg.Audience = []string{"inventory"}
	cfg.Keys = []KeyConfig{{ID: "hs", Alg: HS256, Secret: string(k.secret)}, {ID: "rs", Alg: RS256, PublicKey: pemPublic(t, &k.rsa.PublicKey)}}
	cfg.JWKSURL = strings.Replace(srv.URL, "http://", "http://user:"+sentinel+"@", 1)
	cfg.JWKSMinInterval = 0
	j, err := NewJWT(cfg, WithClock(c.Now), WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	apiKey, hash, _ := GenerateAPIKey()
	keys, _ := NewAPIKeys(APIKey{ID: "k", Hash: hash, Account: Account{ID: "bot"}, Revoked: true})
	p := Providers{Bearer: j, APIKey: keys}

	claims := func(mod func(jwt.MapClaims)) jwt.MapClaims {
		m := claimsAt(now)
		m["sub"], m["jti"], m["scope"] = sentinel, sentinel, sentinel
		if mod != nil {
			mod(m)
		}
		return m
	}
	var creds []string
	for _, tok := range []string{
		sign(t, jwt.SigningMethodHS256, k.secret, "hs", claims(func(m jwt.MapClaims) { m["exp"] = now.Add(-time.Hour).Unix() })),
		sign(t, jwt.SigningMethodHS256, k.secret, "hs", claims(func(m jwt.MapClaims) { m["nbf"] = now.Add(time.Hour).Unix() })),
		sign(t, jwt.SigningMethodHS256, k.secret, "hs", claims(func(m jwt.MapClaims) { m["iss"] = sentinel })),
		sign(t, jwt.SigningMethodHS256, k.secret, "hs", claims(func(m jwt.MapClaims) { m["aud"] = sentinel })),
		sign(t, jwt.SigningMethodHS256, k.secret, "hs", claims(func(m jwt.MapClaims) { m["scope"] = []any{sentinel, 12345678912345} })),
		sign(t, jwt.SigningMethodHS256, k.secret, "hs", claims(func(m jwt.MapClaims) { m["exp"] = sentinel })),
		sign(t, jwt.SigningMethodHS256, k.secret, "hs", claims(func(m jwt.MapClaims) { m[TypeClaim] = sentinel })),
		sign(t, jwt.SigningMethodHS256, k.secret, sentinel, claims(nil)),
		sign(t, jwt.SigningMethodHS256, []byte(pemPublic(t, &k.rsa.PublicKey)), "rs", claims(nil)),
		sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "hs", claims(nil)),
		sign(t, jwt.SigningMethodHS256, []byte(sentinel+sentinel+sentinel), "hs", claims(nil)),
	} {
		creds = append(creds, "Bearer "+tok)
		parts := strings.Split(tok, ".")
		creds = append(creds, "Bearer "+parts[0]+"."+parts[1]+"x."+parts[2], "Bearer "+parts[0]+"."+parts[1])
	}
	creds = append(creds,
		"ApiKey "+apiKey,
		"ApiKey wego_"+sentinel,
		"Basic "+sentinel,
		"Bearer "+sentinel+" "+sentinel,
		"Bearer "+sentinel+"\x00",
		"Bearer "+strings.Repeat(sentinel, MaxCredentialBytes/len(sentinel)+1),
		"Bearer eyJhbGciOiJIUzI1NiIsImtpZCI6IlNFTlRJTkVMN2YzYTljIn0."+sentinel+"."+sentinel,
	)
	var texts []string
	for i, header := range creds {
		mode = i % 3
		c.Add(time.Second)
		cred, err := ParseAuthorization(header)
		if err == nil {
			_, err = p.Authenticate(context.Background(), cred)
		}
		if err == nil {
			t.Fatalf("credential %d was accepted", i)
		}
		texts = append(texts, err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err), fmt.Sprint(cred))
		if e, ok := errs.As(err); ok {
			texts = append(texts, e.Message(), fmt.Sprint(e.ParamMap()), fmt.Sprint(e.Params()))
		}
		_ = j.Refresh(context.Background())
	}
	for _, e := range logs.All() {
		b, _ := json.Marshal(e.ContextMap())
		texts = append(texts, e.Message, string(b))
	}
	if logs.Len() == 0 {
		t.Fatal("the failed fetches were not logged")
	}
	for _, s := range texts {
		if strings.Contains(s, sentinel) || strings.Contains(s, apiKey) {
			t.Errorf("leak: %s", s)
		}
		for _, header := range creds {
			for _, part := range strings.FieldsFunc(header, func(r rune) bool { return r == ' ' || r == '.' }) {
				if len(part) >= 12 && strings.Contains(s, part) {
					t.Errorf("leak of %q: %s", part, s)
				}
			}
		}
	}
}
