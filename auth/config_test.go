package auth

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wegomesh/wego/config"
)

func loadSection(t *testing.T, yaml string) (Config, error) {
	t.Helper()
	c, err := config.Load(config.FS(fstest.MapFS{"dev.yaml": {Data: []byte(yaml)}}), config.Env("dev"), config.Dir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	return config.GetWithDefaults(c, "auth", DefaultConfig())
}

// A whole section, from YAML to providers and a compiled table.
func TestConfigSection(t *testing.T) {
	t.Parallel()
	k := testKeys()
	dir := t.TempDir()
	pubFile := filepath.Join(dir, "rs.pem")
	if err := os.WriteFile(pubFile, []byte(pemPublic(t, &k.rsa.PublicKey)), 0o600); err != nil {
		t.Fatal(err)
	}
	secretFile := filepath.Join(dir, "hs.secret")
	if err := os.WriteFile(secretFile, append(k.secret, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	apiKey, hash, _ := GenerateAPIKey()
	cfg, err := loadSection(t, `
auth:
  enabled: true
  jwt:
    issuers: [{issuer: "`+testIssuer+`"}, {issuer: svc, account_type: service}]
    audience: [inventory]
    clock_skew: 10s
    scope_claim: scope
    keys:
      - {id: rs, alg: RS256, public_key_file: `+pubFile+`}
      - {id: hs, alg: HS256, secret_file: `+secretFile+`, retire_at: "2031-01-01T00:00:00Z"}
  api_keys:
    - {id: ci, hash: "`+hash+`", account: ci-bot, type: service, scopes: [inventory.read], metadata: {team: platform}}
  rules:
    - {resource: "inventory.*", who: [authenticated], access: allow}
    - {resource: inventory.Reserve, who: ["account:orders", "scope:inventory.admin"], access: allow, priority: 10}
    - {resource: "publish:orders.*", who: ["type:service"], access: allow}
  dev_key: {secret: "a development secret of 32 bytes or more"}
`)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Enabled || cfg.JWT.ClockSkew != 10*time.Second || cfg.JWT.CacheSize != 10_000 || len(cfg.Rules) != 3 ||
		cfg.Rules[1].Priority != 10 || cfg.Rules[1].Access != Allow || !cfg.JWT.Keys[1].RetireAt.Equal(time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("decoded %+v", cfg)
	}
	c := newClock()
	p, err := cfg.Providers(WithClock(c.Now))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tok := range []string{
		sign(t, jwt.SigningMethodRS256, k.rsa, "rs", claimsAt(c.Now())),
		sign(t, jwt.SigningMethodHS256, k.secret, "hs", claimsAt(c.Now())),
	} {
		if a, err := p.Authenticate(ctx, bearer(tok)); err != nil || a.ID != "alice" {
			t.Errorf("token: %v, %v", a, err)
		}
	}
	if a, err := p.Authenticate(ctx, Credential{Scheme: SchemeAPIKey, Value: apiKey}); err != nil || a.ID != "ci-bot" || a.Metadata["team"] != "platform" {
		t.Errorf("API key: %+v, %v", a, err)
	}
	// The development key mints tokens that the provider accepts.
	signer, err := cfg.DevSigner(WithClock(c.Now))
	if err != nil {
		t.Fatal(err)
	}
	dev, err := signer.Sign(Claims{Subject: "orders", Type: Service, Scopes: []string{"inventory.reserve"}, Audience: []string{"inventory"}})
	if err != nil {
		t.Fatal(err)
	}
	a, err := p.Authenticate(ctx, bearer(dev))
	if err != nil || a.ID != "orders" || a.Type != Service || a.Issuer != "wego-dev" || !a.HasScope("inventory.reserve") {
		t.Fatalf("dev token: %+v, %v", a, err)
	}
	tab, err := cfg.Compile([]Resource{{Name: "inventory.Reserve"}, {Name: "inventory.Stock"}, {Name: "publish:orders.created"}})
	if err != nil {
		t.Fatal(err)
	}
	if d := decide(t, tab, "inventory.Reserve", a); !d.Allowed || d.Rule != 1 {
		t.Errorf("orders on inventory.Reserve: %+v", d)
	}
}

// Malformed sections fail with the key named.
func TestConfigErrors(t *testing.T) {
	t.Parallel()
	k := testKeys()
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	priv := filepath.Join(dir, "private.pem")
	der, _ := x509.MarshalPKCS8PrivateKey(k.rsa)
	if err := os.WriteFile(priv, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		yaml string
		key  string
		text string
	}{
		{`jwt: {issuers: [{issuer: x}], keys: [{id: a, alg: HS512, secret: "0123456789abcdef0123456789abcdef"}]}`, "auth.jwt.keys[0].alg", `"HS512" is not HS256, RS256 or EdDSA`},
		{`jwt: {issuers: [{issuer: x}], keys: [{id: a, alg: HS256, secret: short}]}`, "auth.jwt.keys[0].secret", "at least 32 bytes"},
		{`jwt: {issuers: [{issuer: x}], keys: [{id: a, alg: HS256}]}`, "auth.jwt.keys[0]", "needs one of secret and secret_file"},
		{`jwt: {issuers: [{issuer: x}], keys: [{id: a, alg: RS256, public_key_file: ` + garbage + `}]}`, "auth.jwt.keys[0].public_key_file", "no PEM block"},
		{`jwt: {issuers: [{issuer: x}], keys: [{id: a, alg: RS256, public_key_file: ` + priv + `}]}`, "auth.jwt.keys[0].public_key_file", "is not a public key"},
		{`jwt: {issuers: [{issuer: x}], keys: [{id: a, alg: RS256, public_key_file: /nonexistent/key.pem}]}`, "auth.jwt.keys[0].public_key_file", "no such file"},
		{`jwt: {issuers: [{issuer: x}], keys: [{id: a, alg: EdDSA, public_key: "` + strings.ReplaceAll(pemPublic(t, &k.rsa.PublicKey), "\n", `\n`) + `"}]}`, "auth.jwt.keys[0].public_key", "must be an Ed25519 public key"},
		{`jwt: {issuers: [{issuer: x}], keys: [{id: a, alg: RS256, secret: x, public_key: y}]}`, "auth.jwt.keys[0]", "takes a public key, not a secret"},
		{`jwt: {issuers: [{issuer: x}], keys: [{id: a, alg: HS256, secret: "0123456789abcdef0123456789abcdef"}, {id: a, alg: HS256, secret: "0123456789abcdef0123456789abcdef"}]}`, "auth.jwt.keys[1].id", "given twice"},
		{`jwt: {keys: [{id: a, alg: HS256, secret: "0123456789abcdef0123456789abcdef"}]}`, "auth.jwt.issuers", "at least one accepted issuer"},
		{`jwt: {issuers: [{issuer: x}], jwks_url: "http://id.example.com/jwks"}`, "auth.jwt.jwks_url", "must be https"},
		{`jwt: {issuers: [{issuer: x}], jwks_url: "ftp://id.example.com/jwks"}`, "auth.jwt.jwks_url", "not https"},
		{`jwt: {issuers: [{issuer: ""}]}`, "auth.jwt.issuers[0].issuer", "must not be empty"},
		{`jwt: {issuers: [{issuer: x, account_type: robot}]}`, "auth.jwt.issuers[0].account_type", `"robot" is not user or service`},
		{`jwt: {clock_skew: 1h}`, "auth.jwt.clock_skew", "between 0 and 5m0s"},
		{`jwt: {cache_size: -1}`, "auth.jwt.cache_size", "must not be negative"},
		{`jwt: {account_type: admin}`, "auth.jwt.account_type", `"admin" is not user or service`},
		{`jwt: {keys: [{id: a, alg: HS256, secret: "0123456789abcdef0123456789abcdef", retire_at: "next week"}]}`, "auth.jwt.keys[0].retire_at", "cannot parse"},
		{`api_keys: [{id: ci, hash: "md5:abc", account: bot}]`, "auth.api_keys[0].hash", `must be "sha256:"`},
		{`api_keys: [{hash: "` + HashAPIKey("k") + `", account: bot}]`, "auth.api_keys[0].id", "give the key an id"},
		{`api_keys: [{id: ci, hash: "` + HashAPIKey("k") + `"}]`, "auth.api_keys[0].account", "name the key's account"},
		{`api_keys: [{id: ci, hash: "` + HashAPIKey("k") + `", account: a}, {id: cd, hash: "` + HashAPIKey("k") + `", account: b}]`, "auth.api_keys[1].hash", "another key's hash"},
		{`api_keys: [{id: ci, hash: "` + HashAPIKey("k") + `", account: a, type: bot}]`, "auth.api_keys[0].type", `"bot" is not user or service`},
		{`rules: [{resource: "inventory", who: [anyone], access: allow}]`, "auth.rules[0].resource", "is not a resource pattern"},
		{`rules: [{resource: "*", who: [anyone], access: allow}, {resource: "*", who: [all], access: allow}]`, "auth.rules[1].who[0]", `"all" is not`},
		{`rules: [{resource: "*", who: [anyone], access: maybe}]`, "auth.rules[0].access", `"maybe" is not allow or deny`},
		{`rules: [{resource: "*", who: [anyone], access: allow, priority: high}]`, "auth.rules[0].priority", "cannot parse"},
		{`rules: [{resource: "*", who: [anyone], acces: allow}]`, "auth.rules[0].acces", "unknown key"},
		{`dev_key: {secret: short}`, "auth.dev_key.secret", "at least 32 bytes"},
		{`dev_key: {secret_file: /nonexistent/dev.secret}`, "auth.dev_key.secret_file", "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			_, err := loadSection(t, "auth:\n  "+strings.ReplaceAll(tt.yaml, "\n", "\n  ")+"\n")
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a *config.Error", err)
			}
			named := strings.Contains(err.Error(), "config: "+tt.key) || strings.Contains(err.Error(), `"`+tt.key+`"`)
			if !named || !strings.Contains(err.Error(), tt.text) {
				t.Errorf("error = %v\nwant key %s and %q", err, tt.key, tt.text)
			}
		})
	}
}

func TestSigner(t *testing.T) {
	t.Parallel()
	k := testKeys()
	c := newClock()
	for _, key := range []any{k.secret, k.rsa, k.ed} {
		s, err := NewSigner("kid", key, testIssuer, WithClock(c.Now))
		if err != nil {
			t.Fatal(err)
		}
		tok, err := s.Sign(Claims{Subject: "bob", Scopes: []string{"a", "b"}, Audience: []string{"x", "y"}, TTL: time.Minute, Extra: map[string]any{"email": "b@example.com", "sub": "ignored"}})
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := jwt.Parse(tok, func(*jwt.Token) (any, error) {
			switch key := key.(type) {
			case []byte:
				return key, nil
			default:
				return key.(crypto.Signer).Public(), nil
			}
		}, jwt.WithTimeFunc(c.Now))
		if err != nil {
			t.Fatalf("%s: %v", s.Alg(), err)
		}
		m := parsed.Claims.(jwt.MapClaims)
		if m["sub"] != "bob" || m["scope"] != "a b" || m["iss"] != testIssuer || m["email"] != "b@example.com" || parsed.Header["kid"] != "kid" {
			t.Errorf("%s: claims %v", s.Alg(), m)
		}
	}
	if _, err := NewSigner("k", []byte("short"), "i"); err == nil {
		t.Error("short secret")
	}
	if _, err := NewSigner("k", "string", "i"); err == nil {
		t.Error("string key")
	}
	if _, err := NewSigner("k", k.secret, ""); err == nil {
		t.Error("no issuer")
	}
	s, _ := NewSigner("k", k.secret, "i")
	if _, err := s.Sign(Claims{}); err == nil {
		t.Error("no subject")
	}
	if _, err := s.Sign(Claims{Subject: "x", TTL: -time.Second}); err == nil {
		t.Error("negative TTL")
	}
	var cfg Config
	if _, err := cfg.DevSigner(); err == nil || !strings.Contains(err.Error(), "dev_key") {
		t.Errorf("DevSigner without a key: %v", err)
	}
}

func TestParseKeys(t *testing.T) {
	t.Parallel()
	k := testKeys()
	der, _ := x509.MarshalPKCS8PrivateKey(k.ed)
	edPriv := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	rsaPriv := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k.rsa)})
	rsaPub := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&k.rsa.PublicKey)})
	for _, b := range [][]byte{edPriv, rsaPriv} {
		key, err := ParsePrivateKey(b)
		if err != nil || algFor(key) == "" {
			t.Errorf("ParsePrivateKey: %T %v", key, err)
		}
	}
	if key, err := ParsePublicKey(rsaPub); err != nil || algFor(key) != RS256 {
		t.Errorf("PKCS #1 public key: %v", err)
	}
	if _, err := ParsePrivateKey(rsaPub); err == nil {
		t.Error("a public key parsed as private")
	}
	if _, err := ParsePrivateKey([]byte("x")); err == nil {
		t.Error("garbage parsed")
	}
	if _, err := ParsePublicKey(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte("junk")})); err == nil {
		t.Error("junk parsed")
	}
}
