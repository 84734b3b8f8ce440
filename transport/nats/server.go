package natstransport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"go.uber.org/zap"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/config"
	"github.com/wegomesh/wego/engine"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/log"
	"github.com/wegomesh/wego/transport"
)

// Name is the name of the transport, in logs and in
// [transport.ServerRequest].
const Name = "nats"

// Section is the configuration section of the NATS server: the limits
// of the requests it serves. The connection itself is the engine's
// (section "nats", package engine).
const Section = "nats_server"

// ServerConfig is the configuration of a [Server], the section
// "nats_server".
type ServerConfig struct {
	// MaxBodyBytes bounds a request's payload; a larger one gets
	// transport.body_too_large. Default 1 MiB, NATS's own default
	// max_payload.
	MaxBodyBytes int64 `mapstructure:"max_body_bytes"`
	// MaxConcurrent bounds the requests served at once, over every
	// command; one more gets transport.overloaded (503) at once. Default
	// 1024.
	MaxConcurrent int `mapstructure:"max_concurrent"`
	// CommandTimeout bounds each command's run, whatever the caller asks.
	// Default 0: none.
	CommandTimeout time.Duration `mapstructure:"command_timeout"`
	// MaxTimeout caps the time a caller asks for in X-Wego-Timeout.
	// Default 0: no cap.
	MaxTimeout time.Duration `mapstructure:"max_timeout"`
	// Version is the version that the services announce in $SRV.INFO, in
	// SemVer form. Default "0.0.0".
	Version string `mapstructure:"version"`
	// Health decides when the server leaves its queue groups.
	Health HealthConfig `mapstructure:"health"`

	ready func() bool // the Ready option's
}

// DefaultServerConfig returns the defaults of [ServerConfig].
func DefaultServerConfig() ServerConfig {
	return ServerConfig{MaxBodyBytes: 1 << 20, MaxConcurrent: 1024, Version: "0.0.0", Health: DefaultHealthConfig()}
}

// Validate reports the first wrong value, naming its key relative to the
// section.
func (c *ServerConfig) Validate() error {
	switch {
	case c.MaxBodyBytes <= 0:
		return config.Errorf("max_body_bytes", "must be positive, got %d", c.MaxBodyBytes)
	case c.MaxConcurrent <= 0:
		return config.Errorf("max_concurrent", "must be positive, got %d", c.MaxConcurrent)
	case c.CommandTimeout < 0:
		return config.Errorf("command_timeout", "must not be negative, got %s", c.CommandTimeout)
	case c.MaxTimeout < 0:
		return config.Errorf("max_timeout", "must not be negative, got %s", c.MaxTimeout)
	case !validVersion(c.Version):
		return config.Errorf("version", "must be a SemVer version such as 1.2.3, got %q", c.Version)
	}
	return c.Health.validate()
}

// validVersion reports whether v looks like MAJOR.MINOR.PATCH with an
// optional pre-release or build suffix, as $SRV.INFO wants it.
func validVersion(v string) bool {
	core, _, _ := strings.Cut(v, "+")
	core, _, _ = strings.Cut(core, "-")
	parts := strings.Split(core, ".")
	if len(parts) != 3 {
		return false
	}
	for _, p := range parts {
		if _, err := strconv.ParseUint(p, 10, 64); err != nil {
			return false
		}
	}
	return true
}

// ServerOption configures a [Server]; options override the section.
type ServerOption func(*ServerConfig)

// MaxBodyBytes sets [ServerConfig.MaxBodyBytes].
func MaxBodyBytes(n int64) ServerOption { return func(c *ServerConfig) { c.MaxBodyBytes = n } }

// MaxConcurrent sets [ServerConfig.MaxConcurrent].
func MaxConcurrent(n int) ServerOption { return func(c *ServerConfig) { c.MaxConcurrent = n } }

// CommandTimeout sets [ServerConfig.CommandTimeout].
func CommandTimeout(d time.Duration) ServerOption {
	return func(c *ServerConfig) { c.CommandTimeout = d }
}

// Version sets [ServerConfig.Version].
func Version(v string) ServerOption { return func(c *ServerConfig) { c.Version = v } }

// Server serves a catalog's commands over NATS: each command on the
// subject of its name ("inventory.Reserve"), in the queue group of its
// service ("inventory"), so that every replica of a service shares its
// load with no configuration. It serves through NATS's service API
// (nats.go/micro): each service answers $SRV.PING, $SRV.INFO and
// $SRV.STATS, so that the nats CLI and any NATS client can find and call
// WeGO commands. Requests run through the server chain exactly as over
// HTTP ([transport.Core]).
//
// A Server uses the application's engine ([transport.Host.Engine]), which
// must be an *engine.Engine.
type Server struct {
	opts []ServerOption

	mu       sync.Mutex
	started  bool
	svcs     []micro.Service
	direct   []*nats.Subscription // the per-instance subjects
	id       string               // this server's instance id
	core     *transport.Core
	cfg      ServerConfig
	eng      *engine.Engine
	app      string
	order    []string                        // the services, in the catalog's order
	groups   map[string][]*transport.Command // the commands of each service
	health   *health
	left     bool // the services left their queue groups (unhealthy)
	sem      chan struct{}
	inflight sync.WaitGroup
	// monitorDone is closed when the health monitor has returned.
	monitorDone chan struct{}
	dispatched  atomic.Int64 // requests dispatched so far, for Stop to see when they end
	// refused counts the requests refused over max_concurrent since
	// lastRefusal (UnixNano), when the last line about them was logged.
	refused, lastRefusal atomic.Int64
	base                 context.Context // ends when the server stops
	cancel               context.CancelFunc
	reqs                 context.Context // of the requests: ends when a stop runs out of time
	cancelRequests       context.CancelFunc
	log                  *zap.Logger
}

// NewServer returns a NATS server configured by the section
// "nats_server" of the application's configuration, then opts.
func NewServer(opts ...ServerOption) *Server { return &Server{opts: opts} }

// Name returns "nats".
func (s *Server) Name() string { return Name }

// Sections returns the configuration sections the server reads, beside
// the engine's: "nats_server".
func (s *Server) Sections() []string { return []string{Section} }

// Start serves host's catalog: it starts the engine if it is not started
// yet, and adds one NATS service per service of the catalog's local
// commands. It fails when the host has no NATS engine, on a wrong
// configuration value (naming the key), or when NATS refuses a service.
func (s *Server) Start(ctx context.Context, host transport.Host) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("natstransport: server started twice")
	}
	eng, ok := host.Engine.(*engine.Engine)
	if !ok || eng == nil {
		return errors.New("natstransport: the application has no NATS engine: add a nats section to its configuration")
	}
	cfg := DefaultServerConfig()
	if host.Config != nil {
		var err error
		if cfg, err = config.GetWithDefaults(host.Config, Section, cfg); err != nil {
			return err
		}
	}
	for _, o := range s.opts {
		if o != nil {
			o(&cfg)
		}
	}
	if err := cfg.Validate(); err != nil {
		return config.Under(Section, err)
	}
	if err := eng.Start(ctx); err != nil {
		return err
	}
	s.cfg = cfg
	s.core = transport.NewCore(Name, host, transport.CoreLimits{CommandBudget: cfg.CommandTimeout, MaxTimeout: cfg.MaxTimeout})
	s.log = s.core.Logger()
	s.sem = make(chan struct{}, cfg.MaxConcurrent)
	// Requests run with reqs, which only a stop past its deadline cancels;
	// base ends with the server (the health monitor).
	reqs, cancelReqs := context.WithCancel(context.WithoutCancel(ctx))
	s.reqs, s.cancelRequests = reqs, cancelReqs
	s.base, s.cancel = context.WithCancel(reqs)

	groups := map[string][]*transport.Command{}
	var order []string
	for _, e := range s.core.Catalog().Commands() {
		if !e.Local() || e.Routed() {
			continue // served where it runs
		}
		svc := serviceOf(e.Spec().Name)
		if _, ok := groups[svc]; !ok {
			order = append(order, svc)
		}
		groups[svc] = append(groups[svc], s.core.Command(e))
	}
	s.eng, s.app, s.order, s.groups = eng, host.Name, order, groups
	s.id = strings.ReplaceAll(uuid.NewString(), "-", "")
	if err := s.join(ctx); err != nil {
		return err
	}
	s.started = true
	s.health = newHealth(cfg.Health)
	s.monitorDone = make(chan struct{})
	go s.monitor(s.base, s.monitorDone)
	s.log.Info("nats: serving", zap.Strings("services", order), zap.String("url", eng.ClientURL()))
	return nil
}

// join adds the services and their endpoints, each command in its
// service's queue group, and returns once NATS routes requests to them.
func (s *Server) join(ctx context.Context) error {
	nc := s.eng.Conn()
	for _, name := range s.order {
		svc, err := micro.AddService(nc, micro.Config{
			Name:        name,
			Version:     s.cfg.Version,
			Description: "WeGO service " + name,
			QueueGroup:  name,
			Metadata:    map[string]string{"wego.app": s.app},
		})
		if err != nil {
			s.stopServices()
			return fmt.Errorf("natstransport: service %s: %w", name, err)
		}
		s.svcs = append(s.svcs, svc)
		for _, cmd := range s.groups[name] {
			subject := cmd.Spec().Name
			err := svc.AddEndpoint(endpointName(subject), micro.HandlerFunc(func(r micro.Request) { s.dispatch(cmd, r) }),
				micro.WithEndpointSubject(subject), micro.WithEndpointMetadata(map[string]string{"command": subject}))
			if err != nil {
				s.stopServices()
				return fmt.Errorf("natstransport: command %s: %w", subject, err)
			}
			sub, err := nc.Subscribe(InstanceSubject(s.id, subject), func(m *nats.Msg) { s.dispatchMsg(cmd, m) })
			if err != nil {
				s.stopServices()
				return fmt.Errorf("natstransport: command %s: %w", subject, err)
			}
			s.direct = append(s.direct, sub)
		}
	}
	// NATS routes requests here once the server has processed the
	// subscriptions: when it answers the flush's ping.
	fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := nc.FlushWithContext(fctx); err != nil {
		s.stopServices()
		return fmt.Errorf("natstransport: subscribing: %w", err)
	}
	return nil
}

// serviceOf returns the service of a command: its name up to the first
// dot ("inventory" for "inventory.Reserve").
func serviceOf(command string) string {
	svc, _, _ := strings.Cut(command, ".")
	return sanitize(svc)
}

// endpointName returns the name of a command's endpoint in its service,
// in the characters NATS allows in it: "Reserve" for
// "inventory.Reserve", "invoices_Create" for "billing.invoices.Create".
func endpointName(command string) string {
	_, op, _ := strings.Cut(command, ".")
	return sanitize(op)
}

// sanitize replaces what NATS's service API does not allow in names (it
// allows A-Z, a-z, 0-9, - and _) with _.
func sanitize(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "_"
	}
	return string(b)
}

// dispatch serves r on a goroutine of its own (a subscription delivers
// its messages one at a time), or, when max_concurrent requests are in
// flight already, answers it overloaded at once.
func (s *Server) dispatch(cmd *transport.Command, r micro.Request) {
	s.dispatched.Add(1)
	select {
	case s.sem <- struct{}{}:
	default:
		s.serve(cmd, r, false)
		return
	}
	s.inflight.Add(1)
	go func() {
		defer func() { <-s.sem; s.inflight.Done() }()
		s.serve(cmd, r, true)
	}()
}

func (s *Server) serve(cmd *transport.Command, r micro.Request, admitted bool) {
	md := metadataOf(r.Headers())
	id, echo := transport.RequestIDOf(md)
	x := &exchange{s: s, cmd: cmd, r: r, md: md, id: id, admitted: admitted}
	if echo {
		// The answer carries the caller's own id: its header value as is.
		x.idValue = md[transport.HeaderRequestID][:1:1]
	}
	if !s.health.timed() {
		s.health.record(cmd.Serve(s.reqs, id, x), 0)
		return
	}
	began := time.Now() // only for the latency limit: a clock read costs
	err := cmd.Serve(s.reqs, id, x)
	s.health.record(err, time.Since(began))
}

// metadataOf returns the metadata of a request's headers: the headers
// themselves when each key is in canonical form already, as WeGO and most
// clients send them, and otherwise [transport.MDFrom]'s canonical copy.
// (NATS's headers are case-sensitive; WeGO's metadata is not.)
func metadataOf(h micro.Headers) transport.MD {
	for k := range h {
		if textproto.CanonicalMIMEHeaderKey(k) != k {
			return transport.MDFrom(h)
		}
	}
	return transport.MD(h)
}

// Stop stops the services — NATS stops sending them requests — and waits
// until the requests they hold are answered, until ctx is done; then the
// requests still running are canceled and Stop returns ctx's error. The
// engine's connection stays open: the application closes it after its
// transports.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		return nil
	}
	s.started = false
	s.cancel() // the health monitor; requests run on
	s.mu.Unlock()
	<-s.monitorDone
	s.mu.Lock()
	s.stopServices()
	// A stopped service's subscriptions drain: they still deliver what
	// they hold. Wait until nothing was dispatched for a moment and
	// nothing runs.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			n := s.dispatched.Load()
			s.inflight.Wait()
			time.Sleep(quiet)
			if s.dispatched.Load() == n && len(s.sem) == 0 || ctx.Err() != nil {
				return
			}
		}
	}()
	select {
	case <-done:
		s.log.Info("nats: stopped")
		return nil
	case <-ctx.Done():
		s.cancelRequests()
		<-done
		return fmt.Errorf("natstransport: requests still running at the end of the shutdown: %w", ctx.Err())
	}
}

// quiet is how long a stopping server waits for its drained subscriptions
// to deliver nothing more.
const quiet = 50 * time.Millisecond

func (s *Server) stopServices() {
	for _, sub := range s.direct {
		if err := sub.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
			s.log.Warn("nats: stopping a per-instance subject", zap.String("subject", sub.Subject), zap.Error(err))
		}
	}
	s.direct = nil
	for _, svc := range s.svcs {
		if err := svc.Stop(); err != nil {
			s.log.Warn("nats: stopping a service", zap.String("service", svc.Info().Name), zap.Error(err))
		}
	}
	s.svcs = nil
}

// InstancePrefix is the first token of the subjects that reach one
// server instance rather than its queue group: the server serves each
// command also on "_INST.<instance id>.<command>", for callers that pick
// the replica themselves (balancing on the caller's side).
const InstancePrefix = "_INST"

// InstanceSubject returns the subject on which the server instance id
// serves command.
func InstanceSubject(id, command string) string { return InstancePrefix + "." + id + "." + command }

// InstanceID returns the id of the running server, which its per-instance
// subjects carry ([InstanceSubject]); "" before Start. It is new at each
// Start.
func (s *Server) InstanceID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.id
}

// Endpoints returns where the server is reached, for a registry of
// services: "nats" gives its instance id.
func (s *Server) Endpoints() map[string]string {
	if id := s.InstanceID(); id != "" {
		return map[string]string{"nats": id}
	}
	return nil
}

// exchange is one request of a command as the serving core sees it.
type exchange struct {
	s        *Server
	cmd      *transport.Command
	r        micro.Request
	md       transport.MD
	id       log.RequestID
	idValue  []string // the X-Request-Id of the answer, when it is the request's
	admitted bool
}

var _ transport.Exchange = (*exchange)(nil)

// Metadata returns the request's headers, in canonical form.
func (x *exchange) Metadata() transport.Metadata { return x.md }

// Admit refuses a request that came when max_concurrent were in flight.
// The refusal is logged once a second at most, with the count since.
func (x *exchange) Admit() error {
	if !x.admitted {
		x.s.refused.Add(1)
		now, last := time.Now().UnixNano(), x.s.lastRefusal.Load()
		if now-last >= int64(time.Second) && x.s.lastRefusal.CompareAndSwap(last, now) {
			x.s.log.Warn("nats: requests refused over max_concurrent",
				zap.Int64("refused", x.s.refused.Swap(0)), zap.Int("max_concurrent", x.s.cfg.MaxConcurrent))
		}
		return transport.ErrOverloaded.New()
	}
	return nil
}

// jsonDefault is the content type of a request that names none: NATS
// clients such as the nats CLI send no headers.
var jsonDefault = []string{transport.ContentTypeJSON}

// Decode decodes the payload within max_body_bytes.
func (x *exchange) Decode(req any) error {
	body := x.r.Data()
	if int64(len(body)) > x.s.cfg.MaxBodyBytes {
		return transport.ErrBodyTooLarge.New(errs.P("limit", x.s.cfg.MaxBodyBytes))
	}
	ct := x.md.Values(transport.HeaderContentType)
	if len(ct) == 0 {
		ct = jsonDefault
	}
	return x.cmd.DecodeBody(ct, body, req)
}

// Gone is false: NATS does not tell a responder that its requester gave
// up.
func (x *exchange) Gone() bool { return false }

func (x *exchange) headers() micro.Headers {
	id := x.idValue
	if id == nil {
		id = []string{x.id.String()}
	}
	return micro.Headers{
		transport.HeaderRequestID:   id,
		transport.HeaderContentType: jsonDefault,
	}
}

// Reply answers with the response.
func (x *exchange) Reply(body []byte) {
	if err := x.r.Respond(body, micro.WithHeaders(x.headers())); err != nil {
		x.s.log.Debug("nats: answering a request", zap.String("command", x.cmd.Spec().Name), zap.Error(err))
	}
}

// Fail answers with NATS's service-error headers — Nats-Service-Error
// the error's code, Nats-Service-Error-Code its status in HTTP's terms —
// and the WeGO error body.
func (x *exchange) Fail(e *errs.Error, body []byte) {
	if err := x.r.Error(strconv.Itoa(e.Status()), e.Code(), body, micro.WithHeaders(x.headers())); err != nil {
		x.s.log.Debug("nats: answering a request", zap.String("command", x.cmd.Spec().Name), zap.Error(err))
	}
}

var _ catalog.Route = (*Route)(nil)

// dispatchMsg serves a request that came on a per-instance subject.
func (s *Server) dispatchMsg(cmd *transport.Command, m *nats.Msg) { s.dispatch(cmd, msgRequest{m}) }

// msgRequest is a request on a per-instance subject, which is a plain
// subscription: it answers as NATS's service API does, service-error
// headers included.
type msgRequest struct{ m *nats.Msg }

var _ micro.Request = msgRequest{}

// Respond answers with data and the headers of opts.
func (r msgRequest) Respond(data []byte, opts ...micro.RespondOpt) error {
	resp := &nats.Msg{Data: data, Header: nats.Header{}}
	for _, o := range opts {
		o(resp)
	}
	return r.m.RespondMsg(resp)
}

// RespondJSON answers with v in JSON.
func (r msgRequest) RespondJSON(v any, opts ...micro.RespondOpt) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return r.Respond(data, opts...)
}

// Error answers with the service-error headers, data and opts's headers.
func (r msgRequest) Error(code, description string, data []byte, opts ...micro.RespondOpt) error {
	resp := &nats.Msg{Data: data, Header: nats.Header{micro.ErrorHeader: {description}, micro.ErrorCodeHeader: {code}}}
	for _, o := range opts {
		o(resp)
	}
	return r.m.RespondMsg(resp)
}

// Data returns the request's payload.
func (r msgRequest) Data() []byte { return r.m.Data }

// Headers returns the request's headers.
func (r msgRequest) Headers() micro.Headers { return micro.Headers(r.m.Header) }

// Subject returns the subject the request came on.
func (r msgRequest) Subject() string { return r.m.Subject }

// Reply returns the subject the answer goes to.
func (r msgRequest) Reply() string { return r.m.Reply }
