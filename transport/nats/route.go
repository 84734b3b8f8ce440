package natstransport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"go.uber.org/zap"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/codec"
	"github.com/wegomesh/wego/config"
	"github.com/wegomesh/wego/engine"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/middleware"
	"github.com/wegomesh/wego/middleware/retry"
	"github.com/wegomesh/wego/registry"
	"github.com/wegomesh/wego/transport"
	"github.com/wegomesh/wego/transport/balance"
)

// DefaultRequestTimeout bounds a call over NATS whose context has no
// deadline: NATS needs one to wait for an answer.
const DefaultRequestTimeout = 60 * time.Second

// Route sends calls over NATS: each to the subject of its command's name,
// answered by whichever server serves it (the queue group of its service
// picks one replica), so that no address of the serving process appears
// anywhere. Its engine must be started before the first call; until then,
// and while the connection is down, calls fail at once with
// [transport.ErrUnavailable], as they do when no one serves the subject
// (NATS's "no responders"). Make one with [NewRoute], or from
// configuration with a "nats://" target in the routes section.
type Route struct {
	eng     *engine.Engine
	node    string // for Call.Node and errors: the target's host, such as the service's name
	props   []transport.Propagator
	attempt time.Duration

	// Balancing on the caller's side (Balance): the nodes of the service
	// node from reg, picked by picker, reached on their instance subjects.
	reg    registry.Registry
	picker *balance.Picker
	bcfg   balance.Config
	mu     sync.Mutex
	seen   atomic.Pointer[registry.Node] // the first node of the set picker has
	seenN  atomic.Int64                  // and its length
}

// DefaultAttemptTimeout is how long a call of an idempotent command waits
// for its answer before it sends the request once more ([AttemptTimeout]).
const DefaultAttemptTimeout = time.Second

// RouteOption configures a [Route].
type RouteOption func(*Route)

// AttemptTimeout sets how long a call of an idempotent command (marked
// with retry.Idempotent) waits for an answer before it sends its request
// once more, within the call's deadline: NATS does not tell a caller that
// the replica it reached died (SIGKILL, a lost host) with the request, and
// the second request goes to a live replica. A call is sent at most twice,
// so a slow idempotent command costs at most double. 0 turns it off;
// default [DefaultAttemptTimeout].
func AttemptTimeout(d time.Duration) RouteOption { return func(r *Route) { r.attempt = max(d, 0) } }

// Balance makes the route choose the replica of each call itself, with
// the policy and ejection of cfg, among the nodes of its service that reg
// knows: each call goes to the chosen node's own subject
// ([InstanceSubject]) instead of the service's queue group, so that a
// replica that slows down, collects calls or fails gets fewer of them —
// what NATS's random pick cannot see. While reg knows no node of the
// service, calls go to the queue group. The route's node names the
// service.
func Balance(reg registry.Registry, cfg balance.Config) RouteOption {
	return func(r *Route) { r.reg, r.bcfg = reg, cfg }
}

// NewRoute returns a route over the connection of eng. node names where
// calls go, for Call.Node and error texts (a service's name); it may be
// empty, except with [Balance]. It panics on a [Balance] configuration
// that [balance.Config.Validate] rejects.
func NewRoute(eng *engine.Engine, node string, opts ...RouteOption) *Route {
	r := &Route{eng: eng, node: node, attempt: DefaultAttemptTimeout}
	for _, o := range opts {
		if o != nil {
			o(r)
		}
	}
	if r.reg != nil {
		p, err := balance.New(r.bcfg)
		if err != nil {
			panic(fmt.Sprintf("natstransport: %v", err))
		}
		r.picker = p
	}
	return r
}

// pick returns the node of a call and its subject for command, or nil and
// the command's own subject (its queue group) when the route does not
// balance or knows no node of its service.
func (r *Route) pick(command string) (*balance.Node, string) {
	if r.picker == nil {
		return nil, command
	}
	nodes, err := r.reg.Lookup(r.node)
	if err != nil || len(nodes) == 0 {
		return nil, command
	}
	if &nodes[0] != r.seen.Load() || int64(len(nodes)) != r.seenN.Load() {
		r.sync(nodes)
	}
	n := r.picker.Pick()
	if n == nil {
		return nil, command
	}
	return n, InstanceSubject(n.ID(), command)
}

// sync gives the picker the instance ids of nodes, a new set from the
// registry.
func (r *Route) sync(nodes []registry.Node) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if &nodes[0] == r.seen.Load() && int64(len(nodes)) == r.seenN.Load() {
		return
	}
	ids := make([]string, 0, len(nodes))
	for i := range nodes {
		if id := nodes[i].Endpoints["nats"]; id != "" {
			ids = append(ids, id)
		}
	}
	r.picker.Update(ids)
	r.seen.Store(&nodes[0])
	r.seenN.Store(int64(len(nodes)))
}

var _ catalog.Balancer = (*Route)(nil)

// Pick returns the route's node: NATS, not the caller, picks the replica.
func (r *Route) Pick() string { return r.node }

// Bind prepares the calls of one command.
func (r *Route) Bind(spec *middleware.Spec) (middleware.Handler, error) {
	if r.eng == nil {
		return nil, fmt.Errorf("natstransport: route for %s: no NATS engine", spec.Name)
	}
	idem, _ := retry.Idempotent.Get(spec.Attributes)
	b := &binding{r: r, subject: spec.Name, idempotent: idem && r.attempt > 0}
	if spec.Request != nil {
		b.plan = codec.PlanOf(spec.Request)
	}
	return b.call, nil
}

// binding sends the calls of one command.
type binding struct {
	r          *Route
	subject    string
	plan       *codec.Plan // the request's one-pass encoder, or nil
	idempotent bool        // send again after the attempt timeout
}

var contentJSON = []string{transport.ContentTypeJSON}

func (b *binding) call(ctx context.Context, c *middleware.Call) (outcome error) {
	if err := ctx.Err(); err != nil {
		return transport.ContextError(err, err)
	}
	nc := b.r.eng.Conn()
	if nc == nil || !b.r.eng.Ready() {
		return transport.ErrUnavailable.Wrap(fmt.Errorf("natstransport: %s: not connected to NATS", b.subject))
	}
	n, subject := b.r.pick(b.subject)
	c.Node = b.r.node
	if n != nil {
		c.Node = n.ID()
	}
	data, err := b.encode(c.Request)
	if err != nil {
		return errs.Internal().WithCause(fmt.Errorf("natstransport: encoding the request of %s: %w", b.subject, err))
	}
	msg := &nats.Msg{Subject: subject, Data: data, Header: nats.Header{}}
	if err := transport.Outgoing(ctx, transport.MD(msg.Header), b.r.props); err != nil {
		return err
	}
	msg.Header[transport.HeaderContentType] = contentJSON
	var began time.Time
	if n != nil {
		b.r.picker.Start(n)
		began = time.Now()
	}
	resp, err := b.request(ctx, nc, msg)
	if n != nil && errors.Is(err, nats.ErrNoResponders) {
		// The node is gone and the registry does not know yet: no one
		// got the request, so the queue group may have it.
		b.r.picker.Done(n, transport.ErrUnavailable.New(), time.Since(began))
		n = nil
		msg.Subject = b.subject
		resp, err = b.request(ctx, nc, msg)
	}
	if n != nil {
		defer func() { b.r.picker.Done(n, outcome, time.Since(began)) }()
	}
	if err != nil {
		outcome = b.requestError(ctx, err)
		return outcome
	}
	if code := resp.Header.Get(micro.ErrorCodeHeader); code != "" {
		status, _ := strconv.Atoi(code)
		e := transport.ErrorOf(status, resp.Data)
		return e.WithCause(&RemoteError{Subject: b.subject, Status: status,
			RequestID: resp.Header.Get(transport.HeaderRequestID), Code: e.Code()})
	}
	if len(resp.Data) == 0 {
		return nil
	}
	if err := json.Unmarshal(resp.Data, c.Response); err != nil {
		return transport.ErrBadResponse.Wrap(fmt.Errorf("natstransport: %s: decoding the response: %w", b.subject, err))
	}
	return nil
}

// request sends msg and waits for its answer; an idempotent command's
// request is sent once more when the first gets no answer within the
// attempt timeout and the call has time left.
func (b *binding) request(ctx context.Context, nc *nats.Conn, msg *nats.Msg) (*nats.Msg, error) {
	if !b.idempotent {
		return send(ctx, nc, msg)
	}
	actx, cancel := context.WithTimeout(ctx, b.r.attempt)
	resp, err := nc.RequestMsgWithContext(actx, msg)
	cancel()
	if err == nil || ctx.Err() != nil || actx.Err() == nil {
		return resp, err
	}
	again := &nats.Msg{Subject: msg.Subject, Data: msg.Data, Header: nats.Header{}}
	for k, v := range msg.Header {
		again.Header[k] = v
	}
	if dl, ok := ctx.Deadline(); ok {
		left := time.Until(dl)
		if left <= 0 {
			return nil, context.DeadlineExceeded
		}
		again.Header[transport.HeaderTimeout] = []string{transport.FormatTimeout(left)}
	}
	return send(ctx, nc, again)
}

// send sends msg and waits for its answer until ctx ends, or for
// DefaultRequestTimeout when ctx has no deadline.
func send(ctx context.Context, nc *nats.Conn, msg *nats.Msg) (*nats.Msg, error) {
	if _, ok := ctx.Deadline(); ok {
		return nc.RequestMsgWithContext(ctx, msg)
	}
	if ctx.Done() == nil {
		// Nothing can end ctx: NATS's own pooled timer bounds the wait,
		// which spares a context and a timer per call.
		return nc.RequestMsg(msg, DefaultRequestTimeout)
	}
	ctx, cancel := context.WithTimeout(ctx, DefaultRequestTimeout)
	defer cancel()
	return nc.RequestMsgWithContext(ctx, msg)
}

// encode returns the JSON of a request, as a remote HTTP route sends it.
func (b *binding) encode(req any) ([]byte, error) {
	if b.plan != nil {
		if n, ok := b.plan.Bound(req); ok {
			if out, ok := b.plan.EncodeUnescaped(make([]byte, 0, n), req); ok {
				return out, nil
			}
		}
	}
	return json.Marshal(req)
}

// requestError maps the error of a request: no responders and a lost
// connection are unavailable at once, an ended context its own error.
func (b *binding) requestError(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return transport.ErrUnavailable.Wrap(fmt.Errorf("natstransport: no one serves %s: %w", b.subject, err))
	case ctx.Err() != nil:
		return transport.ContextError(ctx.Err(), err)
	case errors.Is(err, nats.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return errs.DeadlineExceeded().WithCause(err)
	}
	return transport.ErrUnavailable.Wrap(fmt.Errorf("natstransport: %s: %w", b.subject, err))
}

// RemoteError is the cause of the errors a route returns for an error
// answer: where it came from, for logs. Callers never see it.
type RemoteError struct {
	Subject   string
	Status    int    // Nats-Service-Error-Code
	RequestID string // as the server echoed it
	Code      string
}

// Error describes the answer.
func (e *RemoteError) Error() string {
	return fmt.Sprintf("natstransport: %s answered %d %s (request id %s)", e.Subject, e.Status, e.Code, e.RequestID)
}

// The engine "nats" for applications whose configuration has a nats
// section, and the route factory for "nats://" targets.
func init() {
	transport.RegisterEngine(engine.Section, func(c *config.Config, logger *zap.Logger) (transport.Engine, error) {
		cfg, err := engine.LoadConfig(c)
		if err != nil {
			return nil, err
		}
		return engine.New(cfg, logger)
	})
	transport.RegisterRouteFactory("nats", newRoute)
}

// newRoute builds the route of a "nats://service" target: the host names
// the service, for Call.Node and errors; NATS finds who serves it. The
// query may ask for balancing on the caller's side over the service's
// nodes in the application's registry, "?balance=p2c_inflight" (or
// p2c_ewma, round_robin, random), with balance's default ejection.
func newRoute(host transport.Host, targets []string) (catalog.Route, error) {
	if len(targets) != 1 {
		return nil, errors.New("natstransport: a NATS route has one target, nats://<service>: whoever serves the subject answers")
	}
	eng, ok := host.Engine.(*engine.Engine)
	if !ok || eng == nil {
		return nil, errors.New("natstransport: a nats:// route needs the NATS engine: add a nats section to the configuration")
	}
	u, err := url.Parse(targets[0])
	if err != nil || u.Path != "" && u.Path != "/" || u.User != nil || u.Host == "" {
		return nil, fmt.Errorf("natstransport: route target %q is not nats://<service>", targets[0])
	}
	var opts []RouteOption
	q := u.Query()
	for k := range q {
		if k != "balance" {
			return nil, fmt.Errorf("natstransport: route target %q: unknown parameter %q (want balance)", targets[0], k)
		}
	}
	if policy := q.Get("balance"); policy != "" {
		if host.Registry == nil {
			return nil, fmt.Errorf("natstransport: route target %q balances over the registry's nodes, and the application has no registry", targets[0])
		}
		cfg := balance.DefaultConfig()
		cfg.Policy = balance.Policy(policy)
		if err := cfg.Validate(); err != nil {
			return nil, fmt.Errorf("natstransport: route target %q: %w", targets[0], err)
		}
		opts = append(opts, Balance(host.Registry, cfg))
	}
	r := NewRoute(eng, u.Host, opts...)
	r.props = host.Propagators
	return r, nil
}
