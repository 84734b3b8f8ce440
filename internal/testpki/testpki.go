// Package testpki makes throwaway certificates for tests: a certificate
// authority and the server and client certificates it signs, written as
// PEM files in the test's temporary directory. Every certificate is valid
// for an hour either side of now, and names 127.0.0.1.
package testpki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// CA is a certificate authority of a test.
type CA struct {
	// Dir is the temporary directory of the files.
	Dir string
	// File is the authority's certificate, in PEM.
	File string
	// Pool holds the authority's certificate.
	Pool *x509.CertPool

	t      testing.TB
	cert   *x509.Certificate
	key    *ecdsa.PrivateKey
	serial int64
}

// Leaf is a certificate that a CA signed, and its private key.
type Leaf struct {
	// CertFile and KeyFile are the certificate and its PKCS #8 key, in PEM.
	CertFile, KeyFile string
}

// New returns a new certificate authority whose files t's temporary
// directory holds; t fails on any error.
func New(t testing.TB) *CA {
	t.Helper()
	ca := &CA{Dir: t.TempDir(), Pool: x509.NewCertPool(), t: t, serial: 1}
	ca.key = newKey(t)
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(ca.serial), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &ca.key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	if ca.cert, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	ca.Pool.AddCert(ca.cert)
	ca.File = ca.write("ca.pem", "CERTIFICATE", der)
	return ca
}

// Server returns a server certificate for cn and 127.0.0.1.
func (ca *CA) Server(cn string) Leaf { return ca.leaf(cn, x509.ExtKeyUsageServerAuth) }

// Client returns a client certificate whose subject's common name is cn.
func (ca *CA) Client(cn string) Leaf { return ca.leaf(cn, x509.ExtKeyUsageClientAuth) }

func (ca *CA) leaf(cn string, usage x509.ExtKeyUsage) Leaf {
	ca.t.Helper()
	ca.serial++
	k := newKey(ca.t)
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(ca.serial), Subject: pkix.Name{CommonName: cn},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{usage},
		KeyUsage: x509.KeyUsageDigitalSignature, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &k.PublicKey, ca.key)
	if err != nil {
		ca.t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		ca.t.Fatal(err)
	}
	return Leaf{CertFile: ca.write(cn+".pem", "CERTIFICATE", der), KeyFile: ca.write(cn+"-key.pem", "PRIVATE KEY", kder)}
}

// Pair loads the certificate and its key; t fails on any error.
func (l Leaf) Pair(t testing.TB) tls.Certificate {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(l.CertFile, l.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	return pair
}

func (ca *CA) write(name, typ string, der []byte) string {
	ca.t.Helper()
	p := filepath.Join(ca.Dir, name)
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		ca.t.Fatal(err)
	}
	return p
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
