package mesh_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/nats-io/nats.go"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"go.yaml.in/yaml/v3"

	"github.com/wegomesh/wego/auth"
	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/catalog/catalogtest"
	"github.com/wegomesh/wego/config"
	"github.com/wegomesh/wego/engine"
	"github.com/wegomesh/wego/examples/mesh/inventory"
	"github.com/wegomesh/wego/examples/mesh/orders"
	"github.com/wegomesh/wego/fw"
	"github.com/wegomesh/wego/transport"
	httptransport "github.com/wegomesh/wego/transport/http"
	natstransport "github.com/wegomesh/wego/transport/nats"
)

// sentinel is in every credential the security tests present: in a claim
// of each token, in each API key and in each malformed value. It must
// appear in no log line, audit record or error body.
const sentinel = "Z9SENTINELq7"

// The test's own issuer, whose RS256 key both deployables accept beside
// the development key: operators' tokens, and the key whose public half
// an algorithm-confusion token is signed with.
const testIssuer = "https://id.mesh.test"

var rsaKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func rsaPublicPEM(t testing.TB) string {
	der, err := x509.MarshalPKIXPublicKey(&rsaKey().PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// API keys of the test: an operator's, and a revoked one.
const (
	opsKey     = "wego_ops-" + sentinel + "-0123456789abcdef"
	revokedKey = "wego_revoked-" + sentinel + "-0123456789abcdef"
)

// shippedAuth returns the auth section of a deployable's built-in
// configuration, with the test's issuer key and API keys added.
func shippedAuth(t *testing.T, file string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	a, ok := doc["auth"].(map[string]any)
	if !ok {
		t.Fatalf("%s has no auth section", file)
	}
	j, _ := a["jwt"].(map[string]any)
	if j == nil {
		j = map[string]any{}
		a["jwt"] = j
	}
	j["keys"] = []any{map[string]any{"id": "rs", "alg": "RS256", "public_key": rsaPublicPEM(t), "issuer": testIssuer}}
	a["api_keys"] = []any{
		map[string]any{"id": "ops", "hash": auth.HashAPIKey(opsKey), "account": "ops", "scopes": []any{"inventory.admin", "orders"}},
		map[string]any{"id": "old", "hash": auth.HashAPIKey(revokedKey), "account": "ops", "revoked": true},
	}
	return a
}

// securedMesh is inventory, orders and shipping, each with the auth
// section it ships with, logging to one observer, orders calling
// inventory over HTTP or NATS.
type securedMesh struct {
	inv, ord, ship string // base URLs
	natsURL        string
	logs           *observer.ObservedLogs
	devKey         string
}

func startSecured(t *testing.T, overNATS bool) *securedMesh {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	m := &securedMesh{logs: logs}
	start := func(cat *catalog.Catalog, doc map[string]any, extra ...transport.Transport) (string, *fw.App) {
		b, err := yaml.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		server := httptransport.NewServer(httptransport.Addr("127.0.0.1:0"), httptransport.Timeouts(time.Second, 0, 0, 0))
		app, err := fw.New(
			fw.Catalog(cat),
			fw.Logger(zap.New(core)),
			fw.ConfigOptions(config.FS(fstest.MapFS{"test.yaml": {Data: b}}), config.Env("test"), config.Dir(t.TempDir())),
			fw.Sections("inventory"),
			fw.Messages(inventory.Messages, "locales/*.toml"),
			fw.Messages(orders.Messages, "locales/*.toml"),
			fw.Transports(append([]transport.Transport{server}, extra...)...),
		)
		if err != nil {
			t.Fatal(err)
		}
		if err := app.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { app.Stop(context.Background()) })
		return "http://" + server.Addr(), app
	}
	audited := map[string]any{"audit": map[string]any{"all": true}}

	invCat, _ := catalogtest.New(t)
	fresh(t, invCat)
	invAuth := shippedAuth(t, "inventory/cmd/inventory/config/dev.yaml")
	m.devKey = invAuth["dev_key"].(map[string]any)["secret"].(string)
	inv, app := start(invCat, map[string]any{"app": map[string]any{"name": "inventory"}, "auth": invAuth, "middleware": audited,
		"nats": map[string]any{"server": map[string]any{"listen": "127.0.0.1:-1", "jetstream": false}}}, natstransport.NewServer())
	m.inv = inv
	m.natsURL = app.Host().Engine.(*engine.Engine).ClientURL()

	ordCat, _ := catalogtest.New(t)
	fresh(t, ordCat)
	ordAuth := shippedAuth(t, "orders/cmd/orders/config/dev.yaml")
	doc := map[string]any{"app": map[string]any{"name": "orders"}, "auth": ordAuth, "middleware": audited,
		"routes": map[string]any{"inventory.*": inv}}
	if overNATS {
		doc["nats"] = map[string]any{"urls": []any{m.natsURL}}
		doc["routes"] = map[string]any{"inventory.*": "nats://inventory"}
	}
	m.ord, _ = start(ordCat, doc)

	shipCat, _ := catalogtest.New(t)
	withShipping(t, shipCat)
	m.ship, _ = start(shipCat, map[string]any{"app": map[string]any{"name": "shipping"}, "middleware": audited,
		"auth": shippedAuth(t, "shipping/cmd/shipping/config/dev.yaml")})
	return m
}

// token signs claims as the development key does (HS256, kid dev, issuer
// wego-dev), or with the method and key given; every token carries the
// sentinel.
func (m *securedMesh) token(t *testing.T, claims jwt.MapClaims, mod ...func(*jwt.Token) any) string {
	t.Helper()
	now := time.Now()
	base := jwt.MapClaims{"iss": "wego-dev", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": sentinel}
	for k, v := range claims {
		base[k] = v
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, base)
	tok.Header["kid"] = "dev"
	var key any = []byte(m.devKey)
	for _, f := range mod {
		key = f(tok)
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type command struct {
	name, app, method, path, body string
	ok                            int    // the status of an authorized call
	okCode                        string // and its code, for an error
}

// TestSecurity runs every command of the example with every kind of
// credential, and checks the exact status and code of each answer, that
// refused calls are audited, and that no credential leaks into logs,
// audit records or error bodies.
func TestSecurity(t *testing.T) {
	t.Parallel()
	m := startSecured(t, false)

	user := func(aud string, scopes ...string) string {
		return m.token(t, jwt.MapClaims{"sub": "alice", "aud": aud, "scope": strings.Join(scopes, " ")})
	}
	operator := func(aud string) string { // the test's issuer, RS256
		return m.token(t, jwt.MapClaims{"iss": testIssuer, "sub": "ops", "aud": aud, "scope": "inventory.admin orders"},
			func(tok *jwt.Token) any {
				tok.Method = jwt.SigningMethodRS256
				tok.Header["alg"] = "RS256"
				tok.Header["kid"] = "rs"
				return rsaKey()
			})
	}

	// An order to read, placed by alice.
	placed := m.do(t, m.ord, "POST", "/orders", `{"sku":"apple","qty":1}`, "Bearer "+user("orders", "orders"))
	orderID, _ := placed.body["order_id"].(string)
	if placed.status != 201 || orderID == "" {
		t.Fatalf("placing an order: %d %v", placed.status, placed.body)
	}

	commands := []command{
		{"inventory.Reserve", "inventory", "POST", "/inventory/reserve", `{"sku":"apple","qty":1}`, 200, ""},
		{"inventory.Release", "inventory", "POST", "/inventory/release", `{"reservation_id":"r-0"}`, 200, ""},
		{"inventory.Stock", "inventory", "GET", "/inventory/stock/apple", "", 200, ""},
		{"orders.Place", "orders", "POST", "/orders", `{"sku":"apple","qty":1}`, 201, ""},
		{"orders.Get", "orders", "GET", "/orders/" + orderID, "", 200, ""},
		{"shipping.Get", "shipping", "GET", "/shipments/o-none", "", 404, "shipping.not_found"}, // authorized: it looks
	}
	const (
		ok = iota
		unauthenticated
		denied
	)
	type credential struct {
		name   string
		header func(c command) string
		want   func(c command) (int, string) // outcome, code
	}
	always := func(outcome int, code string) func(command) (int, string) {
		return func(command) (int, string) { return outcome, code }
	}
	publicOr := func(outcome int, code string) func(command) (int, string) {
		return func(c command) (int, string) {
			if c.name == "inventory.Stock" {
				return ok, ""
			}
			return outcome, code
		}
	}
	header := func(h string) func(command) string { return func(command) string { return h } }
	forApp := func(f func(aud string) string) func(command) string {
		return func(c command) string { return "Bearer " + f(c.app) }
	}
	creds := []credential{
		{"none", header(""), publicOr(unauthenticated, "auth.missing_credential")},
		{"malformed", header("Bearer " + sentinel), always(unauthenticated, "auth.malformed_credential")},
		{"wrong scheme", header("Basic " + base64.StdEncoding.EncodeToString([]byte("alice:"+sentinel))), always(unauthenticated, "auth.unsupported_scheme")},
		{"expired", forApp(func(aud string) string {
			return m.token(t, jwt.MapClaims{"sub": "alice", "aud": aud, "scope": "orders inventory.admin", "exp": time.Now().Add(-time.Hour).Unix()})
		}), always(unauthenticated, "auth.token_expired")},
		{"not yet valid", forApp(func(aud string) string {
			return m.token(t, jwt.MapClaims{"sub": "alice", "aud": aud, "scope": "orders inventory.admin", "nbf": time.Now().Add(time.Hour).Unix()})
		}), always(unauthenticated, "auth.token_not_yet_valid")},
		{"wrong issuer", forApp(func(aud string) string {
			return m.token(t, jwt.MapClaims{"iss": "https://evil.test", "sub": "alice", "aud": aud, "scope": "orders inventory.admin"})
		}), always(unauthenticated, "auth.wrong_issuer")},
		{"wrong audience", forApp(func(string) string {
			return m.token(t, jwt.MapClaims{"sub": "alice", "aud": "billing", "scope": "orders inventory.admin"})
		}), always(unauthenticated, "auth.wrong_audience")},
		{"alg none", forApp(func(aud string) string {
			return m.token(t, jwt.MapClaims{"sub": "alice", "aud": aud, "scope": "orders inventory.admin"},
				func(tok *jwt.Token) any {
					tok.Method = jwt.SigningMethodNone
					tok.Header["alg"] = "none"
					return jwt.UnsafeAllowNoneSignatureType
				})
		}), always(unauthenticated, "auth.unsigned_token")},
		{"HS256 with the RS256 public key", forApp(func(aud string) string {
			return m.token(t, jwt.MapClaims{"iss": testIssuer, "sub": "ops", "aud": aud, "scope": "orders inventory.admin"},
				func(tok *jwt.Token) any { tok.Header["kid"] = "rs"; return []byte(rsaPublicPEM(t)) })
		}), always(unauthenticated, "auth.algorithm_not_allowed")},
		{"bad signature", forApp(func(aud string) string {
			tok := user(aud, "orders", "inventory.admin")
			sig := []byte(tok[strings.LastIndexByte(tok, '.')+1:])
			if sig[3] != 'A' { // another base64url character: a flipped bit could make one that is not
				sig[3] = 'A'
			} else {
				sig[3] = 'B'
			}
			return tok[:strings.LastIndexByte(tok, '.')+1] + string(sig)
		}), always(unauthenticated, "auth.bad_signature")},
		{"unknown key id", forApp(func(aud string) string {
			return m.token(t, jwt.MapClaims{"sub": "alice", "aud": aud, "scope": "orders inventory.admin"},
				func(tok *jwt.Token) any { tok.Header["kid"] = "2019"; return []byte(m.devKey) })
		}), always(unauthenticated, "auth.unknown_key_id")},
		{"revoked API key", header("ApiKey " + revokedKey), always(unauthenticated, "auth.key_revoked")},
		{"valid, wrong scope", forApp(func(aud string) string { return user(aud, "profile") }), publicOr(denied, "auth.denied")},
		{"valid, right scope", func(c command) string {
			if c.app == "inventory" {
				return "Bearer " + operator("inventory")
			}
			return "Bearer " + user(c.app, "orders")
		}, always(ok, "")},
		{"API key, right scope", header("ApiKey " + opsKey), always(ok, "")},
		{"service account of another service", forApp(func(aud string) string {
			return m.token(t, jwt.MapClaims{"sub": "billing", "account_type": "service", "aud": aud})
		}), publicOr(denied, "auth.denied")},
		{"the orders service", forApp(func(aud string) string {
			return m.token(t, jwt.MapClaims{"sub": "orders", "account_type": "service", "aud": aud})
		}), func(c command) (int, string) {
			if c.app == "orders" {
				return denied, "auth.denied"
			}
			return ok, ""
		}},
		{"oversize header", header("Bearer " + strings.Repeat(sentinel, 2000)), always(unauthenticated, "auth.malformed_credential")},
		{"binary header", header("Bearer \xff\xfe" + sentinel), always(unauthenticated, "auth.malformed_credential")},
	}

	var allBodies bytes.Buffer
	for _, cred := range creds {
		for _, c := range commands {
			base := map[string]string{"inventory": m.inv, "orders": m.ord, "shipping": m.ship}[c.app]
			h := cred.header(c)
			a := m.do(t, base, c.method, c.path, c.body, h)
			allBodies.Write(a.raw)
			outcome, code := cred.want(c)
			want := map[int]int{ok: c.ok, unauthenticated: 401, denied: 403}[outcome]
			if outcome == ok {
				code = c.okCode
			}
			gotCode, _ := a.body["code"].(string)
			if a.status != want || gotCode != code {
				t.Errorf("%s, %s: %d %q, want %d %q", cred.name, c.name, a.status, gotCode, want, code)
			}
			if want == 401 && a.header.Get("WWW-Authenticate") != "Bearer" {
				t.Errorf("%s, %s: 401 without WWW-Authenticate: Bearer", cred.name, c.name)
			}
			if h != "" && len(h) > 12 && bytes.Contains(a.raw, []byte(h[7:])) {
				t.Errorf("%s, %s: the body holds the credential", cred.name, c.name)
			}
		}
	}

	// Refused calls are audited: the denied ones with their principal.
	audit := m.logs.FilterLoggerName("audit")
	if n := audit.FilterField(zap.String("outcome", "auth.token_expired")).Len(); n != len(commands) {
		t.Errorf("%d audit records of expired tokens, want %d", n, len(commands))
	}
	if n := audit.FilterField(zap.String("outcome", "auth.denied")).FilterField(zap.String("principal", "billing")).Len(); n != 5 {
		t.Errorf("%d audit records of billing's denied calls, want 5", n)
	}
	if n := audit.FilterField(zap.String("outcome", "ok")).FilterField(zap.String("principal", "ops")).Len(); n < 5 {
		t.Errorf("%d audit records of ops's calls, want at least 5", n)
	}

	// No credential anywhere.
	var all strings.Builder
	for _, e := range m.logs.All() {
		fmt.Fprintf(&all, "%s %s %v\n", e.LoggerName, e.Message, e.ContextMap())
	}
	for what, text := range map[string]string{"logs and audit records": all.String(), "error bodies": allBodies.String()} {
		if strings.Contains(text, sentinel) {
			i := strings.Index(text, sentinel)
			t.Errorf("the %s hold a credential: …%s…", what, text[max(0, i-200):min(len(text), i+50)])
		}
	}
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

func (m *securedMesh) do(t *testing.T, base, method, path, body, authorization string) reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if authorization != "" {
		req.Header["Authorization"] = []string{authorization} // as sent, binary included
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m2 map[string]any
	json.Unmarshal(raw, &m2)
	return reply{resp.StatusCode, resp.Header, m2, raw}
}

// Over NATS, the same header carries the credential: inventory's
// commands refuse a request without one, and orders, calling inventory
// over NATS as the orders service, keeps the documented API for its
// users.
func TestSecurityOverNATS(t *testing.T) {
	t.Parallel()
	m := startSecured(t, true)
	nc, err := nats.Connect(m.natsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	request := func(authorization string) map[string]any {
		msg := nats.NewMsg("inventory.Reserve")
		msg.Data = []byte(`{"sku":"apple","qty":1}`)
		if authorization != "" {
			msg.Header.Set("Authorization", authorization)
		}
		r, err := nc.RequestMsg(msg, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		json.Unmarshal(r.Data, &body)
		return body
	}
	if b := request(""); b["code"] != "auth.missing_credential" || b["kind"] != "unauthenticated" {
		t.Errorf("anonymous over NATS: %v", b)
	}
	alice := m.token(t, jwt.MapClaims{"sub": "alice", "aud": "inventory", "scope": "orders"})
	if b := request("Bearer " + alice); b["code"] != "auth.denied" {
		t.Errorf("alice over NATS: %v", b)
	}
	self := m.token(t, jwt.MapClaims{"sub": "orders", "account_type": "service", "aud": "inventory"})
	if b := request("Bearer " + self); b["reservation_id"] == nil {
		t.Errorf("the orders service over NATS: %v", b)
	}

	user := "Bearer " + m.token(t, jwt.MapClaims{"sub": "alice", "aud": "orders", "scope": "orders"})
	if a := m.do(t, m.ord, "POST", "/orders", `{"sku":"apple","qty":2}`, user); a.status != 201 {
		t.Fatalf("an order over NATS: %d %v", a.status, a.body)
	}
}

// The documented API stays the same for authorized callers: the
// transcript of the secured mesh is the transcript without auth.
func TestDocumentedAPIWithAuth(t *testing.T) {
	t.Parallel()
	o2, i2 := twoDeployables(t)
	open := script(t, o2, i2)
	m := startSecured(t, false)
	userTok := m.token(t, jwt.MapClaims{"sub": "alice", "aud": "orders", "scope": "orders"})
	opsTok := m.token(t, jwt.MapClaims{"sub": "ops", "aud": "inventory", "scope": "inventory.admin"})
	secured := scriptAs(t, m.ord, m.inv, func(base, _ string) string {
		if base == m.inv {
			return "Bearer " + opsTok
		}
		return "Bearer " + userTok
	})
	if strings.Join(secured, "\n") != strings.Join(open, "\n") {
		t.Fatalf("with auth:\n%s\n\nwithout:\n%s", strings.Join(secured, "\n"), strings.Join(open, "\n"))
	}
}
