package auth

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go.uber.org/zap"

	"github.com/wegomesh/wego/config"
)

// JWT is the [Provider] of bearer tokens: JSON Web Tokens signed with
// HS256, RS256 or EdDSA, verified with configured keys and with the keys
// of a JWKS document. Make one with [NewJWT]; it is safe for concurrent
// use.
//
// A token is accepted when its signature verifies with the key it names
// (or, without "kid", with one key of its algorithm), the key is pinned to
// the token's algorithm and not retired, and its claims hold: an accepted
// issuer ("iss"), one of the configured audiences ("aud") when some are
// configured, a subject ("sub"), an expiry ("exp") that has not passed and
// a not-before time ("nbf") that has, both give or take the clock skew.
//
// Verified tokens are cached: the cache is keyed by a keyed hash of the
// token (two 64-bit hashes with secret per-process seeds, so the token
// itself is never kept), bounded, and an entry lasts until the token
// expires or its key retires, whichever comes first. A token seen again is
// a hash and a map lookup, without allocation.
type JWT struct {
	parser     *jwt.Parser
	untimed    *jwt.Parser        // for a time given with WithVerifyTime (see verifytime.go)
	checks     []jwt.ParserOption // the parser's checks of the claims, but for the clock
	keys       atomic.Pointer[keySet]
	static     []*key
	issuers    map[string]AccountType
	scopeClaim string
	typeClaim  string
	metaClaims []string
	accType    AccountType
	skew       time.Duration
	now        func() time.Time
	cache      *tokenCache
	jwks       *jwksSource
	algs       map[string]bool // the algorithms of the parser's list
	log        *zap.Logger
}

// key is a verification key with its retirement in Unix nanoseconds (0:
// never).
type key struct {
	Key
	retire int64
}

func (k *key) retiredAt(now int64) bool { return k.retire != 0 && now >= k.retire }

// keySet is an immutable set of keys; a new one replaces it when the JWKS
// document changes, with a new generation, which invalidates the cached
// tokens.
type keySet struct {
	gen   uint64
	byID  map[string]*key
	byAlg map[string][]*key
}

func newKeySet(gen uint64, keys ...[]*key) *keySet {
	s := &keySet{gen: gen, byID: map[string]*key{}, byAlg: map[string][]*key{}}
	for _, ks := range keys {
		for _, k := range ks {
			if k.ID != "" {
				if _, dup := s.byID[k.ID]; dup {
					continue // the configured key wins over a JWKS key of the same id
				}
				s.byID[k.ID] = k
			}
			s.byAlg[k.Alg] = append(s.byAlg[k.Alg], k)
		}
	}
	return s
}

// DefaultJWTConfig returns the defaults of the jwt section: a clock skew of
// 30 seconds, user accounts whose type a token may say in the claim
// [TypeClaim], a cache of 10,000 tokens, JWKS refreshed every 10 minutes
// and fetched at most every 30 seconds.
func DefaultJWTConfig() JWTConfig {
	return JWTConfig{
		ClockSkew:       30 * time.Second,
		AccountType:     User,
		TypeClaim:       TypeClaim,
		CacheSize:       10_000,
		JWKSRefresh:     10 * time.Minute,
		JWKSMinInterval: 30 * time.Second,
	}
}

// NewJWT returns the provider that cfg describes, with the keys given with
// [WithKeys] besides those of cfg. Key files are read now. Problems are
// [*config.Error] values whose keys are relative to the jwt section
// ("keys[1].public_key_file"). The JWKS document, if any, is fetched
// when a token names a key that is not known yet, or by [JWT.Refresh].
func NewJWT(cfg JWTConfig, opts ...Option) (*JWT, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o := newOptions(opts)
	keys, err := cfg.loadKeys()
	if err != nil {
		return nil, err
	}
	for i, k := range o.keys {
		if err := k.check(); err != nil {
			return nil, config.Errorf("", "key %d given in code (id %q): %w", i, k.ID, err)
		}
		keys = append(keys, k)
	}
	j := &JWT{
		issuers:    make(map[string]AccountType, len(cfg.Issuers)),
		scopeClaim: cfg.ScopeClaim,
		typeClaim:  cfg.TypeClaim,
		metaClaims: slices.Clone(cfg.MetadataClaims),
		accType:    cfg.AccountType,
		skew:       cfg.ClockSkew,
		now:        o.now,
		cache:      newTokenCache(cfg.CacheSize),
		log:        o.log,
	}
	if j.accType == "" {
		j.accType = User
	}
	for _, is := range cfg.Issuers {
		j.issuers[is.Issuer] = is.AccountType
	}
	algs := map[string]bool{}
	for _, k := range keys {
		if k.Issuer == "" && len(j.issuers) == 0 {
			return nil, config.Errorf("issuers", "name at least one accepted issuer (key %q has no issuer of its own)", k.ID)
		}
		j.static = append(j.static, newKey(k))
		algs[k.Alg] = true
	}
	if cfg.JWKSURL != "" {
		if len(j.issuers) == 0 {
			return nil, config.Errorf("issuers", "name at least one accepted issuer for the tokens of jwks_url")
		}
		j.jwks = newJWKSSource(cfg, o, j)
		algs[RS256], algs[EdDSA] = true, true
	}
	if len(algs) == 0 {
		return nil, config.Errorf("keys", "configure at least one key or a jwks_url")
	}
	j.algs = algs
	j.keys.Store(newKeySet(0, j.static))
	popts := []jwt.ParserOption{
		jwt.WithValidMethods(sortedKeys(algs)),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(cfg.ClockSkew),
		jwt.WithTimeFunc(o.now),
	}
	if len(cfg.Audience) > 0 {
		popts = append(popts, jwt.WithAudience(cfg.Audience...))
	}
	j.parser = jwt.NewParser(popts...)
	j.untimed, j.checks = untimedParser(sortedKeys(algs)), claimChecks(cfg.ClockSkew, cfg.Audience)
	return j, nil
}

func newKey(k Key) *key {
	nk := &key{Key: k}
	if !k.RetireAt.IsZero() {
		nk.retire = k.RetireAt.UnixNano()
	}
	return nk
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Authenticate verifies a [SchemeBearer] credential and returns its account;
// any other scheme is [ErrUnsupportedScheme]. A token verified before and
// still valid is answered from the cache. A context made with
// [WithVerifyTime] has the token's expiry and not-before time judged at
// its time instead of now.
func (j *JWT) Authenticate(ctx context.Context, cred Credential) (*Account, error) {
	if cred.Scheme != SchemeBearer {
		return nil, ErrUnsupportedScheme.New()
	}
	tok := cred.Value
	if tok == "" || len(tok) > MaxCredentialBytes {
		return nil, ErrMalformedCredential.New()
	}
	now := j.now()
	at, timed := VerifyTime(ctx)
	if !timed {
		at = now
	}
	gen := j.keys.Load().gen
	h := j.cache.hash(tok)
	if a, ok := j.cache.get(h, tok, now.UnixNano(), at.UnixNano(), gen); ok {
		return a, nil
	}
	return j.verify(ctx, tok, h, now, at)
}

// Purge empties the cache of verified tokens, so that every token is
// verified again on its next use.
func (j *JWT) Purge() { j.cache.purge() }

// Refresh fetches the JWKS document now and installs its keys; without a
// jwks_url it does nothing. A failed fetch keeps the keys fetched before
// and is logged; Refresh also returns its error. A program may call it at
// start so that the first calls do not wait for the document.
func (j *JWT) Refresh(ctx context.Context) error {
	if j.jwks == nil {
		return nil
	}
	return j.jwks.fetch(ctx)
}

// Keys returns the ids of the keys in use, configured and fetched, in
// order; keys without id are left out. It is meant for start-up logs.
func (j *JWT) Keys() []string {
	ks := j.keys.Load()
	ids := make([]string, 0, len(ks.byID))
	for id := range ks.byID {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Sentinels of the key function, mapped to this package's codes by
// tokenError; they never reach a caller.
var (
	errAlgNone       = errors.New("alg none")
	errAlgNotAllowed = errors.New("algorithm not allowed for the key")
	errUnknownKID    = errors.New("unknown kid")
	errRetired       = errors.New("key retired")
	errBadKID        = errors.New("kid is not a string")
	errNoKeyVerifies = errors.New("no key of the algorithm verifies")
)

// verify verifies tok, whose hash is h, at now, its expiry and not-before
// time at at.
func (j *JWT) verify(ctx context.Context, tok string, h uint64, now, at time.Time) (*Account, error) {
	nowNano := now.UnixNano()
	ks := j.keys.Load()
	var used *key
	claims := jwt.MapClaims{}
	parser := j.parser
	if !at.Equal(now) {
		parser = j.untimed // and validateAt below
	}
	parsed, err := parser.ParseWithClaims(tok, claims, func(t *jwt.Token) (any, error) {
		k, err := j.keyFor(ctx, t, ks, nowNano)
		if err != nil {
			return nil, err
		}
		used, ks = k, j.keys.Load()
		return k.Material, nil
	})
	if err == nil && parser == j.untimed {
		err = j.validateAt(claims, at)
	}
	if err != nil {
		return nil, j.tokenError(parsed, claims, err)
	}
	a, until, err := j.account(claims, used)
	if err != nil {
		return nil, err
	}
	j.cache.put(h, tok, a, until, j.notBefore(claims), ks.gen, nowNano)
	j.jwks.maybeRefresh(nowNano)
	return a, nil
}

// keyFor picks the key of a parsed but unverified token, checking that it
// is pinned to the token's algorithm and not retired.
func (j *JWT) keyFor(ctx context.Context, t *jwt.Token, ks *keySet, now int64) (*key, error) {
	alg := t.Method.Alg()
	if alg == jwt.SigningMethodNone.Alg() {
		return nil, errAlgNone
	}
	if raw, ok := t.Header["kid"]; ok {
		kid, ok := raw.(string)
		if !ok {
			return nil, errBadKID
		}
		k := ks.byID[kid]
		if k == nil && j.jwks != nil {
			ks = j.jwks.fetchForUnknown(ctx, now)
			k = ks.byID[kid]
		}
		switch {
		case k == nil:
			return nil, errUnknownKID
		case k.Alg != alg:
			return nil, errAlgNotAllowed
		case k.retiredAt(now):
			return nil, errRetired
		}
		return k, nil
	}
	cands := ks.byAlg[alg]
	if len(cands) == 0 {
		return nil, errAlgNotAllowed
	}
	// Without "kid", the token is tried with each unretired key of its
	// algorithm. The parser verifies the signature again with the key
	// returned: the price of a token that does not name its key, paid
	// only when several keys could have signed it.
	var live *key
	n := 0
	for _, k := range cands {
		if !k.retiredAt(now) {
			live = k
			n++
		}
	}
	switch n {
	case 0:
		return nil, errRetired
	case 1:
		return live, nil
	}
	signed := t.Raw[:strings.LastIndexByte(t.Raw, '.')]
	for _, k := range cands {
		if !k.retiredAt(now) && t.Method.Verify(signed, t.Signature, k.Material) == nil {
			return k, nil
		}
	}
	return nil, errNoKeyVerifies
}

// tokenError maps an error of the parser to this package's errors. The
// parser's own error is dropped: some of its messages quote parts of the
// token's claims.
func (j *JWT) tokenError(t *jwt.Token, claims jwt.MapClaims, err error) error {
	switch {
	case errors.Is(err, errAlgNone):
		return ErrUnsignedToken.New()
	case errors.Is(err, errAlgNotAllowed):
		return ErrAlgorithmNotAllowed.New()
	case errors.Is(err, errUnknownKID):
		return ErrUnknownKeyID.New()
	case errors.Is(err, errRetired):
		return ErrKeyRetired.New()
	case errors.Is(err, errBadKID), errors.Is(err, jwt.ErrTokenMalformed):
		return ErrMalformedCredential.New()
	case errors.Is(err, errNoKeyVerifies):
		return ErrBadSignature.New()
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		// Also the parser's answer to an algorithm outside its list.
		if t != nil && t.Method != nil {
			switch alg := t.Method.Alg(); {
			case alg == jwt.SigningMethodNone.Alg():
				return ErrUnsignedToken.New()
			case !j.algs[alg]:
				return ErrAlgorithmNotAllowed.New()
			}
		}
		return ErrBadSignature.New()
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		// An algorithm the library does not know, or none at all.
		return ErrAlgorithmNotAllowed.New()
	case errors.Is(err, jwt.ErrTokenExpired):
		return ErrTokenExpired.New()
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return ErrTokenNotYetValid.New()
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return ErrWrongAudience.New()
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return ErrWrongIssuer.New()
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing) && claims["exp"] != nil && claims["aud"] == nil:
		// The only other claim the parser requires: the audience.
		return ErrWrongAudience.New()
	case errors.Is(err, jwt.ErrTokenInvalidClaims), errors.Is(err, jwt.ErrTokenRequiredClaimMissing),
		errors.Is(err, jwt.ErrInvalidType):
		return ErrInvalidClaims.New()
	}
	return ErrMalformedCredential.New()
}

// account builds the account of verified claims and says until when it
// may be cached (Unix nanoseconds).
func (j *JWT) account(claims jwt.MapClaims, k *key) (*Account, int64, error) {
	iss, _ := claims["iss"].(string)
	typ, accepted := j.issuers[iss]
	if k.Issuer != "" {
		accepted = iss == k.Issuer
	}
	if !accepted {
		return nil, 0, ErrWrongIssuer.New()
	}
	sub, _ := claims["sub"].(string)
	if sub == "" {
		return nil, 0, ErrInvalidClaims.New()
	}
	if typ == "" {
		typ = j.accType
	}
	if j.typeClaim != "" {
		if v, ok := claims[j.typeClaim]; ok {
			s, _ := v.(string)
			if typ = AccountType(s); !typ.Valid() {
				return nil, 0, ErrInvalidClaims.New()
			}
		}
	}
	// The account and a few scopes share one allocation.
	box := new(accountBox)
	scopes, ok := j.scopes(claims, box.scopes[:0])
	if !ok {
		return nil, 0, ErrInvalidClaims.New()
	}
	a := &box.a
	*a = Account{ID: sub, Type: typ, Issuer: iss, Scopes: scopes}
	for _, name := range j.metaClaims {
		if s, ok := claims[name].(string); ok {
			if a.Metadata == nil {
				a.Metadata = make(map[string]string, len(j.metaClaims))
			}
			a.Metadata[name] = s
		}
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil {
		return nil, 0, ErrInvalidClaims.New()
	}
	until := exp.Add(j.skew).UnixNano()
	if k.retire != 0 && k.retire < until {
		until = k.retire
	}
	return a, until, nil
}

// defaultScopeClaims are read, in order, when no scope claim is
// configured.
var defaultScopeClaims = []string{"scope", "scp", "scopes"}

// accountBox is an account and room for its first scopes, allocated
// together.
type accountBox struct {
	a      Account
	scopes [4]string
}

// scopes reads the scope claim, a space-separated string ("scope" in
// OAuth 2.0) or an array of strings ("scp", "scopes"), appending to buf.
// It returns nil when there is no claim, and reports false when the claim
// has another type.
func (j *JWT) scopes(claims jwt.MapClaims, buf []string) ([]string, bool) {
	var v any
	if j.scopeClaim != "" {
		v = claims[j.scopeClaim]
	} else {
		for _, name := range defaultScopeClaims {
			if x, ok := claims[name]; ok {
				v = x
				break
			}
		}
	}
	switch v := v.(type) {
	case nil:
		return nil, true
	case string:
		out := buf
		for f := range strings.FieldsSeq(v) {
			out = append(out, f)
		}
		return out[:len(out):len(out)], true
	case []any:
		out := buf
		for _, x := range v {
			s, ok := x.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out[:len(out):len(out)], true
	}
	return nil, false
}
