// Package devtoken mints the development tokens that the example mesh's
// deployables print at start, so that the curl lines they show work as
// printed.
package devtoken

import (
	"github.com/wegomesh/wego/auth"
	"github.com/wegomesh/wego/config"
)

// For returns a user token for sub with scopes, signed with the dev key
// of cfg's auth section, for its audience; "" when auth is off or the
// section has no dev key (the deployable then prints no token).
func For(cfg *config.Config, sub string, scopes ...string) string {
	ac, err := config.GetWithDefaults(cfg, "auth", auth.DefaultConfig())
	if err != nil || !ac.Enabled {
		return ""
	}
	signer, err := ac.DevSigner()
	if err != nil {
		return ""
	}
	tok, err := signer.Sign(auth.Claims{Subject: sub, Type: auth.User, Scopes: scopes, Audience: ac.JWT.Audience})
	if err != nil {
		return ""
	}
	return tok
}
