package httptransport_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/wegomesh/wego/auth"
	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/config"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/internal/testpki"
	"github.com/wegomesh/wego/transport"
	httptransport "github.com/wegomesh/wego/transport/http"
)

// testPKI is a certificate authority, a server certificate for 127.0.0.1
// and a client certificate for "orders", in files of a temporary
// directory.
type testPKI struct {
	dir                                                  string
	ca                                                   *x509.CertPool
	caFile, serverCert, serverKey, clientCert, clientKey string
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	ca := testpki.New(t)
	srv, cl := ca.Server("server"), ca.Client("orders")
	return testPKI{dir: ca.Dir, ca: ca.Pool, caFile: ca.File,
		serverCert: srv.CertFile, serverKey: srv.KeyFile, clientCert: cl.CertFile, clientKey: cl.KeyFile}
}

func loadYAML(t *testing.T, yaml string) *config.Config {
	t.Helper()
	c, err := config.Load(config.FS(fstest.MapFS{"dev.yaml": {Data: []byte(yaml)}}), config.Env("dev"), config.Dir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type peerResp struct {
	Peer string `json:"peer"`
}

// http.tls serves HTTPS; with client_auth require, a client without a
// certificate the authorities verify is refused during the handshake, and
// the command finds the verified certificate in its context.
func TestTLSFromConfig(t *testing.T) {
	t.Parallel()
	p := newTestPKI(t)
	cat := catalog.New()
	if _, err := catalog.RegisterIn(cat, "tls.Peer", func(ctx context.Context, _ Empty) (peerResp, error) {
		if c := auth.PeerCertificate(ctx); c != nil {
			return peerResp{Peer: c.Subject.CommonName}, nil
		}
		return peerResp{}, nil
	}, httptransport.GET("/peer")); err != nil {
		t.Fatal(err)
	}
	cfg := loadYAML(t, fmt.Sprintf("http:\n  tls: {cert_file: %q, key_file: %q, client_ca_file: %q, client_auth: require}\n",
		p.serverCert, p.serverKey, p.caFile))
	s := httptransport.NewServer(httptransport.Addr("127.0.0.1:0"))
	if err := s.Start(context.Background(), transport.Host{Catalog: cat, Config: cfg}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop(context.Background()) })
	if !strings.HasPrefix(s.URL(), "https://") {
		t.Fatalf("URL %s", s.URL())
	}

	get := func(certs ...tls.Certificate) (string, error) {
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.ca, Certificates: certs}}}
		resp, err := c.Get(s.URL() + "/peer")
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(b))), nil
	}
	if got, err := get(); err == nil {
		t.Fatalf("without a client certificate: %s, want a failed handshake", got)
	}
	cert, err := tls.LoadX509KeyPair(p.clientCert, p.clientKey)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := get(cert); err != nil || got != `200 {"peer":"orders"}` {
		t.Fatalf("with the client certificate: %q, %v", got, err)
	}

	// A route presents the certificate of http_client.tls.
	cl, err := httptransport.NewClientFromConfig(loadYAML(t, fmt.Sprintf("http_client:\n  tls: {ca_file: %q, cert_file: %q, key_file: %q}\n",
		p.caFile, p.clientCert, p.clientKey)))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.CloseIdleConnections()
	other := catalog.New()
	h, _ := catalog.DeclareIn[Empty, peerResp](other, "tls.Peer", httptransport.GET("/peer"))
	if err := other.SetRoute("tls.*", cl.Route(s.URL())); err != nil {
		t.Fatal(err)
	}
	if r, err := h.Call(context.Background(), Empty{}); err != nil || r.Peer != "orders" {
		t.Fatalf("through a route: %+v, %v", r, err)
	}
}

func TestTLSConfigErrors(t *testing.T) {
	t.Parallel()
	p := newTestPKI(t)
	tests := []struct{ yaml, want string }{
		{"http: {tls: {cert_file: a.pem}}", "http.tls.cert_file in embed:dev.yaml: give both cert_file and key_file"},
		{"http: {tls: {cert_file: a.pem, key_file: b.pem, client_auth: optional}}", "http.tls.client_ca_file in embed:dev.yaml: name the certificate authorities"},
		{"http: {tls: {client_auth: always}}", `http.tls.client_auth in embed:dev.yaml: "always" is not none, optional or require`},
		{"http: {tls: {client_ca_file: ca.pem}}", "http.tls.client_ca_file in embed:dev.yaml: verifies client certificates"},
		{fmt.Sprintf("http: {tls: {cert_file: %q, key_file: %q}}", filepath.Join(p.dir, "missing.pem"), p.serverKey), "http.tls.cert_file in embed:dev.yaml: open "},
		{fmt.Sprintf("http: {tls: {cert_file: %q, key_file: %q, client_ca_file: %q, client_auth: optional}}", p.serverCert, p.serverKey, p.serverKey), "http.tls.client_ca_file in embed:dev.yaml: no certificate in PEM"},
	}
	for _, tc := range tests {
		c, err := config.Load(config.FS(fstest.MapFS{"dev.yaml": {Data: []byte(tc.yaml)}}), config.Env("dev"), config.Dir(t.TempDir()))
		if err == nil {
			s := httptransport.NewServer(httptransport.Addr("127.0.0.1:0"))
			if err = s.Start(context.Background(), transport.Host{Catalog: catalog.New(), Config: c}); err == nil {
				s.Stop(context.Background())
			}
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.yaml, err, tc.want)
		}
	}
	if _, err := httptransport.NewClientFromConfig(loadYAML(t, "http_client: {tls: {key_file: k.pem}}")); err == nil ||
		!strings.Contains(err.Error(), "http_client.tls.cert_file") {
		t.Errorf("client: %v", err)
	}
}

// Every 401 challenges the client to authenticate with a bearer token.
func TestUnauthorizedChallenge(t *testing.T) {
	t.Parallel()
	cat := catalog.New()
	if _, err := catalog.RegisterIn(cat, "auth.Me", func(context.Context, Empty) (Empty, error) {
		return Empty{}, errs.Unauthenticated()
	}, httptransport.GET("/me")); err != nil {
		t.Fatal(err)
	}
	if _, err := catalog.RegisterIn(cat, "auth.Them", func(context.Context, Empty) (Empty, error) {
		return Empty{}, errs.PermissionDenied()
	}, httptransport.GET("/them")); err != nil {
		t.Fatal(err)
	}
	s := httptransport.NewServer(httptransport.Addr("127.0.0.1:0"))
	if err := s.Start(context.Background(), transport.Host{Catalog: cat}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop(context.Background()) })
	for path, want := range map[string]string{"/me": "401 Bearer", "/them": "403 "} {
		resp, err := http.Get(s.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := fmt.Sprintf("%d %s", resp.StatusCode, resp.Header.Get("WWW-Authenticate")); got != want {
			t.Errorf("%s: %q, want %q", path, got, want)
		}
	}
}
