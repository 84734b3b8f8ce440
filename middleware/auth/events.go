package auth

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/wegomesh/wego/auth"
	"github.com/wegomesh/wego/config"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/middleware"
)

// Events are checked on both sides, once [WithEvents] tells the
// middleware which entries are topics and which are subscribers, and
// [Middleware.CompileEvents] has compiled the rules on events:
//
//   - publishing is the resource auth.PublishResource(topic)
//     ("publish:orders.OrderPlaced"): the client side of the topic's entry
//     refuses a publish that the rules do not allow the deployable's
//     service account, with auth.denied, before anything is sent;
//   - a delivery is judged where it runs, on the server side of the
//     subscriber's entry: the event's credential (EventCredential, which
//     the application puts in the delivery's context) is authenticated,
//     its expiry judged at the time the backend stored the event, and
//     the same publish resource decided for its account. A refusal is
//     final: its error says it is permanent, so that the backend
//     dead-letters the event instead of delivering it again — but for a
//     token that names an unknown key id, which a key rotation explains
//     until the process has the new key: that delivery is retried;
//   - subscribing is the resource auth.SubscribeResource(name)
//     ("subscribe:shipping.OnOrderPlaced"): CompileEvents fails when the
//     rules do not allow it to the service account.

// WithEvents makes the middleware check the entries of events
// (middleware.Event): fn returns, for such an entry, the name of its topic
// and whether the entry is a subscriber of it (false: the topic's own
// entry), and "" for an entry that is neither. fw passes one that reads
// the attributes of package events. Without it, the middleware leaves
// event entries alone.
func WithEvents(fn func(spec *middleware.Spec) (topic string, subscriber bool)) Option {
	return optionFunc(func(o *options) { o.events = fn })
}

// EventCredential is what a delivered event says of its publisher, for
// the server side of the middleware: see [WithEventCredential].
type EventCredential struct {
	// Authorization is the event's Authorization header: the credential
	// the publisher attached, or "" for none.
	Authorization string
	// Account is the publisher's account, for a delivery in the process
	// that published; it is trusted as the account of a local call is,
	// and Authorization is then not needed.
	Account *auth.Account
	// Stored is when the backend stored the event; the expiry and
	// not-before time of the credential are judged then (zero: now).
	Stored time.Time
}

type eventKey struct{}

// eventCtx carries the credential of a delivered event. Its String
// method never prints it.
type eventCtx struct {
	context.Context
	cred EventCredential
}

func (c *eventCtx) Value(key any) any {
	if _, ok := key.(eventKey); ok {
		return c
	}
	return c.Context.Value(key)
}

func (c *eventCtx) String() string {
	return contextName(c.Context) + ".WithEventCredential([REDACTED])"
}

// WithEventCredential returns a copy of ctx, the context of an event's
// delivery, that carries what the event says of its publisher: the
// server side of a subscriber's chain decides the delivery by it alone —
// neither by the account nor by the Authorization header that ctx may
// carry from elsewhere (a delivery in the publisher's goroutine has the
// publisher's context). A delivery whose context carries none is refused
// as without credential. It costs one allocation.
func WithEventCredential(ctx context.Context, c EventCredential) context.Context {
	return &eventCtx{Context: ctx, cred: c}
}

// eventCredentialFrom returns the credential of the delivery of ctx.
func eventCredentialFrom(ctx context.Context) (EventCredential, bool) {
	if c, ok := ctx.Value(eventKey{}).(*eventCtx); ok {
		return c.cred, true
	}
	return EventCredential{}, false
}

// eventSet is the event resources that CompileEvents was given: the
// indexes of its tables.
type eventSet struct {
	resources []auth.Resource
}

// eventRules is the rules on events in force: the table compiled against
// the resources of set, and the index in the section's rules of each of
// the table's rules, for logs.
type eventRules struct {
	set   *eventSet
	table *auth.Table
	orig  []int
}

// splitRules returns the rules that reach commands and those that reach
// events ("*" reaches both), each with its place in rules as its Origin
// unless it has one, and the index in rules of each.
func splitRules(rules []auth.Rule) (cmd, ev []auth.Rule, cmdOrig, evOrig []int) {
	for i, r := range rules {
		if r.Origin == "" {
			r.Origin = "rules[" + strconv.Itoa(i) + "]"
		}
		c, e := r.Reaches()
		if c {
			cmd, cmdOrig = append(cmd, r), append(cmdOrig, i)
		}
		if e {
			ev, evOrig = append(ev, r), append(evOrig, i)
		}
	}
	return cmd, ev, cmdOrig, evOrig
}

// isEventResource reports whether a resource is a topic or a subscriber.
func isEventResource(name string) bool {
	_, e := auth.Rule{Resource: name}.Reaches()
	return e
}

// CompileEvents compiles the rules on events against resources, the
// event resources of the deployable: auth.PublishResource of each topic it
// links and auth.SubscribeResource of each subscriber it runs (an
// application calls it when it starts, once the subscribers are
// registered; fw does, before the event bus subscribes them). It fails,
// changing nothing, when a rule on events is malformed or reaches no
// resource, or when the rules do not let the service account
// (auth.identity.account) subscribe each subscriber; the errors are
// [*config.Error] values whose keys are relative to the section, as
// [New]'s are. Until it succeeds, every delivery is refused, and
// publishing is not checked. It does nothing when the middleware is not
// enabled.
func (m *Middleware) CompileEvents(resources []auth.Resource) error {
	if !m.enabled {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	set := &eventSet{resources: slices.Clone(resources)}
	r, err := compileEvents(set, *m.rules.Load(), m.identity.Load())
	if err != nil {
		return err
	}
	m.events.Store(r)
	return nil
}

// compileEvents compiles rules against the resources of set and checks
// that id's account may subscribe each subscriber.
func compileEvents(set *eventSet, rules []auth.Rule, id *auth.Identity) (*eventRules, error) {
	_, ev, _, orig := splitRules(rules)
	if len(set.resources) == 0 {
		// Nothing to reach: a rule on every resource ("*") reached the
		// commands; one on events reaches nothing, which Compile says.
		var kept []auth.Rule
		var keptOrig []int
		for i, r := range ev {
			if c, _ := r.Reaches(); !c {
				kept, keptOrig = append(kept, r), append(keptOrig, orig[i])
			}
		}
		ev, orig = kept, keptOrig
	}
	table, err := auth.Compile(ev, set.resources)
	if err != nil {
		return nil, err
	}
	var acct *auth.Account
	if id != nil {
		acct = id.Account()
	}
	var problems []error
	for i, res := range set.resources {
		name, ok := cutSubscribe(res.Name)
		if !ok {
			continue
		}
		if d := table.Decide(i, acct); d.Allowed {
			continue
		}
		if acct == nil {
			problems = append(problems, config.Errorf("identity.account",
				"subscriber %s: the deployable has no service account to subscribe as: name one, and allow it with a rule {resource: %q, who: [\"account:ID\"], access: allow}",
				name, res.Name))
			continue
		}
		problems = append(problems, config.Errorf("rules",
			"subscriber %s: no rule lets the service account %q subscribe: add {resource: %q, who: [\"account:%s\"], access: allow}",
			name, acct.ID, res.Name, acct.ID))
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	return &eventRules{set: set, table: table, orig: orig}, nil
}

// cutSubscribe returns the subscriber of a "subscribe:" resource.
func cutSubscribe(name string) (string, bool) {
	const p = "subscribe:"
	if len(name) > len(p) && name[:len(p)] == p {
		return name[len(p):], true
	}
	return "", false
}

// EventTable returns the rules on events in force, compiled; nil before
// [Middleware.CompileEvents] and when the middleware is not enabled.
// (*auth.Table).Unreached lists the topics and subscribers no rule
// reaches.
func (m *Middleware) EventTable() *auth.Table {
	if r := m.events.Load(); r != nil {
		return r.table
	}
	return nil
}

// ServiceAuthorization returns the Authorization header of the service
// identity, which events carry and remote calls carry unless they are
// made on the caller's behalf: "" when there is no identity, or it has no
// credential. It logs, and returns "", when the identity cannot give its
// credential.
func (m *Middleware) ServiceAuthorization(ctx context.Context) string {
	id := m.identity.Load()
	if id == nil {
		return ""
	}
	h, err := id.Authorization()
	if err != nil {
		m.noCredential(ctx, err)
		return ""
	}
	return h
}

// eventGuard checks one entry of events: the publishes of a topic, or the
// deliveries to a subscriber.
type eventGuard struct {
	m        *Middleware
	spec     *middleware.Spec
	topic    string
	resource string                     // auth.PublishResource(topic)
	idx      atomic.Pointer[eventIndex] // resource's index, in the tables of one eventSet
}

type eventIndex struct {
	set *eventSet
	i   int
}

// index returns the guard's resource's index in r's table, found once per
// set of resources.
func (g *eventGuard) index(r *eventRules) int {
	if x := g.idx.Load(); x != nil && x.set == r.set {
		return x.i
	}
	i, ok := r.table.Index(g.resource)
	if !ok {
		i = -1 // denied: not a resource CompileEvents was given
	}
	g.idx.Store(&eventIndex{set: r.set, i: i})
	return i
}

// wrapEvent is Wrap for the entries of events.
func (m *Middleware) wrapEvent(spec *middleware.Spec, next middleware.Handler) middleware.Handler {
	if !m.enabled || m.o.events == nil {
		return nil
	}
	topic, subscriber := m.o.events(spec)
	if topic == "" {
		return nil
	}
	g := &eventGuard{m: m, spec: spec, topic: topic, resource: auth.PublishResource(topic)}
	switch {
	case spec.Side == middleware.ClientSide && !subscriber:
		return func(ctx context.Context, c *middleware.Call) error {
			if err := g.checkPublish(ctx); err != nil {
				return err
			}
			return next(ctx, c)
		}
	case spec.Side == middleware.ServerSide && subscriber:
		return func(ctx context.Context, c *middleware.Call) error {
			ctx, err := g.checkDelivery(ctx)
			if err != nil {
				return err
			}
			return next(ctx, c)
		}
	}
	return nil
}

// checkPublish decides a publish for the service account.
func (g *eventGuard) checkPublish(ctx context.Context) error {
	r := g.m.events.Load()
	if r == nil {
		return nil // not started: no bus carries the event either
	}
	acct := g.m.ServiceAccount()
	d := r.table.Decide(g.index(r), acct)
	if d.Allowed {
		return nil
	}
	err := auth.ErrDenied.New(errs.P("resource", g.topic))
	g.m.refuse(ctx, "auth: publish refused", g.spec, acct, &d, g.rule(r, d), err)
	return err
}

// checkDelivery authenticates the publisher of a delivered event and
// decides the delivery. It returns the context for the rest of the
// chain, with the publisher's account in it, or the error that ends the
// delivery for good.
func (g *eventGuard) checkDelivery(ctx context.Context) (context.Context, error) {
	ec, _ := eventCredentialFrom(ctx)
	acct := ec.Account
	if acct == nil && ec.Authorization != "" {
		cred, err := auth.ParseAuthorization(ec.Authorization)
		if err == nil {
			actx := ctx
			if !ec.Stored.IsZero() {
				actx = auth.WithVerifyTime(ctx, ec.Stored)
			}
			acct, err = g.m.creds.Load().providers.Authenticate(actx, cred)
		}
		if err != nil {
			return ctx, g.refuseDelivery(ctx, nil, nil, nil, err)
		}
	}
	r := g.m.events.Load()
	d := auth.Decision{Reason: auth.ByUnknownResource, Rule: -1}
	if r != nil {
		d = r.table.Decide(g.index(r), acct)
	}
	if !d.Allowed {
		var err error
		if acct == nil {
			err = auth.ErrMissingCredential.New()
		} else {
			err = auth.ErrDenied.New(errs.P("resource", g.topic))
		}
		return ctx, g.refuseDelivery(ctx, r, acct, &d, err)
	}
	return auth.NewContext(ctx, acct), nil
}

// refuseDelivery logs and audits a refused delivery, and returns its
// error, marked permanent.
func (g *eventGuard) refuseDelivery(ctx context.Context, r *eventRules, acct *auth.Account, d *auth.Decision, err error) error {
	var rule ruleRef
	if d != nil {
		rule = g.rule(r, *d)
	}
	g.m.refuse(ctx, "auth: delivery refused", g.spec, acct, d, rule, err)
	if errors.Is(err, auth.ErrUnknownKeyID) {
		// The one refusal that time can mend: the publisher's key may be
		// new (a rotation), and this process's key set not fetched again
		// yet (a JWKS fetch failed, or waits for its minimum interval).
		// The delivery is tried again, up to the subscriber's maximum.
		return errs.From(err)
	}
	return errs.From(err).WithCause(errRefusedDelivery)
}

// rule returns the rule that made d, in r.
func (g *eventGuard) rule(r *eventRules, d auth.Decision) ruleRef {
	if r == nil {
		return ruleRef{index: -1}
	}
	rule, ok := r.table.Rule(d.Rule)
	if !ok {
		return ruleRef{index: -1}
	}
	return ruleRef{index: r.orig[d.Rule], resource: rule.Resource}
}

// refusedDelivery is the cause of a refused delivery's error: it says
// that the delivery must not be tried again (see events.OutcomeOf).
type refusedDelivery struct{}

func (refusedDelivery) Error() string {
	return "the event's publisher is refused: it is not delivered again"
}

// Permanent reports true: the same credential would be refused again.
func (refusedDelivery) Permanent() bool { return true }

var errRefusedDelivery error = refusedDelivery{}
