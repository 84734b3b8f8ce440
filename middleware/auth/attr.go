package auth

import (
	"slices"

	"github.com/wegomesh/wego/auth"
	"github.com/wegomesh/wego/middleware"
)

// The attribute keys of what a command's code says about access. They are
// unexported: [Public] and [Scopes] set them, [ResourceOf] reads them.
var (
	publicKey = middleware.NewKey[bool]("auth.public")
	scopesKey = middleware.NewKey[[]string]("auth.scopes")
)

// Public marks a command that anyone may call, with a credential or
// without, at registration or declaration:
//
//	catalog.Declare[StockRequest, StockResponse]("inventory.Stock", catalog.With(auth.Public()))
//
// It counts as the rule {resource: <command>, who: [anyone], access:
// allow, priority: 0}, which a deny rule of the configuration can still
// override. A credential that a call presents is checked all the same: an
// invalid one is refused.
func Public() middleware.Attr { return publicKey.Value(true) }

// Scopes marks a command that requires scopes, whatever the rules say:
//
//	catalog.Declare[ChargeRequest, ChargeResponse]("billing.Charge", catalog.With(auth.Scopes("billing.write")))
//
// An account that lacks one of them is denied; one that holds them all is
// allowed when no rule decides. A command cannot be both public and
// require scopes: the rules then fail to compile, naming it.
func Scopes(scopes ...string) middleware.Attr { return scopesKey.Value(slices.Clone(scopes)) }

// ResourceOf returns the resource of a command, as [auth.Compile] takes
// it: its name, and whether its attributes make it public or require
// scopes.
func ResourceOf(spec *middleware.Spec) auth.Resource {
	r := auth.Resource{Name: spec.Name}
	r.Public, _ = publicKey.Get(spec.Attributes)
	if s, ok := scopesKey.Get(spec.Attributes); ok {
		r.Scopes = slices.Clone(s)
	}
	return r
}
