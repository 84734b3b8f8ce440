package auth

import (
	"context"
	"slices"
)

// AccountType says whether an account is a person or a program.
type AccountType string

// The account types. Rules name them as "type:user" and "type:service".
const (
	// User is a person, or a program acting for one.
	User AccountType = "user"
	// Service is a deployable calling on its own behalf: a service
	// identity.
	Service AccountType = "service"
)

// Valid reports whether t is [User] or [Service].
func (t AccountType) Valid() bool { return t == User || t == Service }

// Account is an authenticated caller: who it is, who vouched for it and
// what it may claim to do.
//
// A provider returns the same *Account to every call that presents the same
// credential (see [JWT]'s cache), so an Account returned by a provider, or
// found in a context, is read-only: copy it to change it.
type Account struct {
	// ID identifies the account within its issuer: a token's subject
	// ("sub"), or the account an API key is mapped to.
	ID string
	// Type is [User] or [Service].
	Type AccountType
	// Issuer is who vouched for the account: a token's issuer ("iss"), or
	// [APIKeyIssuer] for an API key.
	Issuer string
	// Scopes are what the account may do, as rules name them with
	// "scope:NAME". They compare with case.
	Scopes []string
	// Metadata holds further claims the configuration asks for (an email,
	// a display name). It is nil when there are none.
	Metadata map[string]string
}

// HasScope reports whether the account holds scope. A nil account holds
// none.
func (a *Account) HasScope(scope string) bool {
	return a != nil && slices.Contains(a.Scopes, scope)
}

type contextKey struct{}

// NewContext returns a copy of ctx that carries the account. Middleware
// put the caller's account there once it is authenticated; a local call
// made with that context keeps it.
func NewContext(ctx context.Context, a *Account) context.Context {
	return context.WithValue(ctx, contextKey{}, a)
}

// FromContext returns the account that ctx carries, and false when it
// carries none (an anonymous call, or one that was never authenticated).
func FromContext(ctx context.Context) (*Account, bool) {
	a, ok := ctx.Value(contextKey{}).(*Account)
	return a, ok && a != nil
}
