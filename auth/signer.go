package auth

import (
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TypeClaim is the claim in which a [Signer] writes the account type; set
// JWTConfig.TypeClaim to it to read the type from tokens.
const TypeClaim = "account_type"

// Signer mints tokens with one key: development tokens ([Config.DevSigner])
// and service identities minted at start. It is safe for concurrent use.
type Signer struct {
	id     string
	key    any
	method jwt.SigningMethod
	issuer string
	now    func() time.Time
	ttl    time.Duration
}

// Claims are what a [Signer] puts in a token.
type Claims struct {
	// Subject is the account id ("sub"); required.
	Subject string
	// Type, when set, is written as the claim [TypeClaim].
	Type AccountType
	// Scopes are written as a space-separated "scope" claim.
	Scopes []string
	// Audience, when set, is written as "aud".
	Audience []string
	// TTL is the token's lifetime; 0 takes the signer's default (one
	// hour, or the development key's ttl).
	TTL time.Duration
	// Extra holds further claims; they cannot replace the ones above.
	Extra map[string]any
}

// NewSigner returns a signer that signs with key — an HS256 secret
// ([]byte, at least 32 bytes), an *rsa.PrivateKey (RS256) or an
// ed25519.PrivateKey (EdDSA) — names it id in the "kid" header, and
// writes issuer as "iss". [WithClock] sets its clock.
func NewSigner(id string, key any, issuer string, opts ...Option) (*Signer, error) {
	s := &Signer{id: id, key: key, issuer: issuer, now: newOptions(opts).now, ttl: time.Hour}
	switch k := key.(type) {
	case []byte:
		if len(k) < minSecretBytes {
			return nil, fmt.Errorf("auth: an HS256 secret must have at least %d bytes, it has %d", minSecretBytes, len(k))
		}
		s.method = jwt.SigningMethodHS256
	case *rsa.PrivateKey:
		if k.N.BitLen() < minRSABits {
			return nil, fmt.Errorf("auth: an RS256 key must have at least %d bits, it has %d", minRSABits, k.N.BitLen())
		}
		s.method = jwt.SigningMethodRS256
	case ed25519.PrivateKey:
		s.method = jwt.SigningMethodEdDSA
	default:
		return nil, fmt.Errorf("auth: cannot sign with a key of type %T", key)
	}
	if issuer == "" {
		return nil, errors.New("auth: a signer needs an issuer")
	}
	return s, nil
}

// Alg returns the signer's algorithm.
func (s *Signer) Alg() string { return s.method.Alg() }

// Sign mints a token.
func (s *Signer) Sign(c Claims) (string, error) {
	if c.Subject == "" {
		return "", errors.New("auth: a token needs a subject")
	}
	ttl := c.TTL
	if ttl == 0 {
		ttl = s.ttl
	}
	if ttl <= 0 {
		return "", fmt.Errorf("auth: a token's lifetime must be positive, got %v", ttl)
	}
	now := s.now()
	m := jwt.MapClaims{}
	for k, v := range c.Extra {
		m[k] = v
	}
	m["iss"] = s.issuer
	m["sub"] = c.Subject
	m["iat"] = now.Unix()
	m["exp"] = now.Add(ttl).Unix()
	if len(c.Scopes) > 0 {
		m["scope"] = strings.Join(c.Scopes, " ")
	}
	if c.Type != "" {
		m[TypeClaim] = string(c.Type)
	}
	switch len(c.Audience) {
	case 0:
	case 1:
		m["aud"] = c.Audience[0]
	default:
		m["aud"] = c.Audience
	}
	t := jwt.NewWithClaims(s.method, m)
	if s.id != "" {
		t.Header["kid"] = s.id
	}
	return t.SignedString(s.key)
}
