package auth

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wegomesh/wego/config"
)

// IdentityConfig is the section auth.identity: the service account of a
// deployable, and the credential that its remote calls carry.
//
//	identity:
//	  account: orders
//	  scopes: [inventory.reserve]
//	  audience: [inventory]
//	  signing_key: {id: orders-2024, private_key_file: keys/orders.pem, issuer: "https://id.example.com"}
//	  on_behalf: ["billing.*"]
//
// The credential is one of: a token issued to the service (token,
// token_file), an API key (api_key, api_key_file), or a token minted at
// start, and again before it expires, with a signing key (signing_key) or
// the development key (use_dev_key). An account without a credential
// serves the calls the deployable makes in process as itself; its remote
// calls then carry none.
type IdentityConfig struct {
	// Account is the id of the service account: the subject of the
	// tokens it mints, and the account of the calls the deployable makes
	// in process as itself. Required when anything else is set.
	Account string `mapstructure:"account"`
	// Scopes are the scopes of minted tokens, and of the account.
	Scopes []string `mapstructure:"scopes"`
	// Audience is the audience ("aud") of minted tokens: the services
	// that accept them.
	Audience []string `mapstructure:"audience"`
	// TTL is the lifetime of minted tokens; a token is minted again when
	// less than a third of it is left. Default 15m.
	TTL time.Duration `mapstructure:"ttl"`
	// Token is a bearer token issued to the service. Prefer TokenFile.
	Token string `mapstructure:"token"`
	// TokenFile is a file that holds the token, read again when it
	// changes (a final newline is dropped).
	TokenFile string `mapstructure:"token_file"`
	// APIKey is an API key of the service. Prefer APIKeyFile.
	APIKey string `mapstructure:"api_key"`
	// APIKeyFile is a file that holds the API key.
	APIKeyFile string `mapstructure:"api_key_file"`
	// SigningKey mints the service's tokens.
	SigningKey SigningKeyConfig `mapstructure:"signing_key"`
	// UseDevKey mints the service's tokens with the development key
	// (auth.dev_key): for development only.
	UseDevKey bool `mapstructure:"use_dev_key"`
	// OnBehalf lists the commands, as rule resources ("billing.Charge",
	// "billing.*", "*"), whose remote calls carry the caller's own
	// credential instead of the service's: the callee then decides by
	// the caller's account. A call made without a caller's credential
	// then carries none.
	OnBehalf []string `mapstructure:"on_behalf"`
}

// SigningKeyConfig is a key that mints tokens: an HS256 secret, or an RSA
// (RS256) or Ed25519 (EdDSA) private key in PEM.
type SigningKeyConfig struct {
	// ID is the key id ("kid") of the tokens it mints.
	ID string `mapstructure:"id"`
	// Secret is an HS256 secret of at least 32 bytes. Prefer SecretFile.
	Secret string `mapstructure:"secret"`
	// SecretFile is a file that holds the secret.
	SecretFile string `mapstructure:"secret_file"`
	// PrivateKeyFile is a PEM file that holds the private key.
	PrivateKeyFile string `mapstructure:"private_key_file"`
	// Issuer is the issuer ("iss") of the tokens it mints.
	Issuer string `mapstructure:"issuer"`
}

// set reports whether any field of the signing key is given.
func (s SigningKeyConfig) set() bool {
	return s.ID != "" || s.Secret != "" || s.SecretFile != "" || s.PrivateKeyFile != "" || s.Issuer != ""
}

// defaultIdentityTTL is the lifetime of minted service tokens.
const defaultIdentityTTL = 15 * time.Minute

// Validate checks the section, but for reading files.
func (c *IdentityConfig) Validate() error {
	var problems []error
	add := func(key, format string, args ...any) {
		problems = append(problems, config.Errorf(key, format, args...))
	}
	n := 0
	for _, given := range []bool{c.Token != "" || c.TokenFile != "", c.APIKey != "" || c.APIKeyFile != "", c.SigningKey.set(), c.UseDevKey} {
		if given {
			n++
		}
	}
	switch {
	case c.Account == "" && (n > 0 || len(c.Scopes) > 0 || len(c.Audience) > 0):
		add("account", "name the service account")
	case n > 1:
		add("", "give one of token, token_file, api_key, api_key_file, signing_key and use_dev_key")
	}
	if c.Token != "" && c.TokenFile != "" {
		add("token", "give one of token and token_file")
	}
	if c.APIKey != "" && c.APIKeyFile != "" {
		add("api_key", "give one of api_key and api_key_file")
	}
	if c.Token != "" {
		if _, err := ParseAuthorization("Bearer " + c.Token); err != nil {
			add("token", "is not a token: letters, digits and -._~+/ only")
		}
	}
	if c.APIKey != "" {
		if _, err := ParseAuthorization("ApiKey " + c.APIKey); err != nil {
			add("api_key", "is not an API key: letters, digits and -._~+/ only")
		}
	}
	if sk := c.SigningKey; sk.set() {
		k := 0
		for _, s := range []string{sk.Secret, sk.SecretFile, sk.PrivateKeyFile} {
			if s != "" {
				k++
			}
		}
		if k != 1 {
			add("signing_key", "give one of secret, secret_file and private_key_file")
		}
		if sk.Issuer == "" {
			add("signing_key.issuer", "name the issuer of the tokens it mints")
		}
	}
	if c.TTL < 0 {
		add("ttl", "must not be negative, got %v", c.TTL)
	}
	if (n == 0 || !c.mints()) && (len(c.Audience) > 0 || c.TTL != 0) {
		add("", "audience and ttl apply to minted tokens: give signing_key or use_dev_key")
	}
	for i, p := range c.OnBehalf {
		if _, err := parsePattern(p); err != nil {
			add(fmt.Sprintf("on_behalf[%d]", i), "%w", err)
		}
	}
	return errors.Join(problems...)
}

// mints reports whether the identity mints its tokens.
func (c *IdentityConfig) mints() bool { return c.SigningKey.set() || c.UseDevKey }

// Identity is the service identity of a deployable: its account, and the
// Authorization header its remote calls carry. Make it with
// [Config.Identity]; it is safe for concurrent use.
type Identity struct {
	account  *Account
	onBehalf []pattern

	scheme Scheme
	file   string // token_file or api_key_file, read again when it changes
	signer *Signer
	claims Claims
	now    func() time.Time

	cur atomic.Pointer[header]
	mu  sync.Mutex // serializes minting and reading the file
}

// header is an Authorization header and when to make it again.
type header struct {
	value   string
	renew   time.Time // zero: never
	modTime time.Time // of the file it was read from
}

// ServiceIdentity returns the identity the section auth.identity
// configures, or nil when it configures none. A minted token is minted
// now, and a file read now, so that a key or a file that does not work
// fails start-up; problems name the key relative to the section
// ("identity.token_file").
func (c *Config) ServiceIdentity(opts ...Option) (*Identity, error) {
	ic := c.Identity
	if err := ic.Validate(); err != nil {
		return nil, config.Under("identity", err)
	}
	if ic.Account == "" {
		return nil, nil
	}
	o := newOptions(opts)
	id := &Identity{
		account: &Account{ID: ic.Account, Type: Service, Scopes: ic.Scopes},
		now:     o.now,
	}
	for _, p := range ic.OnBehalf {
		pat, _ := parsePattern(p)
		id.onBehalf = append(id.onBehalf, pat)
	}
	switch {
	case ic.Token != "":
		id.scheme = SchemeBearer
		id.cur.Store(&header{value: "Bearer " + ic.Token})
	case ic.APIKey != "":
		id.scheme = SchemeAPIKey
		id.account.Issuer = APIKeyIssuer
		id.cur.Store(&header{value: "ApiKey " + ic.APIKey})
	case ic.TokenFile != "" || ic.APIKeyFile != "":
		id.scheme, id.file = SchemeBearer, ic.TokenFile
		key := "identity.token_file"
		if ic.APIKeyFile != "" {
			id.scheme, id.file, key = SchemeAPIKey, ic.APIKeyFile, "identity.api_key_file"
			id.account.Issuer = APIKeyIssuer
		}
		if _, err := id.readFile(); err != nil {
			return nil, config.Errorf(key, "%w", err)
		}
	case ic.mints():
		var signer *Signer
		var err error
		if ic.UseDevKey {
			if signer, err = c.DevSigner(opts...); err != nil {
				return nil, config.Errorf("identity.use_dev_key", "%w", err)
			}
		} else if signer, err = ic.SigningKey.signer(opts...); err != nil {
			return nil, config.Under("identity.signing_key", err)
		}
		id.scheme, id.signer = SchemeBearer, signer
		id.account.Issuer = signer.issuer
		ttl := ic.TTL
		if ttl == 0 {
			ttl = defaultIdentityTTL
		}
		id.claims = Claims{Subject: ic.Account, Type: Service, Scopes: ic.Scopes, Audience: ic.Audience, TTL: ttl}
		if _, err := id.mint(); err != nil {
			return nil, config.Errorf("identity", "minting the service's token: %w", err)
		}
	}
	return id, nil
}

// signer returns the signer of the key.
func (s SigningKeyConfig) signer(opts ...Option) (*Signer, error) {
	var key any
	switch {
	case s.Secret != "":
		key = []byte(s.Secret)
	case s.SecretFile != "":
		b, err := readSecret(s.SecretFile)
		if err != nil {
			return nil, config.Errorf("secret_file", "%w", err)
		}
		key = b
	default:
		b, err := os.ReadFile(s.PrivateKeyFile)
		if err != nil {
			return nil, config.Errorf("private_key_file", "%w", err)
		}
		if key, err = ParsePrivateKey(b); err != nil {
			return nil, config.Errorf("private_key_file", "%w", err)
		}
	}
	signer, err := NewSigner(s.ID, key, s.Issuer, opts...)
	if err != nil {
		return nil, config.Errorf("", "%w", err)
	}
	return signer, nil
}

// Account returns the service account. Local calls that the deployable
// makes as itself carry it ([NewContext]); the callee's rules see it as
// they see the account of the service's credential.
func (id *Identity) Account() *Account { return id.account }

// OnBehalf reports whether the remote calls of the command name carry the
// caller's credential rather than the service's (identity.on_behalf).
func (id *Identity) OnBehalf(name string) bool {
	kind, lower, ok := parseResource(name)
	if !ok {
		return false
	}
	for _, p := range id.onBehalf {
		if p.match(kind, lower) {
			return true
		}
	}
	return false
}

// Authorization returns the value of the Authorization header that the
// deployable's remote calls carry: "Bearer <token>" or "ApiKey <key>", or
// "" when the identity has an account but no credential. It
// costs an atomic load, but when a minted token must be minted again (a
// third of its lifetime left) or the file of the credential changed. Its
// errors hold nothing of the credential.
func (id *Identity) Authorization() (string, error) {
	h := id.cur.Load()
	if h != nil && (h.renew.IsZero() || id.now().Before(h.renew)) {
		return h.value, nil
	}
	if h == nil && id.signer == nil && id.file == "" {
		return "", nil // an account for local calls only
	}
	id.mu.Lock()
	defer id.mu.Unlock()
	if h = id.cur.Load(); h != nil && !h.renew.IsZero() && id.now().Before(h.renew) {
		return h.value, nil
	}
	if id.signer != nil {
		return id.mint()
	}
	return id.readFile()
}

// fileCheck is how often the file of a credential is looked at again.
const fileCheck = 10 * time.Second

// mint mints a token; id.mu is held, or id is not shared yet.
func (id *Identity) mint() (string, error) {
	tok, err := id.signer.Sign(id.claims)
	if err != nil {
		return "", err
	}
	now := id.now()
	h := &header{value: "Bearer " + tok, renew: now.Add(id.claims.TTL * 2 / 3)}
	id.cur.Store(h)
	return h.value, nil
}

// readFile reads the credential's file again when it changed; id.mu is
// held, or id is not shared yet. A file that cannot be read keeps the
// credential read before, if any.
func (id *Identity) readFile() (string, error) {
	prev := id.cur.Load()
	now := id.now()
	fi, err := os.Stat(id.file)
	if err == nil && prev != nil && fi.ModTime().Equal(prev.modTime) {
		id.cur.Store(&header{value: prev.value, renew: now.Add(fileCheck), modTime: prev.modTime})
		return prev.value, nil
	}
	var b []byte
	if err == nil {
		b, err = readSecret(id.file)
	}
	if err == nil && len(b) == 0 {
		err = errors.New("the file is empty")
	}
	var value string
	if err == nil {
		value = id.scheme.String() + " " + strings.TrimSpace(string(b))
		if _, perr := ParseAuthorization(value); perr != nil {
			err = errors.New("the file does not hold a credential: letters, digits and -._~+/ only")
		}
	}
	if err != nil {
		if prev != nil {
			id.cur.Store(&header{value: prev.value, renew: now.Add(fileCheck), modTime: prev.modTime})
			return prev.value, nil
		}
		return "", err
	}
	id.cur.Store(&header{value: value, renew: now.Add(fileCheck), modTime: fi.ModTime()})
	return value, nil
}
