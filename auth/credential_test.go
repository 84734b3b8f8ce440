package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	errs "github.com/wegomesh/wego/err"
)

func TestParseAuthorization(t *testing.T) {
	t.Parallel()
	tests := []struct {
		header string
		scheme Scheme
		value  string
		err    *errs.Def
	}{
		{"Bearer abc.def.ghi", SchemeBearer, "abc.def.ghi", nil},
		{"bearer abc", SchemeBearer, "abc", nil},
		{"BEARER   abc  ", SchemeBearer, "abc", nil},
		{"  Bearer abc", SchemeBearer, "abc", nil},
		{"ApiKey wego_abc-_~+/==", SchemeAPIKey, "wego_abc-_~+/==", nil},
		{"apikey k", SchemeAPIKey, "k", nil},
		{"", 0, "", ErrMissingCredential},
		{"   ", 0, "", ErrMissingCredential},
		{"Bearer", 0, "", ErrMalformedCredential},
		{"Bearer ", 0, "", ErrMalformedCredential},
		{"Bearer a b", 0, "", ErrMalformedCredential},
		{"Bearer =abc", 0, "", ErrMalformedCredential},
		{"Bearer ab=c", 0, "", ErrMalformedCredential},
		{"Bearer a\"b", 0, "", ErrMalformedCredential},
		{"Bearer a\tb", 0, "", ErrMalformedCredential},
		{"Bearer \x00\x01\x02", 0, "", ErrMalformedCredential},
		{"Bearer caf\xc3\xa9", 0, "", ErrMalformedCredential},
		{"Bearer \xff\xfe", 0, "", ErrMalformedCredential},
		{"Bearer " + strings.Repeat("a", MaxCredentialBytes), 0, "", ErrMalformedCredential},
		{"Basic dXNlcjpwYXNz", 0, "", ErrUnsupportedScheme},
		{"Digest username=x", 0, "", ErrUnsupportedScheme},
		{"abc.def.ghi", 0, "", ErrUnsupportedScheme},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.header), func(t *testing.T) {
			c, err := ParseAuthorization(tt.header)
			if tt.err != nil {
				if !errors.Is(err, tt.err) || errs.KindOf(err) != errs.KindUnauthenticated {
					t.Fatalf("error = %v, want %s", err, tt.err.Code())
				}
				if len(tt.header) > 10 && strings.Contains(err.Error(), tt.header[7:]) {
					t.Errorf("error %q holds the header", err)
				}
				return
			}
			if err != nil || c.Scheme != tt.scheme || c.Value != tt.value {
				t.Fatalf("= %v %q, %v; want %v %q", c.Scheme, c.Value, err, tt.scheme, tt.value)
			}
		})
	}
}

// Printing a credential, in any verb, never shows its value.
func TestCredentialRedacted(t *testing.T) {
	t.Parallel()
	c := Credential{Scheme: SchemeBearer, Value: "sentinel-secret-token"}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		if s := fmt.Sprintf(verb, c); strings.Contains(s, "sentinel") || !strings.Contains(s, "Bearer") {
			t.Errorf("%s: %s", verb, s)
		}
	}
	if s := fmt.Sprintf("%v", struct{ C Credential }{c}); strings.Contains(s, "sentinel") {
		t.Errorf("nested: %s", s)
	}
}

func TestProviders(t *testing.T) {
	t.Parallel()
	key, hash, err := GenerateAPIKey()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := NewAPIKeys(APIKey{ID: "k", Hash: hash, Account: Account{ID: "bot", Type: Service}})
	if err != nil {
		t.Fatal(err)
	}
	p := Providers{APIKey: keys}
	a, err := p.Authenticate(context.Background(), Credential{Scheme: SchemeAPIKey, Value: key})
	if err != nil || a.ID != "bot" {
		t.Fatalf("API key: %v, %v", a, err)
	}
	if _, err := p.Authenticate(context.Background(), Credential{Scheme: SchemeBearer, Value: "x.y.z"}); !errors.Is(err, ErrUnsupportedScheme) {
		t.Errorf("bearer without a provider: %v", err)
	}
	if _, err := p.Authenticate(context.Background(), Credential{}); !errors.Is(err, ErrUnsupportedScheme) {
		t.Errorf("zero credential: %v", err)
	}
}

func TestAccountContext(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	if a, ok := FromContext(ctx); ok || a != nil {
		t.Errorf("empty context: %v %v", a, ok)
	}
	if _, ok := FromContext(NewContext(ctx, nil)); ok {
		t.Error("nil account found")
	}
	acct := &Account{ID: "alice", Scopes: []string{"a"}}
	if a, ok := FromContext(NewContext(ctx, acct)); !ok || a != acct {
		t.Errorf("= %v %v", a, ok)
	}
	if !acct.HasScope("a") || acct.HasScope("b") || (*Account)(nil).HasScope("a") {
		t.Error("HasScope")
	}
}
