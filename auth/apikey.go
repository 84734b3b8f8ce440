package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
)

// APIKeyIssuer is the [Account.Issuer] of accounts authenticated by an API
// key.
const APIKeyIssuer = "wego:api_key"

// hashPrefix starts every stored API key hash.
const hashPrefix = "sha256:"

// APIKey is an API key as the server stores it: an id, the hash of the
// key (never the key), the account it stands for and whether it is
// revoked.
type APIKey struct {
	// ID names the key in logs and in [APIKeys.Revoke]; it is not secret.
	ID string
	// Hash is [HashAPIKey] of the key: "sha256:" and 64 hexadecimal digits.
	Hash string
	// Account is the account the key authenticates. Its Issuer is set to
	// [APIKeyIssuer].
	Account Account
	// Revoked keys fail with [ErrKeyRevoked].
	Revoked bool
}

// APIKeys is the [Provider] of API keys. It stores only the SHA-256 digest
// of each key. Make it with [NewAPIKeys]; it is safe for concurrent use.
//
// SHA-256 rather than bcrypt or Argon2: those are slow on purpose, to make
// guessing a low-entropy password from its hash expensive, and would cost
// tens of milliseconds of CPU on every call. API keys are not passwords:
// [GenerateAPIKey] draws 256 random bits, which no guessing can find from
// a fast hash either. A digest found in the lookup table is also compared
// with the presented key's digest in constant time.
type APIKeys struct {
	mu     sync.RWMutex
	byHash map[[sha256.Size]byte]*apiKey
	byID   map[string]*apiKey
}

type apiKey struct {
	id      string
	digest  [sha256.Size]byte
	acct    *Account
	revoked bool // guarded by APIKeys.mu
}

// NewAPIKeys returns the provider of keys. Two keys with one id or one
// hash, or a malformed hash, are an error naming the key by its index.
func NewAPIKeys(keys ...APIKey) (*APIKeys, error) {
	p := &APIKeys{byHash: make(map[[sha256.Size]byte]*apiKey, len(keys)), byID: make(map[string]*apiKey, len(keys))}
	for i, k := range keys {
		if k.ID == "" {
			return nil, fmt.Errorf("auth: API key %d has no id", i)
		}
		d, err := parseHash(k.Hash)
		if err != nil {
			return nil, fmt.Errorf("auth: API key %d (%s): %w", i, k.ID, err)
		}
		if _, dup := p.byID[k.ID]; dup {
			return nil, fmt.Errorf("auth: API key %d: id %q is given twice", i, k.ID)
		}
		if _, dup := p.byHash[d]; dup {
			return nil, fmt.Errorf("auth: API key %d (%s): its hash is another key's", i, k.ID)
		}
		acct := k.Account
		acct.Issuer = APIKeyIssuer
		if acct.Type == "" {
			acct.Type = User
		}
		e := &apiKey{id: k.ID, digest: d, acct: &acct, revoked: k.Revoked}
		p.byHash[d], p.byID[k.ID] = e, e
	}
	return p, nil
}

// parseHash reads "sha256:<64 hex digits>".
func parseHash(h string) ([sha256.Size]byte, error) {
	var d [sha256.Size]byte
	hexPart, ok := strings.CutPrefix(h, hashPrefix)
	if !ok || len(hexPart) != 2*sha256.Size {
		return d, fmt.Errorf("hash must be %q and 64 hexadecimal digits (see HashAPIKey)", hashPrefix)
	}
	if _, err := hex.Decode(d[:], []byte(hexPart)); err != nil {
		return d, fmt.Errorf("hash must be %q and 64 hexadecimal digits (see HashAPIKey)", hashPrefix)
	}
	return d, nil
}

// Authenticate verifies a [SchemeAPIKey] credential and returns its account;
// any other scheme is [ErrUnsupportedScheme]. An unknown key is
// [ErrInvalidAPIKey], a revoked one [ErrKeyRevoked].
func (p *APIKeys) Authenticate(_ context.Context, cred Credential) (*Account, error) {
	if cred.Scheme != SchemeAPIKey {
		return nil, ErrUnsupportedScheme.New()
	}
	if cred.Value == "" || len(cred.Value) > MaxCredentialBytes {
		return nil, ErrMalformedCredential.New()
	}
	d := sha256.Sum256([]byte(cred.Value))
	p.mu.RLock()
	e := p.byHash[d]
	revoked := e != nil && e.revoked
	p.mu.RUnlock()
	if e == nil || subtle.ConstantTimeCompare(e.digest[:], d[:]) != 1 {
		return nil, ErrInvalidAPIKey.New()
	}
	if revoked {
		return nil, ErrKeyRevoked.New()
	}
	return e.acct, nil
}

// Revoke revokes the key with the given id, at once, and reports whether
// there is one.
func (p *APIKeys) Revoke(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.byID[id]
	if ok {
		e.revoked = true
	}
	return ok
}

// HashAPIKey returns what the configuration stores of an API key:
// "sha256:" and the hexadecimal SHA-256 digest of the key.
func HashAPIKey(key string) string {
	d := sha256.Sum256([]byte(key))
	return hashPrefix + hex.EncodeToString(d[:])
}

// GenerateAPIKey returns a new API key — "wego_" and 256 random bits in
// base64url, 48 characters — and its hash for the configuration. Give the
// key to its holder once and keep only the hash.
func GenerateAPIKey() (key, hash string, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", err
	}
	key = "wego_" + base64.RawURLEncoding.EncodeToString(b[:])
	return key, HashAPIKey(key), nil
}
