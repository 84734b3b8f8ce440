package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/wegomesh/wego/auth"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/middleware"
	authmw "github.com/wegomesh/wego/middleware/auth"
)

const devSecret = "a development secret of at least 32 bytes"

// sentinel is in every credential the tests present, and must appear in
// no log line.
const sentinel = "S3NT1NEL"

func baseConfig() auth.Config {
	cfg := auth.DefaultConfig()
	cfg.Enabled = true
	cfg.DevKey.Secret = devSecret
	cfg.Rules = []auth.Rule{
		{Resource: "inventory.*", Who: []string{"authenticated"}, Access: auth.Allow},
		{Resource: "inventory.Reserve", Who: []string{"type:user"}, Access: auth.Deny},
		{Resource: "inventory.Reserve", Who: []string{"account:orders", "scope:inventory.admin"}, Access: auth.Allow, Priority: 10},
	}
	return cfg
}

var resources = []auth.Resource{
	{Name: "inventory.Reserve"},
	{Name: "inventory.Stock", Public: true},
	{Name: "orders.Place"},
}

func token(t testing.TB, sub string, typ auth.AccountType, scopes ...string) string {
	t.Helper()
	cfg := baseConfig()
	s, err := cfg.DevSigner()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.Sign(auth.Claims{Subject: sub, Type: typ, Scopes: scopes, Extra: map[string]any{"jti": sentinel}})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type harness struct {
	m    *authmw.Middleware
	logs *observer.ObservedLogs

	mu      sync.Mutex
	refused []string // command code principal
}

func newHarness(t *testing.T, cfg auth.Config) *harness {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	h := &harness{logs: logs}
	m, err := authmw.New(cfg, resources, authmw.WithLogger(zap.New(core)),
		authmw.WithRefused(func(_ context.Context, spec *middleware.Spec, acct *auth.Account, err error) {
			p := "-"
			if acct != nil {
				p = acct.ID
			}
			h.mu.Lock()
			h.refused = append(h.refused, spec.Name+" "+errs.CodeOf(err)+" "+p)
			h.mu.Unlock()
		}))
	if err != nil {
		t.Fatal(err)
	}
	h.m = m
	t.Cleanup(func() {
		for _, e := range logs.All() {
			line := fmt.Sprint(e.Message, e.ContextMap())
			if strings.Contains(line, sentinel) {
				t.Errorf("a log line holds a credential: %s", line)
			}
		}
	})
	return h
}

// call runs name's server chain with the Authorization header given ("" for
// none) and returns the account the command saw and the error.
func (h *harness) call(ctx context.Context, name, header string) (*auth.Account, error) {
	var seen *auth.Account
	spec := &middleware.Spec{Name: name, Side: middleware.ServerSide}
	handler := h.m.Wrap(spec, func(ctx context.Context, _ *middleware.Call) error {
		seen, _ = auth.FromContext(ctx)
		return nil
	})
	if header != "" {
		ctx = authmw.WithAuthorization(ctx, []string{header})
	}
	err := handler(ctx, &middleware.Call{Spec: spec})
	return seen, err
}

func TestServerSide(t *testing.T) {
	t.Parallel()
	h := newHarness(t, baseConfig())
	alice := "Bearer " + token(t, "alice", auth.User)
	orders := "Bearer " + token(t, "orders", auth.Service)
	admin := "Bearer " + token(t, "ops", auth.User, "inventory.admin")
	tests := []struct {
		command, header string
		want            *errs.Def // nil: allowed
		account         string
	}{
		{"inventory.Stock", "", nil, ""},
		{"inventory.Stock", alice, nil, "alice"},
		{"inventory.Stock", "Bearer " + sentinel + ".x.y", auth.ErrMalformedCredential, ""},
		{"inventory.Stock", "Basic " + sentinel, auth.ErrUnsupportedScheme, ""},
		{"inventory.Reserve", "", auth.ErrMissingCredential, ""},
		{"inventory.Reserve", alice, auth.ErrDenied, ""},
		{"inventory.Reserve", orders, nil, "orders"},
		{"inventory.Reserve", admin, nil, "ops"},
		{"inventory.Reserve", "Bearer " + token(t, "orders", auth.Service) + sentinel, auth.ErrBadSignature, ""},
		{"inventory.Reserve", "ApiKey wego_" + sentinel, auth.ErrUnsupportedScheme, ""},
		{"orders.Place", alice, auth.ErrDenied, ""},
		{"orders.Place", "", auth.ErrMissingCredential, ""},
	}
	for _, tc := range tests {
		acct, err := h.call(context.Background(), tc.command, tc.header)
		switch {
		case tc.want == nil && err != nil:
			t.Errorf("%s with %.20q: %v, want allowed", tc.command, tc.header, err)
		case tc.want != nil && !errors.Is(err, tc.want):
			t.Errorf("%s with %.20q: %v, want %s", tc.command, tc.header, err, tc.want.Code())
		case tc.want == nil && tc.account != "" && (acct == nil || acct.ID != tc.account):
			t.Errorf("%s with %.20q: the command saw account %v, want %s", tc.command, tc.header, acct, tc.account)
		}
		if err != nil && strings.Contains(err.Error(), sentinel) {
			t.Errorf("the error holds the credential: %v", err)
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if got := strings.Join(h.refused, "\n"); !strings.Contains(got, "inventory.Reserve auth.denied alice") ||
		!strings.Contains(got, "inventory.Reserve auth.missing_credential -") {
		t.Errorf("refused calls reported:\n%s", got)
	}
	if n := h.logs.FilterMessage("auth: call refused").FilterField(zap.String("principal", "alice")).Len(); n != 2 {
		t.Errorf("%d refusal lines for alice, want 2", n)
	}
}

// A local call keeps its caller's account, whatever header its context
// still carries.
func TestLocalCallKeepsAccount(t *testing.T) {
	t.Parallel()
	h := newHarness(t, baseConfig())
	self := &auth.Account{ID: "orders", Type: auth.Service}
	ctx := authmw.WithAuthorization(auth.NewContext(context.Background(), self), []string{"Bearer " + sentinel})
	acct, err := h.call(ctx, "inventory.Reserve", "")
	if err != nil || acct != self {
		t.Fatalf("local call: account %v, err %v; want the caller's account", acct, err)
	}
	if _, err := h.call(auth.NewContext(context.Background(), &auth.Account{ID: "alice", Type: auth.User}), "inventory.Reserve", ""); !errors.Is(err, auth.ErrDenied) {
		t.Fatalf("a user's local call of Reserve: %v, want auth.denied", err)
	}
}

// Two Authorization headers are a malformed credential.
func TestTwoHeaders(t *testing.T) {
	t.Parallel()
	h := newHarness(t, baseConfig())
	spec := &middleware.Spec{Name: "inventory.Stock", Side: middleware.ServerSide}
	handler := h.m.Wrap(spec, func(context.Context, *middleware.Call) error { return nil })
	ctx := authmw.WithAuthorization(context.Background(), []string{"Bearer a.b.c", "Bearer " + sentinel})
	if err := handler(ctx, &middleware.Call{Spec: spec}); !errors.Is(err, auth.ErrMalformedCredential) {
		t.Fatalf("two headers: %v, want auth.malformed_credential", err)
	}
	if s := fmt.Sprint(ctx); strings.Contains(s, sentinel) || strings.Contains(s, "a.b.c") {
		t.Fatalf("the context prints the header: %s", s)
	}
}

// Off, the middleware adds nothing to any chain.
func TestDisabled(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.Enabled = false
	cfg.Rules = nil
	m, err := authmw.New(cfg, resources)
	if err != nil {
		t.Fatal(err)
	}
	for _, side := range []middleware.Side{middleware.ServerSide, middleware.ClientSide} {
		if m.Wrap(&middleware.Spec{Name: "inventory.Reserve", Side: side, Remote: true}, func(context.Context, *middleware.Call) error { return nil }) != nil {
			t.Errorf("%s side: disabled auth wrapped a command", side)
		}
	}
	if m.Propagates() {
		t.Error("disabled auth without an identity propagates")
	}
}

// Without WithEvents, the entries of events are not checked: the
// middleware cannot tell topics from subscribers (see events_test.go).
func TestEventsNotChecked(t *testing.T) {
	t.Parallel()
	h := newHarness(t, baseConfig())
	for _, side := range []middleware.Side{middleware.ServerSide, middleware.ClientSide} {
		spec := &middleware.Spec{Name: "shipping.OnOrderPlaced", Side: side, Kind: middleware.Event, Remote: true}
		if h.m.Wrap(spec, func(context.Context, *middleware.Call) error { return nil }) != nil {
			t.Errorf("%s side: an event entry was wrapped", side)
		}
	}
}

// Rules that name no command, or malformed ones, fail with their key.
func TestBadRules(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.Rules = append(cfg.Rules, auth.Rule{Resource: "inventry.*", Who: []string{"anyone"}, Access: auth.Allow})
	_, err := authmw.New(cfg, resources)
	if err == nil || !strings.Contains(err.Error(), `rules[3].resource: "inventry.*" matches no resource`) {
		t.Fatalf("err = %v", err)
	}
}

// The client side makes remote calls of on_behalf commands carry the
// caller's credential, and the others the service's.
func TestClientSide(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.Identity = auth.IdentityConfig{Account: "orders", UseDevKey: true, Scopes: []string{"inventory.reserve"}, OnBehalf: []string{"billing.*"}}
	m, err := authmw.New(cfg, resources)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Propagates() || m.ServiceAccount().ID != "orders" {
		t.Fatalf("identity: propagates %v, account %v", m.Propagates(), m.ServiceAccount())
	}
	out := func(name string, remote bool, ctx context.Context) (string, bool) {
		var got string
		var wrapped bool
		spec := &middleware.Spec{Name: name, Side: middleware.ClientSide, Remote: remote}
		next := func(ctx context.Context, _ *middleware.Call) error { got = m.Outgoing(ctx); return nil }
		h := m.Wrap(spec, next)
		if h == nil {
			h = next
		} else {
			wrapped = true
		}
		_ = h(ctx, &middleware.Call{Spec: spec})
		return got, wrapped
	}
	caller := authmw.WithAuthorization(context.Background(), []string{"Bearer caller." + sentinel + ".sig"})
	if got, wrapped := out("inventory.Reserve", true, caller); !wrapped || !strings.HasPrefix(got, "Bearer ey") {
		t.Errorf("inventory.Reserve: wrapped %v, header %.20q; want the service's token, wrapped to turn refusals into auth.service_refused", wrapped, got)
	}
	if got, _ := out("billing.Charge", true, caller); got != "Bearer caller."+sentinel+".sig" {
		t.Errorf("billing.Charge on behalf: header %.20q, want the caller's", got)
	}
	if got, _ := out("billing.Charge", true, context.Background()); got != "" {
		t.Errorf("billing.Charge on behalf of nobody: header %.20q, want none", got)
	}
	if _, wrapped := out("billing.Charge", false, caller); wrapped {
		t.Error("a local call was wrapped on the client side")
	}
	// The service's token is accepted by a deployable with the same dev key.
	h := newHarness(t, baseConfig())
	tok := m.Outgoing(context.Background())
	if acct, err := h.call(context.Background(), "inventory.Reserve", tok); err != nil || acct.ID != "orders" || acct.Type != auth.Service {
		t.Fatalf("the service's own token: %v, %v", acct, err)
	}
}

// A verified client certificate is the account it is mapped to, unless
// the request carries an Authorization header.
func TestClientCertificate(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.ClientCerts = []auth.ClientCertConfig{{Subject: "orders.mesh.test", Account: "orders"}}
	h := newHarness(t, cfg)
	cert := selfSigned(t, "orders.mesh.test")
	ctx := auth.ContextWithPeerCertificate(context.Background(), cert)
	acct, err := h.call(ctx, "inventory.Reserve", "")
	if err != nil || acct.ID != "orders" || acct.Issuer != auth.CertificateIssuer {
		t.Fatalf("certificate: %v, %v", acct, err)
	}
	if _, err := h.call(ctx, "inventory.Reserve", "Bearer "+token(t, "alice", auth.User)); !errors.Is(err, auth.ErrDenied) {
		t.Fatalf("certificate and a user's token: %v, want the token's account, denied", err)
	}
	other := auth.ContextWithPeerCertificate(context.Background(), selfSigned(t, "billing.mesh.test"))
	if _, err := h.call(other, "inventory.Reserve", ""); !errors.Is(err, auth.ErrMissingCredential) {
		t.Fatalf("unmapped certificate: %v, want anonymous", err)
	}
}

func selfSigned(t *testing.T, cn string) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// Streams are checked once, before they start.
func TestStream(t *testing.T) {
	t.Parallel()
	h := newHarness(t, baseConfig())
	spec := &middleware.Spec{Name: "inventory.Reserve", Side: middleware.ServerSide, Kind: middleware.BidiStream}
	ran := false
	sh, err := middleware.BuildStream(spec, func(context.Context, middleware.Stream) error { ran = true; return nil }, h.m)
	if err != nil {
		t.Fatal(err)
	}
	if err := sh(context.Background(), nil); !errors.Is(err, auth.ErrMissingCredential) || ran {
		t.Fatalf("anonymous stream: %v, ran %v", err, ran)
	}
	ctx := authmw.WithAuthorization(context.Background(), []string{"Bearer " + token(t, "orders", auth.Service)})
	if err := sh(ctx, nil); err != nil || !ran {
		t.Fatalf("service's stream: %v, ran %v", err, ran)
	}
}

// A reload under load drops no call: every call is decided by the old
// rules or the new ones.
func TestReloadUnderLoad(t *testing.T) {
	t.Parallel()
	h := newHarness(t, baseConfig())
	orders := "Bearer " + token(t, "orders", auth.Service)
	alice := "Bearer " + token(t, "alice", auth.User)
	var stop atomic.Bool
	var wg sync.WaitGroup
	var calls, bad atomic.Int64
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				calls.Add(1)
				if _, err := h.call(context.Background(), "inventory.Reserve", orders); err != nil {
					bad.Add(1)
				}
				// alice is denied by one rule set and allowed by the other.
				if _, err := h.call(context.Background(), "inventory.Reserve", alice); err != nil && !errors.Is(err, auth.ErrDenied) {
					bad.Add(1)
				}
			}
		}()
	}
	open := baseConfig()
	open.Rules = append(open.Rules, auth.Rule{Resource: "inventory.Reserve", Who: []string{"account:alice"}, Access: auth.Allow, Priority: 20})
	for i := range 200 {
		cfg := baseConfig()
		if i%2 == 1 { // the last one opens
			cfg = open
		}
		if err := h.m.Reload(cfg); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	if bad.Load() != 0 {
		t.Fatalf("%d of %d calls failed during reloads", bad.Load(), calls.Load())
	}
	if _, err := h.call(context.Background(), "inventory.Reserve", alice); err != nil {
		t.Fatalf("after the last reload alice is allowed: %v", err)
	}
	bogus := baseConfig()
	bogus.Rules = []auth.Rule{{Resource: "nothing.Here", Who: []string{"anyone"}, Access: auth.Allow}}
	if err := h.m.Reload(bogus); err == nil {
		t.Fatal("a reload whose rule reaches no command succeeded")
	}
	if _, err := h.call(context.Background(), "inventory.Reserve", alice); err != nil {
		t.Fatalf("a refused reload changed the rules: %v", err)
	}
	off := open
	off.Enabled = false
	if err := h.m.Reload(off); !errors.Is(err, authmw.ErrRestartNeeded) {
		t.Fatalf("turning auth off at run time: %v, want ErrRestartNeeded", err)
	}
}

// A repeated valid token is authenticated and decided without allocation
// beyond the context that carries the account.
func TestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	h := newHarness(t, baseConfig())
	spec := &middleware.Spec{Name: "inventory.Reserve", Side: middleware.ServerSide}
	handler := h.m.Wrap(spec, func(context.Context, *middleware.Call) error { return nil })
	ctx := authmw.WithAuthorization(context.Background(), []string{"Bearer " + token(t, "orders", auth.Service)})
	c := &middleware.Call{Spec: spec}
	_ = handler(ctx, c)
	if n := testing.AllocsPerRun(100, func() { _ = handler(ctx, c) }); n > 1 {
		t.Fatalf("%v allocations per call, want at most 1 (the account's context)", n)
	}
}
