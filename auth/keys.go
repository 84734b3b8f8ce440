package auth

import (
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"time"
)

// The signing algorithms a key can be pinned to.
const (
	HS256 = "HS256" // HMAC with SHA-256: a shared secret of at least 32 bytes
	RS256 = "RS256" // RSASSA-PKCS1-v1_5 with SHA-256: an RSA key of at least 2048 bits
	EdDSA = "EdDSA" // Ed25519
)

// Key is a key that verifies tokens. A key verifies only tokens signed with
// its own algorithm, so that a token cannot choose how it is checked: an
// HS256 token that names an RS256 key fails with [ErrAlgorithmNotAllowed]
// instead of being checked with the public key as an HMAC secret.
type Key struct {
	// ID is the key id that tokens name in their "kid" header. A token
	// without "kid" is tried with every unretired key of its algorithm.
	ID string
	// Alg is [HS256], [RS256] or [EdDSA].
	Alg string
	// Material is the key: the secret ([]byte) for HS256, an
	// *rsa.PublicKey for RS256, an ed25519.PublicKey for EdDSA.
	Material any
	// Issuer, when set, is the only issuer that tokens verified with the
	// key may have; otherwise the issuer must be one of the configured
	// issuers.
	Issuer string
	// RetireAt, when set, is the end of the key's life: a token signed with
	// it stays valid until then, and fails with [ErrKeyRetired] after.
	// Rotate by adding the new key and giving the previous one a
	// retirement time past the expiry of the last token it signed.
	RetireAt time.Time
}

// minSecretBytes is the shortest HS256 secret: RFC 7518 section 3.2 asks
// for a key at least as long as the hash.
const minSecretBytes = 32

// minRSABits is the smallest RSA modulus accepted.
const minRSABits = 2048

// check reports what is wrong with the key's algorithm and material.
func (k Key) check() error {
	switch k.Alg {
	case HS256:
		b, ok := k.Material.([]byte)
		if !ok {
			return fmt.Errorf("an HS256 key must be a secret ([]byte), not %T", k.Material)
		}
		if len(b) < minSecretBytes {
			return fmt.Errorf("an HS256 secret must have at least %d bytes, it has %d", minSecretBytes, len(b))
		}
	case RS256:
		pk, ok := k.Material.(*rsa.PublicKey)
		if !ok || pk == nil {
			return fmt.Errorf("an RS256 key must be an RSA public key, not %T", k.Material)
		}
		if pk.N.BitLen() < minRSABits {
			return fmt.Errorf("an RS256 key must have at least %d bits, it has %d", minRSABits, pk.N.BitLen())
		}
	case EdDSA:
		pk, ok := k.Material.(ed25519.PublicKey)
		if !ok || len(pk) != ed25519.PublicKeySize {
			return fmt.Errorf("an EdDSA key must be an Ed25519 public key, not %T", k.Material)
		}
	default:
		return fmt.Errorf("algorithm %q is not %s, %s or %s", k.Alg, HS256, RS256, EdDSA)
	}
	return nil
}

var errNoPEM = errors.New("no PEM block found")

// ParsePublicKey reads a public key in PEM: a "PUBLIC KEY" block (PKIX,
// RSA or Ed25519), an "RSA PUBLIC KEY" block (PKCS #1) or a "CERTIFICATE"
// (its public key). It returns an *rsa.PublicKey or an ed25519.PublicKey.
func ParsePublicKey(pemBytes []byte) (any, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errNoPEM
	}
	var pub any
	var err error
	switch block.Type {
	case "PUBLIC KEY":
		pub, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		var cert *x509.Certificate
		if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
			pub = cert.PublicKey
		}
	default:
		return nil, fmt.Errorf("PEM block %q is not a public key or a certificate", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("PEM block %q: %w", block.Type, err)
	}
	switch pub.(type) {
	case *rsa.PublicKey, ed25519.PublicKey:
		return pub, nil
	}
	return nil, fmt.Errorf("public key of type %T is neither RSA nor Ed25519", pub)
}

// ParsePrivateKey reads a private key in PEM: a "PRIVATE KEY" block
// (PKCS #8, RSA or Ed25519) or an "RSA PRIVATE KEY" block (PKCS #1). It
// returns an *rsa.PrivateKey or an ed25519.PrivateKey.
func ParsePrivateKey(pemBytes []byte) (any, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errNoPEM
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("PEM block %q is not a private key", block.Type)
	}
	if err != nil {
		// The parser's error never quotes the key's bytes.
		return nil, fmt.Errorf("PEM block %q: %w", block.Type, err)
	}
	switch key.(type) {
	case *rsa.PrivateKey, ed25519.PrivateKey:
		return key, nil
	}
	return nil, fmt.Errorf("private key of type %T is neither RSA nor Ed25519", key)
}

// algFor returns the algorithm of a public or private key.
func algFor(key any) string {
	switch key.(type) {
	case *rsa.PublicKey, *rsa.PrivateKey:
		return RS256
	case ed25519.PublicKey, ed25519.PrivateKey:
		return EdDSA
	case []byte:
		return HS256
	}
	return ""
}
