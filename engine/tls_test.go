package engine

import (
	"crypto/tls"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/wegomesh/wego/internal/testpki"
)

// tlsFiles writes a certificate authority, a server certificate for
// 127.0.0.1 and a client certificate, and returns the server's TLS
// configuration, which verifies clients, and the files' names.
func tlsFiles(t *testing.T) (srv *tls.Config, ca, cert, key string) {
	t.Helper()
	pki := testpki.New(t)
	client := pki.Client("orders")
	srv = &tls.Config{Certificates: []tls.Certificate{pki.Server("nats").Pair(t)}, ClientCAs: pki.Pool,
		ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}
	return srv, pki.File, client.CertFile, client.KeyFile
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
