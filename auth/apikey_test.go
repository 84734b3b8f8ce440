package auth

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
)

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	key, hash, err := GenerateAPIKey()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(key, "wego_") || len(key) != 48 || hash != HashAPIKey(key) || !strings.HasPrefix(hash, "sha256:") || len(hash) != 71 {
		t.Fatalf("GenerateAPIKey = %q, %q", key, hash)
	}
	if c, err := ParseAuthorization("ApiKey " + key); err != nil || c.Value != key {
		t.Fatalf("a generated key does not parse: %v", err)
	}
	other, otherHash, _ := GenerateAPIKey()
	p, err := NewAPIKeys(
		APIKey{ID: "ci", Hash: hash, Account: Account{ID: "ci-bot", Type: Service, Scopes: []string{"inventory.read"}, Issuer: "ignored"}},
		APIKey{ID: "old", Hash: otherHash, Account: Account{ID: "ops"}, Revoked: true},
	)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, err := p.Authenticate(ctx, Credential{Scheme: SchemeAPIKey, Value: key})
	if err != nil || a.ID != "ci-bot" || a.Type != Service || a.Issuer != APIKeyIssuer || !a.HasScope("inventory.read") {
		t.Fatalf("= %+v, %v", a, err)
	}
	if a, err := p.Authenticate(ctx, Credential{Scheme: SchemeAPIKey, Value: other}); !errors.Is(err, ErrKeyRevoked) || a != nil {
		t.Errorf("revoked: %v", err)
	}
	for _, bad := range []string{"wego_nope", key[:len(key)-1], key + "x", strings.ToUpper(key)} {
		_, err := p.Authenticate(ctx, Credential{Scheme: SchemeAPIKey, Value: bad})
		if !errors.Is(err, ErrInvalidAPIKey) {
			t.Errorf("%q: %v", bad, err)
		}
		assertNoLeak(t, err, key)
	}
	if _, err := p.Authenticate(ctx, Credential{Scheme: SchemeAPIKey}); !errors.Is(err, ErrMalformedCredential) {
		t.Errorf("empty key: %v", err)
	}
	if _, err := p.Authenticate(ctx, Credential{Scheme: SchemeBearer, Value: key}); !errors.Is(err, ErrUnsupportedScheme) {
		t.Errorf("bearer: %v", err)
	}

	// Revocation takes effect at once, also for calls under way.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 100 {
				_, _ = p.Authenticate(ctx, Credential{Scheme: SchemeAPIKey, Value: key})
			}
		})
	}
	if !p.Revoke("ci") || p.Revoke("nope") {
		t.Error("Revoke")
	}
	wg.Wait()
	if _, err := p.Authenticate(ctx, Credential{Scheme: SchemeAPIKey, Value: key}); !errors.Is(err, ErrKeyRevoked) {
		t.Errorf("after Revoke: %v", err)
	}
	// The account is the key's, with its issuer set.
	if a.Issuer != APIKeyIssuer {
		t.Errorf("issuer = %q", a.Issuer)
	}
}

func TestNewAPIKeysErrors(t *testing.T) {
	t.Parallel()
	h := HashAPIKey("k")
	tests := []struct {
		keys []APIKey
		want string
	}{
		{[]APIKey{{Hash: h}}, "no id"},
		{[]APIKey{{ID: "a", Hash: "md5:abc"}}, "sha256:"},
		{[]APIKey{{ID: "a", Hash: "sha256:" + strings.Repeat("z", 64)}}, "sha256:"},
		{[]APIKey{{ID: "a", Hash: h}, {ID: "a", Hash: HashAPIKey("j")}}, "given twice"},
		{[]APIKey{{ID: "a", Hash: h}, {ID: "b", Hash: h}}, "another key's"},
	}
	for _, tt := range tests {
		if _, err := NewAPIKeys(tt.keys...); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: %v, want %q", tt.keys, err, tt.want)
		}
	}
}
