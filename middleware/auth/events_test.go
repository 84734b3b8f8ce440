package auth_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
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

// The entries of events of the tests: the topic orders.Placed and its
// subscriber shipping.OnPlaced.
func eventEntry(spec *middleware.Spec) (string, bool) {
	switch spec.Name {
	case "orders.Placed":
		return "orders.Placed", false
	case "shipping.OnPlaced":
		return "orders.Placed", true
	}
	return "", false
}

var eventResources = []auth.Resource{{Name: auth.PublishResource("orders.Placed")}, {Name: auth.SubscribeResource("shipping.OnPlaced")}}

// eventConfig is baseConfig with the service account orders, which may
// publish orders.Placed and subscribe shipping.OnPlaced.
func eventConfig() auth.Config {
	cfg := baseConfig()
	cfg.Identity = auth.IdentityConfig{Account: "orders", UseDevKey: true}
	cfg.Rules = append(cfg.Rules,
		auth.Rule{Resource: "publish:orders.Placed", Who: []string{"account:orders"}, Access: auth.Allow},
		auth.Rule{Resource: "subscribe:shipping.OnPlaced", Who: []string{"account:orders"}, Access: auth.Allow})
	return cfg
}

// eventHarness is a harness whose middleware knows the entries of events.
func eventHarness(t *testing.T, cfg auth.Config, compile bool) *harness {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	h := &harness{logs: logs}
	m, err := authmw.New(cfg, resources, authmw.WithLogger(zap.New(core)), authmw.WithEvents(eventEntry),
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
	if compile {
		if err := m.CompileEvents(eventResources); err != nil {
			t.Fatal(err)
		}
	}
	h.m = m
	t.Cleanup(func() {
		for _, e := range logs.All() {
			if line := e.Message + " " + strings.Join(fieldStrings(e.ContextMap()), " "); strings.Contains(line, sentinel) {
				t.Errorf("a log line holds a credential: %s", line)
			}
		}
	})
	return h
}

func fieldStrings(m map[string]any) []string {
	var out []string
	for k, v := range m {
		if s, ok := v.(string); ok {
			out = append(out, k+"="+s)
		}
	}
	return out
}

// publish runs the client chain of the topic orders.Placed.
func (h *harness) publish(ctx context.Context) (bool, error) {
	sent := false
	spec := &middleware.Spec{Name: "orders.Placed", Side: middleware.ClientSide, Kind: middleware.Event, Remote: true}
	next := func(context.Context, *middleware.Call) error { sent = true; return nil }
	handler := h.m.Wrap(spec, next)
	if handler == nil {
		handler = next
	}
	err := handler(ctx, &middleware.Call{Spec: spec})
	return sent, err
}

// deliver runs the server chain of the subscriber shipping.OnPlaced with
// the context ctx and returns the account the subscriber saw.
func (h *harness) deliver(ctx context.Context) (*auth.Account, bool, error) {
	var seen *auth.Account
	ran := false
	spec := &middleware.Spec{Name: "shipping.OnPlaced", Side: middleware.ServerSide, Kind: middleware.Event}
	next := func(ctx context.Context, _ *middleware.Call) error {
		ran = true
		seen, _ = auth.FromContext(ctx)
		return nil
	}
	handler := h.m.Wrap(spec, next)
	if handler == nil {
		handler = next
	}
	err := handler(ctx, &middleware.Call{Spec: spec})
	return seen, ran, err
}

func permanent(err error) bool {
	p, ok := errors.AsType[interface {
		error
		Permanent() bool
	}](err)
	return ok && p.Permanent()
}

// A delivery proceeds only with a credential of an account that the rules
// let publish on the topic, and the subscriber sees that account; every
// refusal is logged and reported, never with the credential, and final
// but for an unknown key id.
func TestDeliveries(t *testing.T) {
	t.Parallel()
	h := eventHarness(t, eventConfig(), true)
	bearer := func(tok string) context.Context {
		return authmw.WithEventCredential(context.Background(), authmw.EventCredential{Authorization: "Bearer " + tok})
	}
	alice := &auth.Account{ID: "alice", Type: auth.User}

	acct, ran, err := h.deliver(bearer(token(t, "orders", auth.Service)))
	if err != nil || !ran || acct == nil || acct.ID != "orders" {
		t.Fatalf("the orders service's event: %v, ran %v, %v", acct, ran, err)
	}
	// In process: the publisher's account, over whatever the delivery's
	// context carries from the publisher (its caller's account and header).
	inProcess := authmw.WithAuthorization(auth.NewContext(context.Background(), alice), []string{"Bearer " + token(t, "alice", auth.User)})
	if acct, _, err := h.deliver(authmw.WithEventCredential(inProcess, authmw.EventCredential{Account: h.m.ServiceAccount()})); err != nil || acct.ID != "orders" {
		t.Fatalf("in process: %v, %v", acct, err)
	}
	for name, c := range map[string]struct {
		ctx  context.Context
		code string
	}{
		"no credential":            {authmw.WithEventCredential(inProcess, authmw.EventCredential{}), "auth.missing_credential"},
		"no event credential":      {inProcess, "auth.missing_credential"},
		"a user":                   {bearer(token(t, "alice", auth.User, "orders")), "auth.denied"},
		"another service":          {bearer(token(t, "billing", auth.Service)), "auth.denied"},
		"malformed":                {bearer(sentinel + "!"), "auth.malformed_credential"},
		"bad signature":            {bearer(token(t, "orders", auth.Service) + "x"), "auth.bad_signature"},
		"another scheme":           {authmw.WithEventCredential(context.Background(), authmw.EventCredential{Authorization: "Basic " + sentinel}), "auth.unsupported_scheme"},
		"an account of no service": {authmw.WithEventCredential(context.Background(), authmw.EventCredential{Account: alice}), "auth.denied"},
	} {
		_, ran, err := h.deliver(c.ctx)
		if ran || errs.CodeOf(err) != c.code || !permanent(err) {
			t.Errorf("%s: ran %v, %v (permanent %v); want %s, permanent", name, ran, err, permanent(err), c.code)
		}
	}
	// A key id the process does not know yet (a rotation) is refused, and
	// retried: the new key may arrive with the next fetch of the keys.
	tok := token(t, "orders", auth.Service)
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","kid":"rotated","typ":"JWT"}`))
	_, ran, err = h.deliver(bearer(header + tok[strings.IndexByte(tok, '.'):]))
	if ran || errs.CodeOf(err) != "auth.unknown_key_id" || permanent(err) {
		t.Errorf("an unknown key id: ran %v, %v (permanent %v); want auth.unknown_key_id, not permanent", ran, err, permanent(err))
	}
	if n := h.logs.FilterMessage("auth: delivery refused").Len(); n != 9 {
		t.Errorf("%d refusals logged, want 9", n)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.refused) != 9 || !strings.HasPrefix(h.refused[0], "shipping.OnPlaced ") {
		t.Errorf("refusals reported: %q", h.refused)
	}
}

// A delivery's credential is judged at the time its event was stored: a
// token that expired since is accepted, one that had expired then is not.
func TestDeliveryJudgedWhenStored(t *testing.T) {
	t.Parallel()
	h := eventHarness(t, eventConfig(), true)
	cfg := baseConfig()
	now := time.Now()
	signer, err := cfg.DevSigner(auth.WithClock(func() time.Time { return now.Add(-2 * time.Hour) }))
	if err != nil {
		t.Fatal(err)
	}
	// Valid from two hours ago to one hour ago.
	tok, err := signer.Sign(auth.Claims{Subject: "orders", Type: auth.Service, TTL: time.Hour,
		Extra: map[string]any{"nbf": now.Add(-2 * time.Hour).Unix()}})
	if err != nil {
		t.Fatal(err)
	}
	at := func(stored time.Time) context.Context {
		return authmw.WithEventCredential(context.Background(), authmw.EventCredential{Authorization: "Bearer " + tok, Stored: stored})
	}
	if acct, _, err := h.deliver(at(now.Add(-90 * time.Minute))); err != nil || acct.ID != "orders" {
		t.Errorf("stored while the token was valid: %v, %v", acct, err)
	}
	for name, stored := range map[string]time.Time{"now": {}, "after its expiry": now.Add(-30 * time.Minute)} {
		if _, _, err := h.deliver(at(stored)); !errors.Is(err, auth.ErrTokenExpired) {
			t.Errorf("stored %s: %v, want %s", name, err, auth.ErrTokenExpired.Code())
		}
	}
	if _, _, err := h.deliver(at(now.Add(-3 * time.Hour))); !errors.Is(err, auth.ErrTokenNotYetValid) {
		t.Errorf("stored before its not-before time: %v, want %s", err, auth.ErrTokenNotYetValid.Code())
	}
}

// A publish is refused, before anything is sent, unless the rules let the
// service account publish on the topic.
func TestPublish(t *testing.T) {
	t.Parallel()
	if sent, err := eventHarness(t, eventConfig(), true).publish(context.Background()); !sent || err != nil {
		t.Fatalf("the orders service: sent %v, %v", sent, err)
	}
	cfg := eventConfig()
	cfg.Identity.Account = "billing"
	cfg.Rules = append(cfg.Rules, auth.Rule{Resource: "subscribe:shipping.OnPlaced", Who: []string{"account:billing"}, Access: auth.Allow})
	h := eventHarness(t, cfg, true)
	sent, err := h.publish(context.Background())
	if sent || !errors.Is(err, auth.ErrDenied) || errs.KindOf(err) != errs.KindPermissionDenied {
		t.Fatalf("the billing service: sent %v, %v; want auth.denied", sent, err)
	}
	if e, _ := errs.As(err); e.Message() != "Access to orders.Placed is denied" {
		t.Errorf("message %q", e.Message())
	}
	if h.logs.FilterMessage("auth: publish refused").Len() != 1 {
		t.Error("the refused publish is not logged")
	}
	// Before CompileEvents: publishes are not checked, deliveries refused.
	h = eventHarness(t, cfg, false)
	if sent, err := h.publish(context.Background()); !sent || err != nil {
		t.Errorf("before CompileEvents: sent %v, %v", sent, err)
	}
	ctx := authmw.WithEventCredential(context.Background(), authmw.EventCredential{Authorization: "Bearer " + token(t, "orders", auth.Service)})
	if _, ran, err := h.deliver(ctx); ran || !errors.Is(err, auth.ErrDenied) {
		t.Errorf("a delivery before CompileEvents: ran %v, %v", ran, err)
	}
}

// CompileEvents checks the rules on events against the topics and
// subscribers, and that the service account may subscribe; the rules on
// commands are compiled by New without them.
func TestCompileEvents(t *testing.T) {
	t.Parallel()
	compile := func(mod func(*auth.Config)) error {
		cfg := eventConfig()
		mod(&cfg)
		m, err := authmw.New(cfg, resources, authmw.WithEvents(eventEntry))
		if err != nil {
			return err
		}
		return m.CompileEvents(eventResources)
	}
	for name, c := range map[string]struct {
		mod  func(*auth.Config)
		want string
	}{
		"a rule on no topic": {func(c *auth.Config) {
			c.Rules = append(c.Rules, auth.Rule{Resource: "publish:billing.*", Who: []string{"anyone"}, Access: auth.Allow})
		}, `rules[5].resource: "publish:billing.*" matches no resource`},
		"a subscriber not allowed": {func(c *auth.Config) { c.Rules = c.Rules[:4] },
			`rules: subscriber shipping.OnPlaced: no rule lets the service account "orders" subscribe: add {resource: "subscribe:shipping.OnPlaced"`},
		"no service account": {func(c *auth.Config) { c.Identity = auth.IdentityConfig{} },
			`identity.account: subscriber shipping.OnPlaced: the deployable has no service account`},
	} {
		if err := compile(c.mod); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
	if err := compile(func(c *auth.Config) {
		c.Rules = append(c.Rules, auth.Rule{Resource: "*", Who: []string{"scope:root"}, Access: auth.Allow})
	}); err != nil {
		t.Errorf("a rule on everything: %v", err)
	}
	// Without topics or subscribers, a rule on everything reaches the
	// commands, and one on events reaches nothing.
	cfg := baseConfig()
	cfg.Rules = append(cfg.Rules, auth.Rule{Resource: "*", Who: []string{"scope:root"}, Access: auth.Allow})
	m, err := authmw.New(cfg, resources)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.CompileEvents(nil); err != nil || len(m.EventTable().Resources()) != 0 {
		t.Errorf("no event resources: %v", err)
	}
	cfg.Rules = append(cfg.Rules, auth.Rule{Resource: "publish:*", Who: []string{"anyone"}, Access: auth.Allow})
	if m, err = authmw.New(cfg, resources); err != nil {
		t.Fatalf("New compiles the rules on commands only: %v", err)
	}
	if err := m.CompileEvents(nil); err == nil || !strings.Contains(err.Error(), `rules[4].resource: "publish:*" matches no resource`) {
		t.Errorf("a rule on events without events: %v", err)
	}
	// Event resources given to New are compiled at once.
	if _, err := authmw.New(eventConfig(), append(append([]auth.Resource(nil), resources...), eventResources[0])); err == nil ||
		!strings.Contains(err.Error(), `"subscribe:shipping.OnPlaced" matches no resource`) {
		t.Errorf("New with a topic and without the subscriber of a rule: %v", err)
	}
	if m, err := authmw.New(eventConfig(), append(append([]auth.Resource(nil), resources...), eventResources...)); err != nil || m.EventTable() == nil {
		t.Errorf("New with the event resources: %v", err)
	}
	// Off: nothing to compile, nothing checked.
	cfg = eventConfig()
	cfg.Enabled = false
	m, err = authmw.New(cfg, resources, authmw.WithEvents(eventEntry))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.CompileEvents(eventResources); err != nil || m.EventTable() != nil {
		t.Errorf("off: %v", err)
	}
	for _, side := range []middleware.Side{middleware.ClientSide, middleware.ServerSide} {
		for _, name := range []string{"orders.Placed", "shipping.OnPlaced"} {
			if m.Wrap(&middleware.Spec{Name: name, Side: side, Kind: middleware.Event}, func(context.Context, *middleware.Call) error { return nil }) != nil {
				t.Errorf("off: %s is wrapped on the %s side", name, side)
			}
		}
	}
}

// A reload recompiles the rules on events against the same topics and
// subscribers; one that would not let the service account subscribe is
// refused, and the rules in force stay.
func TestReloadEvents(t *testing.T) {
	t.Parallel()
	h := eventHarness(t, eventConfig(), true)
	cfg := eventConfig()
	cfg.Rules = cfg.Rules[:4] // subscribing no longer allowed
	if err := h.m.Reload(cfg); err == nil || !strings.Contains(err.Error(), "subscriber shipping.OnPlaced") {
		t.Fatalf("reload without the subscriber's rule: %v", err)
	}
	if sent, err := h.publish(context.Background()); !sent || err != nil {
		t.Fatalf("after a refused reload: %v", err)
	}
	cfg = eventConfig()
	cfg.Rules[3].Access = auth.Deny // no more publishing
	if err := h.m.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	if sent, err := h.publish(context.Background()); sent || !errors.Is(err, auth.ErrDenied) {
		t.Errorf("after the reload: sent %v, %v", sent, err)
	}
	ctx := authmw.WithEventCredential(context.Background(), authmw.EventCredential{Authorization: "Bearer " + token(t, "orders", auth.Service)})
	if _, _, err := h.deliver(ctx); !errors.Is(err, auth.ErrDenied) {
		t.Errorf("a delivery after the reload: %v", err)
	}
	// The rule that decided is named by its place in the section.
	line := h.logs.FilterMessage("auth: delivery refused").All()
	if len(line) != 1 || line[0].ContextMap()["rule"] != int64(3) || line[0].ContextMap()["rule_resource"] != "publish:orders.Placed" {
		t.Errorf("the refusal's log line: %v", line)
	}
}

// A refusal of a remote call that the deployable makes as itself is the
// services' configuration's: its caller gets auth.service_refused, and the
// refusal is logged with the command and its route. A call made on the
// caller's behalf has its refusals relayed as they are, and a deployable
// without a service identity relays them all.
func TestServiceRefusedUnit(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zapcore.DebugLevel)
	cfg := baseConfig()
	cfg.Identity = auth.IdentityConfig{Account: "orders", UseDevKey: true, OnBehalf: []string{"billing.*"}}
	m, err := authmw.New(cfg, resources, authmw.WithLogger(zap.New(core)),
		authmw.WithRoutes(func(name string) string { return "nats://" + strings.Split(name, ".")[0] }))
	if err != nil {
		t.Fatal(err)
	}
	call := func(m *authmw.Middleware, name string, remote bool, answer error) error {
		spec := &middleware.Spec{Name: name, Side: middleware.ClientSide, Remote: remote}
		next := func(context.Context, *middleware.Call) error { return answer }
		h := m.Wrap(spec, next)
		if h == nil {
			h = next
		}
		return h(context.Background(), &middleware.Call{Spec: spec, Node: "node-1"})
	}
	denied := errs.RemoteKind(errs.KindPermissionDenied, 403, "auth.denied", "Access to inventory.Reserve is denied", nil, nil)
	for _, answer := range []error{denied, auth.ErrMissingCredential.New(), errs.Unauthenticated()} {
		err := call(m, "inventory.Reserve", true, answer)
		if !errors.Is(err, auth.ErrServiceRefused) || errs.KindOf(err) != errs.KindInternal || errs.From(err).Status() != 500 {
			t.Errorf("refused with %v: %v, want auth.service_refused (500)", answer, err)
		}
		if errors.Is(err, auth.ErrDenied) || strings.Contains(errs.From(err).Message(), "inventory") {
			t.Errorf("the error tells of the refusal: %v", err)
		}
	}
	lines := logs.FilterMessageSnippet("the service's own call was refused").All()
	if len(lines) != 3 {
		t.Fatalf("%d log lines", len(lines))
	}
	if f := lines[0].ContextMap(); f["called"] != "inventory.Reserve" || f["route"] != "nats://inventory" || f["node"] != "node-1" ||
		f["code"] != "auth.denied" || f["service_account"] != "orders" {
		t.Errorf("log line %v", f)
	}
	for name, c := range map[string]struct {
		m      *authmw.Middleware
		cmd    string
		remote bool
	}{
		"on behalf": {m, "billing.Charge", true},
		"local":     {m, "inventory.Reserve", false},
		"no service identity": {func() *authmw.Middleware {
			m, err := authmw.New(baseConfig(), resources)
			if err != nil {
				t.Fatal(err)
			}
			return m
		}(), "inventory.Reserve", true},
	} {
		if err := call(c.m, c.cmd, c.remote, denied); err != denied {
			t.Errorf("%s: %v, want the refusal as it is", name, err)
		}
	}
	if err := call(m, "inventory.Reserve", true, errs.NotFound()); errs.KindOf(err) != errs.KindNotFound {
		t.Errorf("another error: %v", err)
	}

	// A stream the deployable opens as itself: the same, once.
	stream := func(name string, answer error) error {
		spec := &middleware.Spec{Name: name, Side: middleware.ClientSide, Remote: true, Kind: middleware.BidiStream}
		h, err := middleware.BuildStream(spec, func(context.Context, middleware.Stream) error { return answer }, m)
		if err != nil {
			t.Fatal(err)
		}
		return h(context.Background(), nil)
	}
	if err := stream("inventory.Watch", denied); !errors.Is(err, auth.ErrServiceRefused) {
		t.Errorf("a refused stream: %v, want auth.service_refused", err)
	}
	if n := logs.FilterMessageSnippet("the service's own call was refused").Len(); n != 4 {
		t.Errorf("%d log lines after a refused stream, want 4", n)
	}
	if err := stream("billing.Follow", denied); err != denied {
		t.Errorf("a stream on the caller's behalf: %v, want the refusal as it is", err)
	}
	if err := stream("inventory.Watch", errs.NotFound()); errs.KindOf(err) != errs.KindNotFound {
		t.Errorf("a stream's other error: %v", err)
	}
}
