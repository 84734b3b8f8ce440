package fw

import (
	"context"
	"strings"

	"github.com/wegomesh/wego/auth"
	"github.com/wegomesh/wego/events"
	"github.com/wegomesh/wego/middleware"
	authmw "github.com/wegomesh/wego/middleware/auth"
)

// Authentication of events (see docs/auth.md, Events). The auth
// middleware checks the topics' client chains (publishing) and the
// subscribers' server chains (deliveries); the application tells it which
// entries are which (eventEntry), compiles the rules on events when it
// starts, once the subscribers are registered (compileAuthEvents), and
// carries the credential from the publisher to the deliveries through the
// bus (eventAuth).

// eventEntry says of a catalog entry of events the topic it is, or reads,
// and whether it is a subscriber; "" for any other entry.
func eventEntry(spec *middleware.Spec) (topic string, subscriber bool) {
	if spec.Kind != middleware.Event {
		return "", false
	}
	topic, ok := events.TopicKey.Get(spec.Attributes)
	if !ok {
		return "", false
	}
	_, subscriber = events.GroupKey.Get(spec.Attributes)
	return topic, subscriber
}

// eventResources returns the resources of the topics and subscribers of
// the application's catalog, with what their code says about access
// (authmw.Public, authmw.Scopes).
func (a *App) eventResources() []auth.Resource {
	var out []auth.Resource
	for _, e := range a.cat.Commands() {
		spec := e.Spec()
		topic, subscriber := eventEntry(spec)
		if topic == "" {
			continue
		}
		r := authmw.ResourceOf(spec)
		if subscriber {
			r.Name = auth.SubscribeResource(spec.Name)
		} else {
			r.Name = auth.PublishResource(topic)
		}
		out = append(out, r)
	}
	return out
}

// compileAuthEvents compiles the rules on events against the topics and
// subscribers of the catalog, when the application starts: a rule that
// reaches none, or a subscriber that the service account may not
// subscribe, fails the start with the rule's file.
func (a *App) compileAuthEvents() error {
	m := a.auth.mw.Load()
	if m == nil || !m.Enabled() {
		return nil
	}
	if err := m.CompileEvents(a.eventResources()); err != nil {
		return a.authError(err)
	}
	return nil
}

// eventAuth is the propagator of the event bus when the auth middleware
// propagates credentials: each event published carries the service
// identity's credential, and the deployable's service account for a
// delivery in process; each delivery's context carries them for the
// subscriber's server chain.
type eventAuth struct{ m *authMiddleware }

func (p eventAuth) Inject(ctx context.Context, msg *events.Message) {
	msg.Authorization = p.m.ServiceAuthorization(ctx)
	msg.Account = p.m.ServiceAccount()
}

func (p eventAuth) Extract(ctx context.Context, d *events.Delivery) context.Context {
	if !p.m.Enabled() {
		return ctx
	}
	return authmw.WithEventCredential(ctx, authmw.EventCredential{Authorization: d.Authorization, Account: d.Account, Stored: d.Stored})
}

// eventPropagators returns the propagators of the application's event
// bus: eventAuth when the auth middleware propagates credentials, none
// otherwise (publishing and delivering then cost nothing more).
func (a *App) eventPropagators() []events.Propagator {
	if m := a.auth.mw.Load(); m != nil && m.Propagates() {
		return []events.Propagator{eventAuth{m}}
	}
	return nil
}

// routeDesc is a route of the configuration: its pattern and its targets.
type routeDesc struct {
	pattern middleware.Pattern
	targets string
}

// routeOf describes the route of the command name, for the auth
// middleware's log lines: the targets of the most specific pattern of
// the routes section that matches it, or "".
func (a *App) routeOf(name string) string {
	best, rank := "", 0
	for _, r := range a.auth.routes {
		if s := r.pattern.Specificity(); s > rank && r.pattern.Match(name) {
			best, rank = r.targets, s
		}
	}
	return best
}

// noteRoute records a route of the configuration for routeOf.
func (a *App) noteRoute(pattern string, targets []string) {
	if p, err := middleware.ParsePattern(pattern); err == nil {
		a.auth.routes = append(a.auth.routes, routeDesc{pattern: p, targets: strings.Join(targets, ",")})
	}
}
