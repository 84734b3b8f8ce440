package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// maxJWKSBytes bounds the JWKS document read.
const maxJWKSBytes = 1 << 20

// jwksSource fetches the keys of a JWKS document and installs them in the
// provider's key set, beside the configured keys.
//
// A token that names an unknown key id makes it fetch the document again,
// at most once per minInterval whatever the tokens say, so that random key
// ids cannot make the process hammer the issuer; callers with unknown key
// ids meanwhile wait for the fetch under way. The document is also fetched
// again in the background once it is older than refresh. A fetch that
// fails keeps the keys fetched before and logs a warning.
type jwksSource struct {
	url         string
	redacted    string // for logs
	client      *http.Client
	refresh     int64 // nanoseconds
	minInterval int64
	log         *zap.Logger
	now         func() time.Time
	j           *JWT

	mu          sync.Mutex // one fetch at a time
	lastAttempt int64      // guarded by mu
	lastSuccess atomic.Int64
	background  atomic.Bool // a background refresh is under way
	gen         uint64      // guarded by mu
}

func newJWKSSource(cfg JWTConfig, o *options, j *JWT) *jwksSource {
	s := &jwksSource{
		url:         cfg.JWKSURL,
		redacted:    cfg.JWKSURL,
		client:      o.client,
		refresh:     int64(cfg.JWKSRefresh),
		minInterval: int64(cfg.JWKSMinInterval),
		log:         o.log,
		now:         o.now,
		j:           j,
	}
	if u, err := url.Parse(cfg.JWKSURL); err == nil {
		s.redacted = u.Redacted()
	}
	return s
}

// fetchForUnknown fetches the document for a token whose key id is
// unknown, unless a fetch was attempted less than minInterval ago, and
// returns the key set then in use.
func (s *jwksSource) fetchForUnknown(ctx context.Context, now int64) *keySet {
	s.mu.Lock()
	if s.lastAttempt == 0 || now-s.lastAttempt >= s.minInterval {
		_ = s.fetchLocked(ctx, now)
	}
	s.mu.Unlock()
	return s.j.keys.Load()
}

// maybeRefresh starts a background fetch when the document is older than
// the refresh interval. It never blocks.
func (s *jwksSource) maybeRefresh(now int64) {
	if s == nil || s.refresh <= 0 || now-s.lastSuccess.Load() < s.refresh {
		return
	}
	if !s.background.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer s.background.Store(false)
		s.mu.Lock()
		defer s.mu.Unlock()
		now := s.now().UnixNano()
		if now-s.lastSuccess.Load() < s.refresh || now-s.lastAttempt < s.minInterval {
			return
		}
		_ = s.fetchLocked(context.Background(), now)
	}()
}

// fetch fetches the document now.
func (s *jwksSource) fetch(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fetchLocked(ctx, s.now().UnixNano())
}

func (s *jwksSource) fetchLocked(ctx context.Context, now int64) error {
	s.lastAttempt = now
	// The fetch serves every caller waiting for it: it does not end
	// with the context of the one that started it, but it has the
	// client's timeout.
	keys, skipped, err := s.get(context.WithoutCancel(ctx))
	old := s.j.keys.Load()
	if err != nil {
		s.log.Warn("auth: JWKS fetch failed; keeping the keys in use",
			zap.String("jwks_url", s.redacted), zap.Int("keys", old.len()), zap.Error(err))
		return err
	}
	for _, reason := range skipped {
		s.log.Warn("auth: JWKS key skipped", zap.String("jwks_url", s.redacted), zap.String("reason", reason))
	}
	s.lastSuccess.Store(now)
	if sameKeys(old, s.j.static, keys) {
		return nil
	}
	s.gen++
	s.j.keys.Store(newKeySet(s.gen, s.j.static, keys))
	s.log.Info("auth: JWKS keys installed", zap.String("jwks_url", s.redacted), zap.Int("keys", len(keys)))
	return nil
}

// len returns the number of keys.
func (s *keySet) len() int {
	n := 0
	for _, ks := range s.byAlg {
		n += len(ks)
	}
	return n
}

// sameKeys reports whether the set holds exactly the static keys and the
// fetched ones, by id, algorithm and material.
func sameKeys(set *keySet, static, fetched []*key) bool {
	if set.len() != len(static)+len(fetched) {
		return false
	}
	for _, k := range fetched {
		found := false
		for _, o := range set.byAlg[k.Alg] {
			if o.ID == k.ID && equalMaterial(o.Material, k.Material) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func equalMaterial(a, b any) bool {
	switch a := a.(type) {
	case *rsa.PublicKey:
		b, ok := b.(*rsa.PublicKey)
		return ok && a.Equal(b)
	case ed25519.PublicKey:
		b, ok := b.(ed25519.PublicKey)
		return ok && a.Equal(b)
	}
	return false
}

// get fetches and parses the document. It returns the usable keys and
// why the others were skipped.
func (s *jwksSource) get(ctx context.Context) ([]*key, []string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxJWKSBytes))
		return nil, nil, fmt.Errorf("status %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, nil, err
	}
	if len(body) > maxJWKSBytes {
		return nil, nil, fmt.Errorf("document larger than %d bytes", maxJWKSBytes)
	}
	parsed, skipped, err := ParseJWKS(body)
	if err != nil {
		return nil, nil, err
	}
	keys := make([]*key, len(parsed))
	for i, k := range parsed {
		keys[i] = newKey(k)
	}
	return keys, skipped, nil
}

// jwk is one key of a JWKS document (RFC 7517), the members this package
// reads.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
	Crv string `json:"crv"`
	N   string `json:"n"`
	E   string `json:"e"`
	X   string `json:"x"`
}

// ParseJWKS reads a JWKS document (RFC 7517): the RSA keys ("kty": "RSA",
// used as RS256) and Ed25519 keys ("kty": "OKP", "crv": "Ed25519", used as
// EdDSA) it holds. Keys that declare another use than "sig", another
// algorithm than their type's, or of another type (symmetric "oct" keys
// among them: a published secret is no secret) are skipped, and the
// reasons returned. A document that is not JSON is an error.
func ParseJWKS(doc []byte) (keys []Key, skipped []string, err error) {
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.Unmarshal(doc, &set); err != nil {
		return nil, nil, fmt.Errorf("JWKS document: %w", err)
	}
	for i, k := range set.Keys {
		key, err := k.key()
		if err != nil {
			skipped = append(skipped, fmt.Sprintf("key %d (kid %q): %v", i, k.Kid, err))
			continue
		}
		keys = append(keys, key)
	}
	return keys, skipped, nil
}

var b64 = base64.RawURLEncoding

func (k jwk) key() (Key, error) {
	if k.Use != "" && k.Use != "sig" {
		return Key{}, fmt.Errorf("use %q is not sig", k.Use)
	}
	out := Key{ID: k.Kid}
	switch k.Kty {
	case "RSA":
		out.Alg = RS256
		n, err1 := b64.DecodeString(k.N)
		e, err2 := b64.DecodeString(k.E)
		if err := errors.Join(err1, err2); err != nil || len(e) == 0 || len(e) > 4 {
			return Key{}, errors.New("RSA key with a bad modulus or exponent")
		}
		exp := new(big.Int).SetBytes(e)
		out.Material = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(exp.Int64())}
		if out.Material.(*rsa.PublicKey).E < 3 {
			return Key{}, errors.New("RSA key with a bad exponent")
		}
	case "OKP":
		if k.Crv != "Ed25519" {
			return Key{}, fmt.Errorf("OKP curve %q is not Ed25519", k.Crv)
		}
		out.Alg = EdDSA
		x, err := b64.DecodeString(k.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return Key{}, errors.New("Ed25519 key of the wrong size")
		}
		out.Material = ed25519.PublicKey(x)
	default:
		return Key{}, fmt.Errorf("key type %q is not RSA or OKP", k.Kty)
	}
	if k.Alg != "" && k.Alg != out.Alg {
		return Key{}, fmt.Errorf("algorithm %q does not fit key type %q (want %s)", k.Alg, k.Kty, out.Alg)
	}
	if err := out.check(); err != nil {
		return Key{}, err
	}
	return out, nil
}
