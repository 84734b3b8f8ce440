package natstransport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/textproto"
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

// HeaderDeadline is the request header that carries the caller's
// deadline, in milliseconds since the Unix epoch (rounded up), beside its
// time left in [transport.HeaderTimeout]: a server refuses a request
// whose deadline has passed by the time it would run it — one held in
// transit, or by a replica that froze — instead of running it for a
// caller that has given up ([ServerConfig.ClockSkew]).
const HeaderDeadline = "X-Wego-Deadline"

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
	if spec.Response != nil {
		b.resp = codec.TypeOf(spec.Response)
	}
	return b.call, nil
}

// binding sends the calls of one command.
type binding struct {
	r          *Route
	subject    string
	plan       *codec.Plan     // the request's one-pass encoder, or nil
	resp       *codec.JSONType // the response's, for its one-walk decoder
	idempotent bool            // send again after the attempt timeout
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
	out := outbounds.Get().(*outbound)
	defer out.free()
	if err := b.encode(out, c.Request); err != nil {
		return errs.Internal().WithCause(fmt.Errorf("natstransport: encoding the request of %s: %w", b.subject, err))
	}
	if err := transport.Outgoing(ctx, &out.hdr, b.r.props); err != nil {
		return err
	}
	out.hdr.h[transport.HeaderContentType] = contentJSON
	if dl, ok := ctx.Deadline(); ok {
		// Rounded up: a server never refuses a request before its time.
		out.hdr.Set(HeaderDeadline, strconv.FormatInt((dl.UnixNano()+int64(time.Millisecond)-1)/int64(time.Millisecond), 10))
	}
	out.msg.Subject = subject
	var began time.Time
	if n != nil {
		b.r.picker.Start(n)
		began = time.Now()
	}
	resp, err := b.request(ctx, nc, out)
	if n != nil && errors.Is(err, nats.ErrNoResponders) {
		// The node is gone and the registry does not know yet: no one
		// got the request, so the queue group may have it.
		b.r.picker.Done(n, transport.ErrUnavailable.New(), time.Since(began))
		n = nil
		out.msg.Subject = b.subject
		resp, err = b.request(ctx, nc, out)
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
	if err := codec.Decode(resp.Data, c.Response, b.resp); err != nil {
		return transport.ErrBadResponse.Wrap(fmt.Errorf("natstransport: %s: decoding the response: %w", b.subject, err))
	}
	return nil
}

// request sends out and waits for its answer; an idempotent command's
// request is sent once more when the first gets no answer within the
// attempt timeout and the call has time left.
func (b *binding) request(ctx context.Context, nc *nats.Conn, out *outbound) (*nats.Msg, error) {
	if !b.idempotent {
		return send(ctx, nc, &out.msg)
	}
	actx, cancel := context.WithTimeout(ctx, b.r.attempt)
	resp, err := nc.RequestMsgWithContext(actx, &out.msg)
	cancel()
	if err == nil || ctx.Err() != nil || actx.Err() == nil {
		return resp, err
	}
	if dl, ok := ctx.Deadline(); ok {
		left := time.Until(dl)
		if left <= 0 {
			return nil, context.DeadlineExceeded
		}
		out.hdr.Set(transport.HeaderTimeout, transport.FormatTimeout(left))
	}
	return send(ctx, nc, &out.msg)
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

// outbound is the message of a call, pooled: NATS encodes a request's
// headers and copies its payload when it sends it, so that its header
// map, value slices and payload buffer are free once the request is
// sent.
type outbound struct {
	msg nats.Msg
	hdr header
	buf []byte // the payload's, when the request's plan encoded it
}

// outbounds pools the messages of calls.
var outbounds = sync.Pool{New: func() any {
	r := &outbound{hdr: header{h: nats.Header{}, spare: map[string][]string{}}}
	r.msg.Header = r.hdr.h
	return r
}}

// free puts r back into outbounds, without its headers' values.
func (r *outbound) free() {
	r.msg.Subject, r.msg.Data = "", nil
	clear(r.hdr.h)
	if len(r.hdr.spare) > maxSpare || cap(r.buf) > transport.MaxPooledBuffer {
		return // an unusual call: let the garbage collector have it
	}
	for _, v := range r.hdr.spare {
		v[0] = ""
	}
	outbounds.Put(r)
}

// maxSpare bounds the header keys whose value slices a pooled request
// keeps.
const maxSpare = 16

// header is the [transport.Metadata] of a request being written: a NATS
// header whose value slices are kept for the next request, one per key
// (so a slice that Values returns is valid until the call returns).
type header struct {
	h     nats.Header
	spare map[string][]string
}

var _ transport.Metadata = (*header)(nil)

// Get returns the first value of key.
func (h *header) Get(key string) string { return transport.MD(h.h).Get(key) }

// Values returns the values of key.
func (h *header) Values(key string) []string { return transport.MD(h.h).Values(key) }

// Set replaces the values of key with value, in a value slice of its
// own.
func (h *header) Set(key, value string) {
	key = textproto.CanonicalMIMEHeaderKey(key)
	v := h.spare[key]
	if v == nil {
		v = make([]string, 1)
		h.spare[key] = v
	}
	v[0] = value
	h.h[key] = v[:1:1]
}

// Keys returns the keys that have values.
func (h *header) Keys() []string { return transport.MD(h.h).Keys() }

// encode sets out's payload to the JSON of a request, as a remote HTTP
// route sends it: into out's buffer, when the request's plan encodes it.
func (b *binding) encode(out *outbound, req any) error {
	if b.plan != nil {
		if n, ok := b.plan.Bound(req); ok {
			if cap(out.buf) < n {
				out.buf = make([]byte, 0, n)
			}
			if data, ok := b.plan.EncodeUnescaped(out.buf[:0], req); ok {
				out.buf, out.msg.Data = data, data
				return nil
			}
		}
	}
	data, err := json.Marshal(req)
	out.msg.Data = data
	return err
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
