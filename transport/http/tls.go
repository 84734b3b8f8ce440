package httptransport

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"github.com/wegomesh/wego/config"
)

// Client authentication modes of [ServerTLSConfig.ClientAuth].
const (
	// ClientAuthNone asks clients for no certificate. The default.
	ClientAuthNone = "none"
	// ClientAuthOptional verifies a certificate that a client presents,
	// and lets in a client without one: the authentication middleware
	// then maps a verified certificate to its service account
	// (auth.client_certs), and the others authenticate with their
	// Authorization header.
	ClientAuthOptional = "optional"
	// ClientAuthRequire refuses, during the handshake, a client without a
	// certificate that the certificate authorities verify.
	ClientAuthRequire = "require"
)

// ServerTLSConfig is the section http.tls: the server speaks HTTPS when it
// names a certificate.
//
//	http:
//	  tls:
//	    cert_file: certs/inventory.pem
//	    key_file: certs/inventory-key.pem
//	    client_ca_file: certs/mesh-ca.pem   # verifies client certificates
//	    client_auth: optional               # none, optional or require
//
// The files are read when the server starts. The [TLS] option, when given,
// replaces the section.
type ServerTLSConfig struct {
	// CertFile is the server's certificate chain in PEM, leaf first.
	CertFile string `mapstructure:"cert_file"`
	// KeyFile is the certificate's private key in PEM.
	KeyFile string `mapstructure:"key_file"`
	// ClientCAFile holds the certificate authorities, in PEM, that verify
	// the certificates of clients. Required unless ClientAuth is none.
	ClientCAFile string `mapstructure:"client_ca_file"`
	// ClientAuth is [ClientAuthNone] (default), [ClientAuthOptional] or
	// [ClientAuthRequire].
	ClientAuth string `mapstructure:"client_auth"`
}

// Validate checks the section, but for reading the files.
func (c *ServerTLSConfig) Validate() error {
	var problems []error
	if (c.CertFile == "") != (c.KeyFile == "") {
		problems = append(problems, config.Errorf("cert_file", "give both cert_file and key_file, or neither"))
	}
	switch c.ClientAuth {
	case "", ClientAuthNone:
		if c.ClientCAFile != "" {
			problems = append(problems, config.Errorf("client_ca_file", "verifies client certificates: set client_auth to optional or require"))
		}
	case ClientAuthOptional, ClientAuthRequire:
		if c.ClientCAFile == "" {
			problems = append(problems, config.Errorf("client_ca_file", "name the certificate authorities that verify client certificates"))
		}
		if c.CertFile == "" {
			problems = append(problems, config.Errorf("client_auth", "client certificates need TLS: give cert_file and key_file"))
		}
	default:
		problems = append(problems, config.Errorf("client_auth", "%q is not %s, %s or %s", c.ClientAuth, ClientAuthNone, ClientAuthOptional, ClientAuthRequire))
	}
	return errors.Join(problems...)
}

// Config returns the TLS configuration of the section, its files read, or
// nil when it names no certificate. Errors name the key relative to the
// section.
func (c *ServerTLSConfig) Config() (*tls.Config, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.CertFile == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return nil, config.Errorf("cert_file", "%w", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	switch c.ClientAuth {
	case ClientAuthOptional, ClientAuthRequire:
		pool, err := readPool(c.ClientCAFile)
		if err != nil {
			return nil, config.Errorf("client_ca_file", "%w", err)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
		if c.ClientAuth == ClientAuthRequire {
			cfg.ClientAuth = tls.RequireAndVerifyClientCert
		}
	}
	return cfg, nil
}

// ClientTLSConfig is the section http_client.tls: how remote routes verify
// HTTPS servers, and the certificate they present to servers that ask for
// one.
//
//	http_client:
//	  tls:
//	    ca_file: certs/mesh-ca.pem      # default: the system's
//	    cert_file: certs/orders.pem     # the client certificate, with key_file
//	    key_file: certs/orders-key.pem
//
// The [ClientTLS] option, when given, replaces the section.
type ClientTLSConfig struct {
	// CAFile holds the certificate authorities, in PEM, that verify
	// servers. Default: the system's.
	CAFile string `mapstructure:"ca_file"`
	// CertFile and KeyFile are the client's certificate and key in PEM,
	// for servers that verify clients. Set both or neither.
	CertFile string `mapstructure:"cert_file"`
	KeyFile  string `mapstructure:"key_file"`
	// ServerName, when set, is the name that server certificates must
	// carry, instead of the host of the route's URL.
	ServerName string `mapstructure:"server_name"`
}

// set reports whether any field is given.
func (c *ClientTLSConfig) set() bool {
	return c.CAFile != "" || c.CertFile != "" || c.KeyFile != "" || c.ServerName != ""
}

// Validate checks the section, but for reading the files.
func (c *ClientTLSConfig) Validate() error {
	if (c.CertFile == "") != (c.KeyFile == "") {
		return config.Errorf("cert_file", "give both cert_file and key_file, or neither")
	}
	return nil
}

// Config returns the TLS configuration of the section, its files read, or
// nil when it sets nothing. Errors name the key relative to the section.
func (c *ClientTLSConfig) Config() (*tls.Config, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if !c.set() {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.ServerName}
	if c.CAFile != "" {
		pool, err := readPool(c.CAFile)
		if err != nil {
			return nil, config.Errorf("ca_file", "%w", err)
		}
		cfg.RootCAs = pool
	}
	if c.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, config.Errorf("cert_file", "%w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// readPool reads the certificates of a PEM file into a pool.
func readPool(name string) (*x509.CertPool, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("no certificate in PEM found in %s", name)
	}
	return pool, nil
}
