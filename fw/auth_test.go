package fw_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/wegomesh/wego/auth"
	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/config"
	"github.com/wegomesh/wego/fw"
	"github.com/wegomesh/wego/internal/testpki"
	authmw "github.com/wegomesh/wego/middleware/auth"
	httptransport "github.com/wegomesh/wego/transport/http"
)

const devSecret = "a development secret of at least 32 bytes"

type stockReq struct {
	SKU string `json:"sku"`
}

type noReq struct{}

type stockResp struct {
	SKU   string `json:"sku"`
	Units int    `json:"units"`
	By    string `json:"by,omitempty"`
}

// authCatalog holds inv.Reserve (POST /inv/reserve), which says who
// called it, and inv.Stock (GET /inv/stock), public in code.
func authCatalog(t *testing.T) (*catalog.Catalog, *catalog.Command[stockReq, stockResp]) {
	t.Helper()
	cat := catalog.New()
	h, err := catalog.RegisterIn(cat, "inv.Reserve", func(ctx context.Context, r stockReq) (stockResp, error) {
		acct, _ := auth.FromContext(ctx)
		by := ""
		if acct != nil {
			by = acct.ID
		}
		return stockResp{SKU: r.SKU, Units: 1, By: by}, nil
	}, httptransport.POST("/inv/reserve"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := catalog.RegisterIn(cat, "inv.Stock", func(context.Context, noReq) (stockResp, error) {
		return stockResp{Units: 98}, nil
	}, httptransport.GET("/inv/stock"), catalog.With(authmw.Public())); err != nil {
		t.Fatal(err)
	}
	return cat, h
}

const authYAML = `app: {name: inv}
auth:
  enabled: true
  dev_key: {secret: "` + devSecret + `"}
  rules:
    - {resource: inv.Reserve, who: ["account:orders", "scope:inv.admin"], access: allow}
`

// authApp starts an application serving cat over HTTP with the
// configuration in dir/dev.yaml, logging to an observer.
func authApp(t *testing.T, cat *catalog.Catalog, dir string, opts ...fw.Option) (*fw.App, *httptransport.Server, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	srv := httptransport.NewServer(httptransport.Addr("127.0.0.1:0"))
	base := []fw.Option{fw.Catalog(cat), fw.Logger(zap.New(core)), fw.Transports(srv),
		fw.ConfigOptions(config.Dir(dir), config.Env("dev"))}
	a, err := fw.New(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Stop(context.Background()) })
	return a, srv, logs
}

func writeConfig(t *testing.T, dir, yaml string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "dev.yaml"), []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
}

func devToken(t testing.TB, sub string, typ auth.AccountType, scopes ...string) string {
	t.Helper()
	cfg := auth.DefaultConfig()
	cfg.DevKey.Secret = devSecret
	s, err := cfg.DevSigner()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.Sign(auth.Claims{Subject: sub, Type: typ, Scopes: scopes})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
}

func do(t *testing.T, method, url, authorization, lang string) answer {
	t.Helper()
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader(`{"sku":"apple"}`)
	}
	req, _ := http.NewRequest(method, url, body)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	if lang != "" {
		req.Header.Set("Accept-Language", lang)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return answer{resp.StatusCode, resp.Header, m}
}

// Over HTTP: 401 with WWW-Authenticate and a localized message, 403, 200;
// audit records carry the principal, and refused calls are audited too.
func TestAuthOverHTTP(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeConfig(t, dir, authYAML+"middleware: {audit: {all: true}}\n")
	cat, _ := authCatalog(t)
	_, srv, logs := authApp(t, cat, dir)
	base := "http://" + srv.Addr()

	a := do(t, "POST", base+"/inv/reserve", "", "es")
	if a.status != 401 || a.header.Get("WWW-Authenticate") != "Bearer" || a.body["code"] != "auth.missing_credential" ||
		a.body["message"] != "Se requiere autenticación" {
		t.Errorf("anonymous: %d %v %v", a.status, a.header.Get("WWW-Authenticate"), a.body)
	}
	if a := do(t, "POST", base+"/inv/reserve", "Bearer "+devToken(t, "alice", auth.User), ""); a.status != 403 ||
		a.body["code"] != "auth.denied" || a.header.Get("WWW-Authenticate") != "" {
		t.Errorf("alice: %d %v", a.status, a.body)
	}
	if a := do(t, "POST", base+"/inv/reserve", "Bearer "+devToken(t, "orders", auth.Service), ""); a.status != 200 || a.body["by"] != "orders" {
		t.Errorf("orders: %d %v", a.status, a.body)
	}
	if a := do(t, "GET", base+"/inv/stock", "", ""); a.status != 200 {
		t.Errorf("public, anonymous: %d %v", a.status, a.body)
	}
	if a := do(t, "GET", base+"/inv/stock", "Bearer not.a.token", ""); a.status != 401 || a.body["code"] != "auth.malformed_credential" {
		t.Errorf("public, a malformed token: %d %v", a.status, a.body)
	}
	if a := do(t, "GET", base+"/inv/stock", "Bearer "+strings.Repeat("A", 16<<10), ""); a.status != 401 {
		t.Errorf("public, an oversize token: %d %v", a.status, a.body)
	}

	audit := logs.FilterLoggerName("audit")
	want := map[string]string{ // outcome -> principal
		"auth.missing_credential": "", "auth.denied": "alice", "ok": "orders", "auth.malformed_credential": "",
	}
	for outcome, principal := range want {
		recs := audit.FilterField(zap.String("outcome", outcome)).All()
		if len(recs) == 0 {
			t.Errorf("no audit record with outcome %s", outcome)
			continue
		}
		if got, _ := recs[0].ContextMap()["principal"].(string); got != principal {
			t.Errorf("audit record %s: principal %q, want %q", outcome, got, principal)
		}
	}
	if logs.FilterMessage("auth: call refused").FilterField(zap.String("principal", "alice")).Len() != 1 {
		t.Error("the refusal of alice is not logged")
	}
}

// A rules reload under load drops no request: every call is decided by
// the old rules or the new ones, and a reload whose rules reach no
// command changes nothing.
func TestAuthReloadUnderLoad(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeConfig(t, dir, authYAML)
	cat, _ := authCatalog(t)
	a, srv, logs := authApp(t, cat, dir)
	url := "http://" + srv.Addr() + "/inv/reserve"
	orders := "Bearer " + devToken(t, "orders", auth.Service)
	alice := "Bearer " + devToken(t, "alice", auth.User)

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	var stop atomic.Bool
	var wg sync.WaitGroup
	var calls, failed atomic.Int64
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				for _, who := range []string{orders, alice} {
					req, _ := http.NewRequest("POST", url, strings.NewReader(`{"sku":"apple"}`))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Authorization", who)
					resp, err := client.Do(req)
					calls.Add(1)
					if err != nil {
						failed.Add(1)
						continue
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					// orders is allowed by every version; alice by one of two.
					if resp.StatusCode != 200 && (who == orders || resp.StatusCode != 403) {
						failed.Add(1)
					}
				}
			}
		}()
	}
	open := authYAML + "    - {resource: inv.Reserve, who: [\"account:alice\"], access: allow, priority: 5}\n"
	for i := range 40 {
		yaml := authYAML
		if i%2 == 1 {
			yaml = open
		}
		writeConfig(t, dir, yaml)
		if err := a.Config().Reload(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	if failed.Load() != 0 || calls.Load() < 40 {
		t.Fatalf("%d of %d calls failed during reloads", failed.Load(), calls.Load())
	}
	if a := do(t, "POST", url, alice, ""); a.status != 200 {
		t.Fatalf("after the last reload alice is allowed: %d %v", a.status, a.body)
	}
	writeConfig(t, dir, authYAML+"    - {resource: inv.Nothing, who: [anyone], access: allow}\n")
	if err := a.Config().Reload(); err != nil {
		t.Fatal(err)
	}
	if logs.FilterMessage("configuration change refused: auth keeps its settings").Len() != 1 {
		t.Error("the refused change is not logged")
	}
	if a := do(t, "POST", url, alice, ""); a.status != 200 {
		t.Fatalf("a refused reload changed the rules: %d", a.status)
	}
}

func TestAuthStartupErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ yaml, want string }{
		{authYAML + "    - {resource: \"invv.*\", who: [anyone], access: allow}\n", `auth.rules[1].resource in `},
		{authYAML + "    - {resource: inv.Reserve, who: [everyone], access: allow}\n", `auth.rules[1].who[0]`},
		{authYAML + "middleware: {auth: {enabled: true}}\n", "middleware.auth in "},
		{authYAML + "middleware: {server: [recovery, requestid]}\n", "middleware.server in "},
		{"auth: {identity: {account: x, on_behalf: [\"y.*\"]}}\nmiddleware: {client: [timeout]}\n", "middleware.client in "},
		{"auth: {identity: {account: x, token: abc}}\nmiddleware: {client: [timeout]}\n", "auth.identity is set but the client chain does not run auth"},
	}
	for _, tc := range tests {
		dir := t.TempDir()
		writeConfig(t, dir, tc.yaml)
		cat, _ := authCatalog(t)
		_, err := fw.New(fw.Catalog(cat), fw.Logger(zap.NewNop()), fw.ConfigOptions(config.Dir(dir), config.Env("dev")))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s\nerr = %v, want %q", tc.yaml, err, tc.want)
		}
		if err != nil && !strings.Contains(err.Error(), "dev.yaml") {
			t.Errorf("the error does not name the file: %v", err)
		}
	}
}

// One start-up line lists the commands served here that no rule reaches.
func TestAuthUnreachedLine(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeConfig(t, dir, authYAML)
	cat, _ := authCatalog(t)
	if _, err := catalog.RegisterIn(cat, "inv.Audit", func(context.Context, stockReq) (stockResp, error) { return stockResp{}, nil }); err != nil {
		t.Fatal(err)
	}
	_, _, logs := authApp(t, cat, dir)
	lines := logs.FilterMessageSnippet("no rule reaches").All()
	if len(lines) != 1 {
		t.Fatalf("%d lines", len(lines))
	}
	if got := fmt.Sprint(lines[0].ContextMap()["unreached"]); got != "[inv.Audit]" {
		t.Fatalf("unreached = %s", got)
	}
}

// Remote calls carry the service's credential, or the caller's for the
// commands called on the caller's behalf; local calls keep the caller's
// account.
func TestServiceIdentity(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeConfig(t, dir, authYAML+"    - {resource: inv.Stock, who: [\"type:service\"], access: deny}\n")
	invCat, _ := authCatalog(t)
	_, srv, _ := authApp(t, invCat, dir)

	cat := catalog.New()
	reserve, _ := catalog.DeclareIn[stockReq, stockResp](cat, "inv.Reserve", httptransport.POST("/inv/reserve"))
	stock, _ := catalog.DeclareIn[noReq, stockResp](cat, "inv.Stock", httptransport.GET("/inv/stock"))
	place, _ := catalog.RegisterIn(cat, "ord.Place", func(ctx context.Context, r stockReq) (stockResp, error) {
		return reserve.Call(ctx, r)
	})
	ordDir := t.TempDir()
	writeConfig(t, ordDir, `app: {name: ord}
auth:
  dev_key: {secret: "`+devSecret+`"}
  identity: {account: orders, use_dev_key: true, on_behalf: [inv.Stock]}
routes:
  inv.*: http://`+srv.Addr()+"\n")
	authApp(t, cat, ordDir)

	r, err := place.Call(context.Background(), stockReq{SKU: "apple"})
	if err != nil || r.By != "orders" {
		t.Fatalf("the service's own call: %+v, %v", r, err)
	}
	// Stock is called on the caller's behalf: without a caller's
	// credential, anonymously (public), never as the service (denied).
	if r, err := stock.Call(context.Background(), noReq{}); err != nil || r.Units != 98 {
		t.Fatalf("on behalf of nobody: %+v, %v", r, err)
	}
	ctx := authmw.WithAuthorization(context.Background(), []string{"Bearer " + devToken(t, "billing", auth.Service)})
	if _, err := stock.Call(ctx, noReq{}); !errors.Is(err, auth.ErrDenied) {
		t.Fatalf("on behalf of a service: %v, want auth.denied", err)
	}
}

// Client certificates: the HTTP server verifies them (http.tls) and the
// middleware maps them to service accounts (auth.client_certs); a route
// presents one (http_client.tls).
func TestClientCertificates(t *testing.T) {
	t.Parallel()
	pki := newPKI(t)
	dir := t.TempDir()
	writeConfig(t, dir, authYAML+fmt.Sprintf(`  client_certs:
    - {subject: orders.mesh.test, account: orders}
http:
  tls: {cert_file: %q, key_file: %q, client_ca_file: %q, client_auth: optional}
`, pki.serverCert, pki.serverKey, pki.caFile))
	invCat, _ := authCatalog(t)
	_, srv, _ := authApp(t, invCat, dir)
	if !strings.HasPrefix(srv.URL(), "https://") {
		t.Fatalf("URL %s", srv.URL())
	}

	route := func(withCert bool) (stockResp, error) {
		cat := catalog.New()
		reserve, _ := catalog.DeclareIn[stockReq, stockResp](cat, "inv.Reserve", httptransport.POST("/inv/reserve"))
		tlsCfg := fmt.Sprintf("{ca_file: %q}", pki.caFile)
		if withCert {
			tlsCfg = fmt.Sprintf("{ca_file: %q, cert_file: %q, key_file: %q}", pki.caFile, pki.clientCert, pki.clientKey)
		}
		d := t.TempDir()
		writeConfig(t, d, "app: {name: ord}\nhttp_client: {tls: "+tlsCfg+"}\nroutes:\n  inv.*: https://"+srv.Addr()+"\n")
		authApp(t, cat, d)
		return reserve.Call(context.Background(), stockReq{SKU: "apple"})
	}
	if r, err := route(true); err != nil || r.By != "orders" {
		t.Fatalf("with the client certificate: %+v, %v", r, err)
	}
	if _, err := route(false); !errors.Is(err, auth.ErrMissingCredential) {
		t.Fatalf("without a certificate: %v, want auth.missing_credential", err)
	}
}

// pki is a certificate authority, a server certificate for 127.0.0.1 and
// a client certificate for orders.mesh.test, in files.
type pki struct {
	caFile, serverCert, serverKey, clientCert, clientKey string
}

func newPKI(t *testing.T) pki {
	t.Helper()
	ca := testpki.New(t)
	srv, cl := ca.Server("server"), ca.Client("orders.mesh.test")
	return pki{caFile: ca.File, serverCert: srv.CertFile, serverKey: srv.KeyFile, clientCert: cl.CertFile, clientKey: cl.KeyFile}
}
