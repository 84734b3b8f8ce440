package auth

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/wegomesh/wego/config"
)

// Config is the configuration section "auth". Its Validate method checks
// it whole (rules, keys, key files, hashes) and names the key of each
// problem relative to the section, such as "jwt.keys[0].public_key_file"
// or "rules[2].who[0]".
//
//	auth:
//	  enabled: true
//	  jwt:
//	    issuers: [{issuer: "https://id.example.com"}]
//	    audience: [inventory]
//	    keys:
//	      - {id: "2024-06", alg: RS256, public_key_file: keys/2024-06.pem}
//	      - {id: "2023-12", alg: RS256, public_key_file: keys/2023-12.pem, retire_at: "2024-07-01T00:00:00Z"}
//	    jwks_url: https://id.example.com/.well-known/jwks.json
//	  api_keys:
//	    - {id: ci, hash: "sha256:9f86...", account: ci-bot, type: service, scopes: [inventory.read]}
//	  rules:
//	    - {resource: "inventory.*", who: [authenticated], access: allow}
//	    - {resource: inventory.Reserve, who: ["account:orders", "scope:inventory.admin"], access: allow, priority: 10}
type Config struct {
	// Enabled turns authentication and authorization on. While it is off,
	// every call is let through.
	Enabled bool `mapstructure:"enabled"`
	// JWT configures bearer tokens.
	JWT JWTConfig `mapstructure:"jwt"`
	// APIKeys are the API keys, stored as hashes.
	APIKeys []APIKeyConfig `mapstructure:"api_keys"`
	// Rules say who may use what; see [Rule]. They can be reloaded
	// without a restart.
	Rules []Rule `mapstructure:"rules"`
	// DevKey is the key that mints development tokens (wego token); its
	// tokens are accepted too. Leave it out of production configuration.
	DevKey DevKeyConfig `mapstructure:"dev_key"`
	// Identity is the service account of the deployable, and the
	// credential its remote calls carry (see [Config.ServiceIdentity]).
	Identity IdentityConfig `mapstructure:"identity"`
	// ClientCerts map verified client certificates to service accounts
	// (see [Certificates]).
	ClientCerts []ClientCertConfig `mapstructure:"client_certs"`
}

// JWTConfig is the section auth.jwt.
type JWTConfig struct {
	// Keys are the verification keys.
	Keys []KeyConfig `mapstructure:"keys"`
	// JWKSURL is a JWKS document whose keys verify tokens too: https, or
	// http on a loopback address.
	JWKSURL string `mapstructure:"jwks_url"`
	// JWKSRefresh is how old the document may get before it is fetched
	// again in the background; 0 never refetches it but for unknown keys.
	JWKSRefresh time.Duration `mapstructure:"jwks_refresh"`
	// JWKSMinInterval is the shortest time between two fetches, whatever
	// key ids tokens name.
	JWKSMinInterval time.Duration `mapstructure:"jwks_min_interval"`
	// Issuers are the accepted issuers ("iss"), each with the type of its
	// accounts.
	Issuers []IssuerConfig `mapstructure:"issuers"`
	// Audience, when not empty, lists the audiences ("aud") of this
	// service: a token must name one of them.
	Audience []string `mapstructure:"audience"`
	// ClockSkew is the tolerance of the expiry and not-before checks, for
	// clocks that differ; at most 5 minutes.
	ClockSkew time.Duration `mapstructure:"clock_skew"`
	// ScopeClaim is the claim that holds the scopes: a space-separated
	// string or an array of strings. Empty reads "scope", then "scp",
	// then "scopes".
	ScopeClaim string `mapstructure:"scope_claim"`
	// TypeClaim is the claim that holds the account type ("user" or
	// "service"), when a token has it; it overrides the issuer's type.
	TypeClaim string `mapstructure:"type_claim"`
	// AccountType is the type of accounts whose token and issuer say
	// none.
	AccountType AccountType `mapstructure:"account_type"`
	// MetadataClaims are string claims copied to [Account.Metadata].
	MetadataClaims []string `mapstructure:"metadata_claims"`
	// CacheSize bounds the cache of verified tokens; 0 turns it off.
	CacheSize int `mapstructure:"cache_size"`
}

// IssuerConfig is an accepted issuer.
type IssuerConfig struct {
	// Issuer is the "iss" value, compared exactly.
	Issuer string `mapstructure:"issuer"`
	// AccountType is the type of the issuer's accounts; empty takes
	// JWTConfig.AccountType.
	AccountType AccountType `mapstructure:"account_type"`
}

// KeyConfig is a verification key: an HS256 secret or a public key in
// PEM, inline or in a file.
type KeyConfig struct {
	// ID is the key id tokens name ("kid").
	ID string `mapstructure:"id"`
	// Alg is HS256, RS256 or EdDSA.
	Alg string `mapstructure:"alg"`
	// Secret is the HS256 secret, at least 32 bytes. Prefer SecretFile
	// or an environment variable.
	Secret string `mapstructure:"secret"`
	// SecretFile is a file that holds the secret (a final newline is
	// dropped).
	SecretFile string `mapstructure:"secret_file"`
	// PublicKey is the RS256 or EdDSA public key in PEM.
	PublicKey string `mapstructure:"public_key"`
	// PublicKeyFile is a PEM file that holds the public key.
	PublicKeyFile string `mapstructure:"public_key_file"`
	// Issuer binds the key to one issuer (see [Key.Issuer]).
	Issuer string `mapstructure:"issuer"`
	// RetireAt ends the key's life (RFC 3339); see [Key.RetireAt].
	RetireAt time.Time `mapstructure:"retire_at"`
}

// APIKeyConfig is an API key and its account.
type APIKeyConfig struct {
	// ID names the key; it is not secret.
	ID string `mapstructure:"id"`
	// Hash is [HashAPIKey] of the key.
	Hash string `mapstructure:"hash"`
	// Account is the id of the key's account.
	Account string `mapstructure:"account"`
	// Type is the account's type; the default is user.
	Type AccountType `mapstructure:"type"`
	// Scopes are the account's scopes.
	Scopes []string `mapstructure:"scopes"`
	// Metadata is the account's metadata.
	Metadata map[string]string `mapstructure:"metadata"`
	// Revoked keys fail with [ErrKeyRevoked].
	Revoked bool `mapstructure:"revoked"`
}

// DevKeyConfig is the development key: an HS256 secret that mints tokens
// for development and verifies them, bound to its own issuer.
type DevKeyConfig struct {
	// ID is the key id of the tokens it mints; the default is "dev".
	ID string `mapstructure:"id"`
	// Secret is the HS256 secret, at least 32 bytes.
	Secret string `mapstructure:"secret"`
	// SecretFile is a file that holds the secret.
	SecretFile string `mapstructure:"secret_file"`
	// Issuer is the issuer of its tokens; the default is "wego-dev".
	Issuer string `mapstructure:"issuer"`
	// TTL is the lifetime of the tokens it mints; the default is one
	// hour.
	TTL time.Duration `mapstructure:"ttl"`
}

// DefaultConfig returns the defaults of the section: disabled, and the
// defaults of [DefaultJWTConfig] and of the development key.
func DefaultConfig() Config {
	return Config{
		JWT:    DefaultJWTConfig(),
		DevKey: DevKeyConfig{ID: "dev", Issuer: "wego-dev", TTL: time.Hour},
	}
}

// maxClockSkew is the largest clock skew accepted.
const maxClockSkew = 5 * time.Minute

// Validate checks the section, key files included, and returns every
// problem joined, each a [*config.Error] whose key is relative to the
// section.
func (c *Config) Validate() error {
	var problems []error
	if err := c.JWT.Validate(); err != nil {
		problems = append(problems, config.Under("jwt", err))
	} else if _, err := c.JWT.loadKeys(); err != nil {
		problems = append(problems, config.Under("jwt", err))
	}
	ids, hashes := map[string]bool{}, map[string]bool{}
	for i, k := range c.APIKeys {
		key := fmt.Sprintf("api_keys[%d]", i)
		switch {
		case k.ID == "":
			problems = append(problems, config.Errorf(key+".id", "give the key an id"))
		case ids[k.ID]:
			problems = append(problems, config.Errorf(key+".id", "%q is given twice", k.ID))
		}
		ids[k.ID] = true
		if _, err := parseHash(k.Hash); err != nil {
			problems = append(problems, config.Errorf(key+".hash", "%w", err))
		} else if hashes[k.Hash] {
			problems = append(problems, config.Errorf(key+".hash", "is another key's hash"))
		}
		hashes[k.Hash] = true
		if k.Account == "" {
			problems = append(problems, config.Errorf(key+".account", "name the key's account"))
		}
		if k.Type != "" && !k.Type.Valid() {
			problems = append(problems, config.Errorf(key+".type", "%q is not user or service", k.Type))
		}
	}
	for i, r := range c.Rules {
		if _, field, err := r.parse(); err != nil {
			problems = append(problems, config.Errorf(fmt.Sprintf("rules[%d].%s", i, field), "%w", err))
		}
	}
	if _, err := c.DevKey.key(); err != nil {
		problems = append(problems, config.Under("dev_key", err))
	}
	if err := c.Identity.Validate(); err != nil {
		problems = append(problems, config.Under("identity", err))
	}
	if c.Identity.UseDevKey && c.DevKey.Secret == "" && c.DevKey.SecretFile == "" {
		problems = append(problems, config.Errorf("identity.use_dev_key", "no development key: set dev_key.secret or dev_key.secret_file"))
	}
	if _, err := NewCertificates(c.ClientCerts...); err != nil {
		problems = append(problems, config.Under("client_certs", err))
	}
	return errors.Join(problems...)
}

// Certificates returns the mapping of client certificates of the section
// auth.client_certs, or nil when it has none.
func (c *Config) Certificates() (*Certificates, error) {
	if len(c.ClientCerts) == 0 {
		return nil, nil
	}
	certs, err := NewCertificates(c.ClientCerts...)
	if err != nil {
		return nil, config.Under("client_certs", err)
	}
	return certs, nil
}

// Validate checks the section auth.jwt, but for reading key files.
func (c *JWTConfig) Validate() error {
	var problems []error
	add := func(key, format string, args ...any) {
		problems = append(problems, config.Errorf(key, format, args...))
	}
	ids := map[string]bool{}
	for i, k := range c.Keys {
		key := fmt.Sprintf("keys[%d]", i)
		if k.ID != "" && ids[k.ID] {
			add(key+".id", "%q is given twice", k.ID)
		}
		ids[k.ID] = true
		hasSecret := k.Secret != "" || k.SecretFile != ""
		hasPublic := k.PublicKey != "" || k.PublicKeyFile != ""
		switch k.Alg {
		case HS256:
			if k.Secret != "" && k.SecretFile != "" || !hasSecret {
				add(key, "an HS256 key needs one of secret and secret_file")
			}
			if hasPublic {
				add(key, "an HS256 key takes a secret, not a public key")
			}
		case RS256, EdDSA:
			if k.PublicKey != "" && k.PublicKeyFile != "" || !hasPublic {
				add(key, "an %s key needs one of public_key and public_key_file", k.Alg)
			}
			if hasSecret {
				add(key, "an %s key takes a public key, not a secret", k.Alg)
			}
		default:
			add(key+".alg", "%q is not %s, %s or %s", k.Alg, HS256, RS256, EdDSA)
		}
	}
	if c.JWKSURL != "" {
		if err := checkJWKSURL(c.JWKSURL); err != nil {
			add("jwks_url", "%w", err)
		}
	}
	if c.JWKSRefresh < 0 {
		add("jwks_refresh", "must not be negative, got %v", c.JWKSRefresh)
	}
	if c.JWKSMinInterval < 0 {
		add("jwks_min_interval", "must not be negative, got %v", c.JWKSMinInterval)
	}
	for i, is := range c.Issuers {
		if is.Issuer == "" {
			add(fmt.Sprintf("issuers[%d].issuer", i), "must not be empty")
		}
		if is.AccountType != "" && !is.AccountType.Valid() {
			add(fmt.Sprintf("issuers[%d].account_type", i), "%q is not user or service", is.AccountType)
		}
	}
	if (len(c.Keys) > 0 || c.JWKSURL != "") && len(c.Issuers) == 0 {
		bound := c.JWKSURL == ""
		for _, k := range c.Keys {
			bound = bound && k.Issuer != ""
		}
		if !bound {
			add("issuers", "name at least one accepted issuer")
		}
	}
	for i, a := range c.Audience {
		if a == "" {
			add(fmt.Sprintf("audience[%d]", i), "must not be empty")
		}
	}
	if c.ClockSkew < 0 || c.ClockSkew > maxClockSkew {
		add("clock_skew", "must be between 0 and %v, got %v", maxClockSkew, c.ClockSkew)
	}
	if c.AccountType != "" && !c.AccountType.Valid() {
		add("account_type", "%q is not user or service", c.AccountType)
	}
	if c.CacheSize < 0 {
		add("cache_size", "must not be negative, got %d", c.CacheSize)
	}
	return errors.Join(problems...)
}

// checkJWKSURL accepts https, and http on a loopback address (tests, a
// sidecar).
func checkJWKSURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("is not a URL")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
			return nil
		}
		return errors.New("must be https (http only on a loopback address)")
	}
	return fmt.Errorf("scheme %q is not https", u.Scheme)
}

// loadKeys reads the keys, their files included.
func (c *JWTConfig) loadKeys() ([]Key, error) {
	var keys []Key
	var problems []error
	for i, kc := range c.Keys {
		k, err := kc.load()
		if err != nil {
			problems = append(problems, config.Under(fmt.Sprintf("keys[%d]", i), err))
			continue
		}
		keys = append(keys, k)
	}
	return keys, errors.Join(problems...)
}

// load reads the key; errors have keys relative to it.
func (kc KeyConfig) load() (Key, error) {
	k := Key{ID: kc.ID, Alg: kc.Alg, Issuer: kc.Issuer, RetireAt: kc.RetireAt}
	field := ""
	switch {
	case kc.Secret != "":
		field, k.Material = "secret", []byte(kc.Secret)
	case kc.SecretFile != "":
		field = "secret_file"
		b, err := readSecret(kc.SecretFile)
		if err != nil {
			return k, config.Errorf(field, "%w", err)
		}
		k.Material = b
	case kc.PublicKey != "" || kc.PublicKeyFile != "":
		field = "public_key"
		b := []byte(kc.PublicKey)
		if kc.PublicKeyFile != "" {
			field = "public_key_file"
			var err error
			if b, err = os.ReadFile(kc.PublicKeyFile); err != nil {
				return k, config.Errorf(field, "%w", err)
			}
		}
		pub, err := ParsePublicKey(b)
		if err != nil {
			return k, config.Errorf(field, "%w", err)
		}
		k.Material = pub
	}
	if err := k.check(); err != nil {
		return k, config.Errorf(field, "%w", err)
	}
	return k, nil
}

// readSecret reads a secret file, without its final line break.
func readSecret(name string) ([]byte, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	return []byte(strings.TrimRight(string(b), "\r\n")), nil
}

// key returns the development key as a verification key, or a zero Key
// when none is configured.
func (d DevKeyConfig) key() (Key, error) {
	if d.Secret == "" && d.SecretFile == "" {
		return Key{}, nil
	}
	if d.Secret != "" && d.SecretFile != "" {
		return Key{}, config.Errorf("", "give one of secret and secret_file")
	}
	k := Key{ID: cmpOr(d.ID, "dev"), Alg: HS256, Issuer: cmpOr(d.Issuer, "wego-dev"), Material: []byte(d.Secret)}
	field := "secret"
	if d.SecretFile != "" {
		field = "secret_file"
		b, err := readSecret(d.SecretFile)
		if err != nil {
			return Key{}, config.Errorf(field, "%w", err)
		}
		k.Material = b
	}
	if err := k.check(); err != nil {
		return Key{}, config.Errorf(field, "%w", err)
	}
	if d.TTL < 0 {
		return Key{}, config.Errorf("ttl", "must not be negative, got %v", d.TTL)
	}
	return k, nil
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Providers returns the providers the section configures: a [*JWT] when it
// has keys, a JWKS URL or a development key, and [*APIKeys] when it has
// API keys; a field is nil otherwise. Errors name the key relative to the
// section.
func (c *Config) Providers(opts ...Option) (Providers, error) {
	if err := c.Validate(); err != nil {
		return Providers{}, err
	}
	var p Providers
	dev, _ := c.DevKey.key()
	jc := c.JWT
	if len(jc.Keys) > 0 || jc.JWKSURL != "" || dev.Material != nil {
		if dev.Material != nil {
			opts = append(opts, WithKeys(dev))
		}
		j, err := NewJWT(jc, opts...)
		if err != nil {
			return Providers{}, config.Under("jwt", err)
		}
		p.Bearer = j
	}
	if len(c.APIKeys) > 0 {
		keys := make([]APIKey, len(c.APIKeys))
		for i, k := range c.APIKeys {
			keys[i] = APIKey{ID: k.ID, Hash: k.Hash, Revoked: k.Revoked, Account: Account{
				ID: k.Account, Type: k.Type, Scopes: k.Scopes, Metadata: k.Metadata,
			}}
		}
		ak, err := NewAPIKeys(keys...)
		if err != nil {
			return Providers{}, config.Under("api_keys", err)
		}
		p.APIKey = ak
	}
	return p, nil
}

// Compile compiles the section's rules against the resources; see
// [Compile]. Errors name the rules as "rules[i]", relative to the
// section.
func (c *Config) Compile(resources []Resource) (*Table, error) {
	return Compile(c.Rules, resources)
}

// DevSigner returns the signer of development tokens, or an error when no
// development key is configured.
func (c *Config) DevSigner(opts ...Option) (*Signer, error) {
	k, err := c.DevKey.key()
	if err != nil {
		return nil, config.Under("dev_key", err)
	}
	if k.Material == nil {
		return nil, config.Errorf("dev_key", "no development key: set dev_key.secret or dev_key.secret_file")
	}
	s, err := NewSigner(k.ID, k.Material, k.Issuer, opts...)
	if err != nil {
		return nil, err
	}
	s.ttl = c.DevKey.TTL
	return s, nil
}
