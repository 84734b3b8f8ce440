package auth

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A minted identity is minted again once two thirds of its lifetime have
// passed, and its token is what a verifier with the public key accepts.
func TestIdentityMinted(t *testing.T) {
	t.Parallel()
	c := newClock()
	k := testKeys()
	der, err := x509.MarshalPKCS8PrivateKey(k.ed)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "orders.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Identity = IdentityConfig{Account: "orders", Scopes: []string{"inventory.reserve"}, Audience: []string{"inventory"},
		TTL: 30 * time.Minute, SigningKey: SigningKeyConfig{ID: "ed", PrivateKeyFile: keyFile, Issuer: "https://svc.example.com"}}
	id, err := cfg.ServiceIdentity(WithClock(c.Now))
	if err != nil {
		t.Fatal(err)
	}
	if a := id.Account(); a.ID != "orders" || a.Type != Service || a.Issuer != "https://svc.example.com" {
		t.Fatalf("account %+v", a)
	}
	h1, err := id.Authorization()
	if err != nil || !strings.HasPrefix(h1, "Bearer ") {
		t.Fatalf("Authorization: %q, %v", h1, err)
	}
	c.Add(19 * time.Minute)
	if h, _ := id.Authorization(); h != h1 {
		t.Fatal("minted again before two thirds of its lifetime")
	}
	c.Add(2 * time.Minute)
	h2, _ := id.Authorization()
	if h2 == h1 {
		t.Fatal("not minted again after two thirds of its lifetime")
	}
	j := testJWT(t, c)
	cred, _ := ParseAuthorization(h2)
	acct, err := j.Authenticate(context.Background(), cred)
	if err != nil || acct.ID != "orders" || acct.Type != Service || !acct.HasScope("inventory.reserve") {
		t.Fatalf("the verifier: %+v, %v", acct, err)
	}
}

// A credential file is read again when it changes; one that goes away
// keeps the credential read before.
func TestIdentityFile(t *testing.T) {
	t.Parallel()
	c := newClock()
	file := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(file, []byte("wego_first\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Identity = IdentityConfig{Account: "ci", APIKeyFile: file}
	id, err := cfg.ServiceIdentity(WithClock(c.Now))
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := id.Authorization(); h != "ApiKey wego_first" {
		t.Fatalf("header %q", h)
	}
	if err := os.WriteFile(file, []byte("wego_second"), 0o600); err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(time.Minute)
	if err := os.Chtimes(file, future, future); err != nil {
		t.Fatal(err)
	}
	c.Add(fileCheck + time.Second)
	if h, _ := id.Authorization(); h != "ApiKey wego_second" {
		t.Fatalf("after the change: %q", h)
	}
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	c.Add(fileCheck + time.Second)
	if h, err := id.Authorization(); h != "ApiKey wego_second" || err != nil {
		t.Fatalf("after the file went away: %q, %v", h, err)
	}
	cfg.Identity.APIKeyFile = filepath.Join(t.TempDir(), "missing")
	if _, err := cfg.ServiceIdentity(); err == nil || !strings.Contains(err.Error(), "identity.api_key_file") {
		t.Fatalf("a missing file: %v", err)
	}
}

func TestIdentityConfigErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id   IdentityConfig
		want string
	}{
		{IdentityConfig{Token: "abc"}, "identity.account: name the service account"},
		{IdentityConfig{Account: "a", Token: "abc", APIKey: "def"}, "give one of token"},
		{IdentityConfig{Account: "a", Token: "a b"}, "identity.token: is not a token"},
		{IdentityConfig{Account: "a", Token: "abc", Audience: []string{"x"}}, "audience and ttl apply to minted tokens"},
		{IdentityConfig{Account: "a", SigningKey: SigningKeyConfig{Secret: "s"}}, "identity.signing_key.issuer"},
		{IdentityConfig{Account: "a", OnBehalf: []string{"billing"}}, "identity.on_behalf[0]"},
		{IdentityConfig{Account: "a", UseDevKey: true}, "identity.use_dev_key: no development key"},
	}
	for _, tc := range tests {
		cfg := DefaultConfig()
		cfg.Identity = tc.id
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.id, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "abc") {
			t.Errorf("the error holds the token: %v", err)
		}
	}
}

// An account without a credential serves local calls; remote calls carry
// nothing.
func TestIdentityAccountOnly(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.Identity = IdentityConfig{Account: "orders", OnBehalf: []string{"billing.*", "publish:orders.*"}}
	id, err := cfg.ServiceIdentity()
	if err != nil {
		t.Fatal(err)
	}
	if h, err := id.Authorization(); h != "" || err != nil {
		t.Fatalf("Authorization %q, %v", h, err)
	}
	for name, want := range map[string]bool{"billing.Charge": true, "Billing.Refund": true, "inventory.Reserve": false,
		"publish:orders.created": true, "bad name": false} {
		if got := id.OnBehalf(name); got != want {
			t.Errorf("OnBehalf(%q) = %v", name, got)
		}
	}
	none := DefaultConfig()
	if id, err := none.ServiceIdentity(); id != nil || err != nil {
		t.Fatalf("no identity: %v, %v", id, err)
	}
}

func TestCertificates(t *testing.T) {
	t.Parallel()
	spiffe, _ := url.Parse("spiffe://mesh.test/orders")
	certs, err := NewCertificates(
		ClientCertConfig{Subject: "billing", Account: "billing"},
		ClientCertConfig{Subject: "orders.mesh.test", Account: "orders", Scopes: []string{"inventory.reserve"}},
		ClientCertConfig{Subject: spiffe.String(), Account: "orders-spiffe"},
	)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		cert *x509.Certificate
		want string
	}{
		{&x509.Certificate{Subject: pkix.Name{CommonName: "billing"}}, "billing"},
		{&x509.Certificate{DNSNames: []string{"x", "orders.mesh.test"}}, "orders"},
		{&x509.Certificate{URIs: []*url.URL{spiffe}}, "orders-spiffe"},
		{&x509.Certificate{Subject: pkix.Name{CommonName: "unknown"}}, ""},
	} {
		a, ok := certs.Account(tc.cert)
		if got := ""; ok {
			got = a.ID
			if a.Type != Service || a.Issuer != CertificateIssuer {
				t.Errorf("account %+v", a)
			}
			if got != tc.want {
				t.Errorf("%v: %s, want %s", tc.cert.Subject, got, tc.want)
			}
		} else if tc.want != "" {
			t.Errorf("%v: no account, want %s", tc.cert.Subject, tc.want)
		}
	}
	_, err = NewCertificates(ClientCertConfig{Subject: "a", Account: "a"}, ClientCertConfig{Subject: "a"})
	if err == nil || !strings.Contains(err.Error(), `[1].subject: "a" is given twice`) || !strings.Contains(err.Error(), "[1].account") {
		t.Fatalf("err = %v", err)
	}
	ctx := ContextWithPeerCertificate(context.Background(), &x509.Certificate{Subject: pkix.Name{CommonName: "billing"}})
	if PeerCertificate(ctx).Subject.CommonName != "billing" || PeerCertificate(context.Background()) != nil {
		t.Fatal("the peer certificate of the context")
	}
}
