package auth

import (
	"context"
)

// Scheme is the kind of a credential: the scheme of an Authorization
// header.
type Scheme uint8

// The schemes.
const (
	// SchemeBearer is a JWT: "Authorization: Bearer <token>", verified by
	// [JWT].
	SchemeBearer Scheme = iota + 1
	// SchemeAPIKey is an API key: "Authorization: ApiKey <key>", verified
	// by [APIKeys].
	SchemeAPIKey
)

// String returns the scheme as an Authorization header writes it.
func (s Scheme) String() string {
	switch s {
	case SchemeBearer:
		return "Bearer"
	case SchemeAPIKey:
		return "ApiKey"
	}
	return "unknown"
}

// Credential is what a caller presents: a scheme and a value (the token or
// the key). Its String and GoString methods never print the value, so that
// a credential logged by mistake shows only its scheme.
type Credential struct {
	Scheme Scheme
	Value  string
}

// String returns the scheme and "[REDACTED]".
func (c Credential) String() string { return c.Scheme.String() + " [REDACTED]" }

// GoString is String, for %#v.
func (c Credential) GoString() string { return c.String() }

// MaxCredentialBytes is the longest Authorization header that
// [ParseAuthorization] reads; a longer one is malformed. Tokens of real
// issuers are well under it.
const MaxCredentialBytes = 8 << 10

// ParseAuthorization reads the value of an Authorization header: "Bearer
// <token>" or "ApiKey <key>", the scheme in any case, the value in the
// token68 characters of RFC 7235 (letters, digits, "-._~+/", then "="
// padding). It never panics and reads the header only once:
//
//   - an empty header is [ErrMissingCredential];
//   - a header longer than [MaxCredentialBytes], with bytes other than
//     printable ASCII, without a value or with a value of other characters
//     is [ErrMalformedCredential];
//   - another scheme (Basic, Digest, ...) is [ErrUnsupportedScheme].
//
// The errors hold nothing of the header.
func ParseAuthorization(header string) (Credential, error) {
	if header == "" {
		return Credential{}, ErrMissingCredential.New()
	}
	if len(header) > MaxCredentialBytes {
		return Credential{}, ErrMalformedCredential.New()
	}
	for i := 0; i < len(header); i++ {
		if c := header[i]; c < 0x20 || c > 0x7e {
			return Credential{}, ErrMalformedCredential.New()
		}
	}
	i := 0
	for i < len(header) && header[i] == ' ' {
		i++
	}
	start := i
	for i < len(header) && header[i] != ' ' {
		i++
	}
	scheme := header[start:i]
	for i < len(header) && header[i] == ' ' {
		i++
	}
	value := header[i:]
	for len(value) > 0 && value[len(value)-1] == ' ' {
		value = value[:len(value)-1]
	}
	var s Scheme
	switch {
	case equalFold(scheme, "bearer"):
		s = SchemeBearer
	case equalFold(scheme, "apikey"):
		s = SchemeAPIKey
	case scheme == "":
		return Credential{}, ErrMissingCredential.New()
	default:
		return Credential{}, ErrUnsupportedScheme.New()
	}
	if !token68(value) {
		return Credential{}, ErrMalformedCredential.New()
	}
	return Credential{Scheme: s, Value: value}, nil
}

// equalFold compares ASCII s with lower-case ASCII lower, without regard to
// case.
func equalFold(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// token68 reports whether s is a non-empty token68 (RFC 7235 section 2.1).
func token68(s string) bool {
	if s == "" {
		return false
	}
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/') {
			break
		}
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}

// Provider verifies a credential and returns the account it stands for.
// Errors are [errs.Error] values of kind unauthenticated, one of the
// ErrXxx codes of this package, and hold nothing of the credential. A
// provider is safe for concurrent use.
type Provider interface {
	Authenticate(ctx context.Context, cred Credential) (*Account, error)
}

// Providers is a [Provider] that passes each credential to the provider of
// its scheme. A credential whose scheme has no provider (a nil field) is
// [ErrUnsupportedScheme].
type Providers struct {
	// Bearer verifies tokens: usually a [*JWT].
	Bearer Provider
	// APIKey verifies API keys: usually an [*APIKeys].
	APIKey Provider
}

// Authenticate implements [Provider].
func (p Providers) Authenticate(ctx context.Context, cred Credential) (*Account, error) {
	var next Provider
	switch cred.Scheme {
	case SchemeBearer:
		next = p.Bearer
	case SchemeAPIKey:
		next = p.APIKey
	}
	if next == nil {
		return nil, ErrUnsupportedScheme.New()
	}
	return next.Authenticate(ctx, cred)
}
