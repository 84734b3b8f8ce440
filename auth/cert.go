package auth

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/wegomesh/wego/config"
)

// CertificateIssuer is the [Account.Issuer] of accounts authenticated by a
// client certificate.
const CertificateIssuer = "wego:client_certificate"

// ClientCertConfig maps the client certificates of one subject to a
// service account (section auth.client_certs). The transport verifies the
// certificate against its certificate authorities; the mapping only names
// the account.
type ClientCertConfig struct {
	// Subject is the certificate's subject common name, or one of its DNS
	// names or URIs (a SPIFFE id, say).
	Subject string `mapstructure:"subject"`
	// Account is the id of the service account.
	Account string `mapstructure:"account"`
	// Scopes are the account's scopes.
	Scopes []string `mapstructure:"scopes"`
	// Metadata is the account's metadata.
	Metadata map[string]string `mapstructure:"metadata"`
}

// Certificates maps verified client certificates to service accounts.
// Make it with [NewCertificates]; it is immutable and safe for concurrent
// use.
type Certificates struct {
	bySubject map[string]*Account
}

// NewCertificates returns the mapping of cfgs. A subject or an account
// that is empty, or a subject given twice, is an error naming the entry
// by its index ("[1].subject").
func NewCertificates(cfgs ...ClientCertConfig) (*Certificates, error) {
	c := &Certificates{bySubject: make(map[string]*Account, len(cfgs))}
	var problems []error
	for i, cc := range cfgs {
		key := fmt.Sprintf("[%d]", i)
		switch {
		case cc.Subject == "":
			problems = append(problems, config.Errorf(key+".subject", "name the certificates' subject"))
		case c.bySubject[cc.Subject] != nil:
			problems = append(problems, config.Errorf(key+".subject", "%q is given twice", cc.Subject))
		}
		if cc.Account == "" {
			problems = append(problems, config.Errorf(key+".account", "name the subject's account"))
		}
		var meta map[string]string
		if len(cc.Metadata) > 0 {
			meta = maps.Clone(cc.Metadata)
		}
		if cc.Subject != "" && c.bySubject[cc.Subject] == nil {
			c.bySubject[cc.Subject] = &Account{ID: cc.Account, Type: Service, Issuer: CertificateIssuer,
				Scopes: slices.Clone(cc.Scopes), Metadata: meta}
		}
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	return c, nil
}

// Account returns the account of a verified client certificate: the one
// of its subject common name, else of its first DNS name or URI that is
// mapped. It reports false for a certificate that no entry maps: the call
// is then anonymous, as without a certificate.
func (c *Certificates) Account(cert *x509.Certificate) (*Account, bool) {
	if c == nil || cert == nil {
		return nil, false
	}
	if a, ok := c.bySubject[cert.Subject.CommonName]; ok && cert.Subject.CommonName != "" {
		return a, true
	}
	for _, n := range cert.DNSNames {
		if a, ok := c.bySubject[n]; ok {
			return a, true
		}
	}
	for _, u := range cert.URIs {
		if a, ok := c.bySubject[u.String()]; ok {
			return a, true
		}
	}
	return nil, false
}

type peerKey struct{}

// ContextWithPeerCertificate returns a copy of ctx that carries the leaf
// of the verified certificate chain of the client that made the request.
// Transports that verify client certificates (HTTP over TLS) call it; the
// authentication middleware maps the certificate to an account when the
// request carries no Authorization header.
func ContextWithPeerCertificate(ctx context.Context, cert *x509.Certificate) context.Context {
	if cert == nil {
		return ctx
	}
	return context.WithValue(ctx, peerKey{}, cert)
}

// PeerCertificate returns the verified client certificate that ctx
// carries, or nil.
func PeerCertificate(ctx context.Context) *x509.Certificate {
	c, _ := ctx.Value(peerKey{}).(*x509.Certificate)
	return c
}
