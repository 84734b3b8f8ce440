package engine

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// tlsFiles writes a certificate authority, a server certificate for
// 127.0.0.1 and a client certificate, and returns the server's TLS
// configuration, which verifies clients, and the files' names.
func tlsFiles(t *testing.T) (srv *tls.Config, ca, cert, key string) {
	t.Helper()
	dir := t.TempDir()
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	now := time.Now()
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	caKey := newKey()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leaf := func(serial int64, cn string, usage x509.ExtKeyUsage) (tls.Certificate, string, string) {
		k := newKey()
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{usage},
			KeyUsage: x509.KeyUsageDigitalSignature, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, _ := x509.MarshalPKCS8PrivateKey(k)
		c, kf := write(cn+".pem", "CERTIFICATE", der), write(cn+"-key.pem", "PRIVATE KEY", kder)
		pair, err := tls.LoadX509KeyPair(c, kf)
		if err != nil {
			t.Fatal(err)
		}
		return pair, c, kf
	}
	serverPair, _, _ := leaf(2, "nats", x509.ExtKeyUsageServerAuth)
	_, cert, key = leaf(3, "orders", x509.ExtKeyUsageClientAuth)
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	srv = &tls.Config{Certificates: []tls.Certificate{serverPair}, ClientCAs: pool,
		ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}
	return srv, write("ca.pem", "CERTIFICATE", caDER), cert, key
}

// The section nats.tls: the connection verifies the servers with its
// certificate authorities and presents its certificate to servers that
// verify clients.
func TestTLS(t *testing.T) {
	noLeaks(t)
	srvTLS, ca, cert, key := tlsFiles(t)
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true,
		TLSConfig: srvTLS, TLSVerify: true, TLSTimeout: 2})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	if !ns.ReadyForConnections(5 * time.Second) {
		t.Fatal("the NATS server did not start")
	}
	url := fmt.Sprintf("tls://%s", ns.Addr().String())

	cfg := external(url)
	cfg.TLS = TLSConfig{CA: ca, Cert: cert, Key: key}
	e := start(t, cfg, nil)
	echo(t, e, "svc.echo", "served ")
	msg, err := e.Conn().Request("svc.echo", []byte("x"), time.Second)
	if err != nil || string(msg.Data) != "served x" {
		t.Fatalf("request over TLS: %v %q", err, msgData(msg))
	}
	if !e.Conn().TLSRequired() {
		t.Fatal("the connection does not use TLS")
	}

	for name, tc := range map[string]TLSConfig{
		"without the client certificate": {CA: ca},
		"without the authorities":        {Cert: cert, Key: key},
	} {
		cfg := external(url)
		cfg.TLS = tc
		cfg.ConnectTimeout = time.Second
		if e, err := Start(t.Context(), cfg, nil); err == nil {
			e.Close(t.Context())
			t.Errorf("%s: connected", name)
		} else if !strings.Contains(err.Error(), url) {
			t.Errorf("%s: the error does not name the URL: %v", name, err)
		}
	}
}
