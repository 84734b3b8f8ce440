package natstransport

import (
	"context"
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
	"github.com/wegomesh/wego/middleware"
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
	// ClockSkew is how far behind the server's clock the callers' clocks
	// may be: a request whose absolute deadline ([HeaderDeadline]) passed
	// more than ClockSkew before a worker takes it is answered
	// deadline_exceeded and never runs. Default 250ms; 0 turns the check
	// off, and the relative X-Wego-Timeout alone bounds each command.
	ClockSkew time.Duration `mapstructure:"clock_skew"`
	// Version is the version that the services announce in $SRV.INFO, in
	// SemVer form. Default "0.0.0".
	Version string `mapstructure:"version"`
	// Health decides when the server leaves its queue groups.
	Health HealthConfig `mapstructure:"health"`

	ready func() bool // the Ready option's
}

// DefaultServerConfig returns the defaults of [ServerConfig].
func DefaultServerConfig() ServerConfig {
	return ServerConfig{MaxBodyBytes: 1 << 20, MaxConcurrent: 1024, ClockSkew: DefaultClockSkew, Version: "0.0.0",
		Health: DefaultHealthConfig()}
}

// DefaultClockSkew is the default of [ServerConfig.ClockSkew]: well
// above what NTP leaves between the clocks of a data center's machines (a
// few milliseconds), so that a live request is never refused because of
// it, and well below the seconds a request waits for a frozen or
// reconnecting replica, so that those are refused.
const DefaultClockSkew = 250 * time.Millisecond

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
	case c.ClockSkew < 0:
		return config.Errorf("clock_skew", "must not be negative, got %s", c.ClockSkew)
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

// ClockSkew sets [ServerConfig.ClockSkew].
func ClockSkew(d time.Duration) ServerOption { return func(c *ServerConfig) { c.ClockSkew = d } }

// Version sets [ServerConfig.Version].
func Version(v string) ServerOption { return func(c *ServerConfig) { c.Version = v } }

// Server serves a catalog's commands over NATS: each command on the
// subject of its name ("inventory.Reserve"), in the queue group of its
// service ("inventory"), so that every replica of a service shares its
// load with no configuration. It serves through NATS's service API
// (nats.go/micro): each service answers $SRV.PING, $SRV.INFO and
// $SRV.STATS, so that the nats CLI and any NATS client can find and call
// WeGO commands. Requests run through the server chain exactly as over
// HTTP ([transport.Core]). Topics and subscribers of package events are
// not commands: a Server neither serves nor lists them.
//
// A Server uses the application's engine ([transport.Host.Engine]), which
// must be an *engine.Engine.
type Server struct {
	opts []ServerOption

	mu      sync.Mutex
	started bool
	svcs    []micro.Service
	direct  []*nats.Subscription // the per-instance subjects
	id      string               // this server's instance id
	core    *transport.Core
	cfg     ServerConfig
	eng     *engine.Engine
	app     string
	order   []string                        // the services, in the catalog's order
	groups  map[string][]*transport.Command // the commands of each service
	health  *health
	left    bool     // the services left their queue groups (unhealthy)
	pool    *workers // serve the requests
	nc      *nats.Conn
	// monitorDone is closed when the health monitor has returned.
	monitorDone chan struct{}
	dispatched  atomic.Int64 // requests dispatched so far, for Stop to see when they end
	// The requests refused over max_concurrent, and past their deadline.
	overloaded, expired refusals
	base                context.Context // ends when the server stops
	cancel              context.CancelFunc
	reqs                context.Context // of the requests: ends when a stop runs out of time
	cancelRequests      context.CancelFunc
	log                 *zap.Logger
	// pickup, in tests, runs as a worker takes a request (before its
	// deadline is checked): a worker that froze.
	pickup func()
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
	s.nc = eng.Conn()
	s.pool = newWorkers(cfg.MaxConcurrent, workerIdle, s.initWorker, s.work)
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
		if e.Spec().Kind == middleware.Event {
			continue // a topic or a subscriber of package events: not served
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
		s.pool.close()
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
	nc, p := s.eng.Conn(), s.pool
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
			err := svc.AddEndpoint(endpointName(subject), micro.HandlerFunc(func(r micro.Request) { s.dispatch(p, cmd, r) }),
				micro.WithEndpointSubject(subject), micro.WithEndpointMetadata(map[string]string{"command": subject}))
			if err != nil {
				s.stopServices()
				return fmt.Errorf("natstransport: command %s: %w", subject, err)
			}
			sub, err := nc.Subscribe(InstanceSubject(s.id, subject), func(m *nats.Msg) { s.dispatchMsg(p, cmd, m) })
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

// dispatch hands a request of a service's endpoint to p's workers.
func (s *Server) dispatch(p *workers, cmd *transport.Command, r micro.Request) {
	s.hand(p, job{cmd: cmd, r: r})
}

// dispatchMsg hands a request that came on a per-instance subject to p's
// workers.
func (s *Server) dispatchMsg(p *workers, cmd *transport.Command, m *nats.Msg) {
	s.hand(p, job{cmd: cmd, m: m})
}

// hand gives j to the workers, which never makes the subscription wait
// (it delivers its messages one at a time), or, when max_concurrent
// requests are in flight already, answers it overloaded at once.
func (s *Server) hand(p *workers, j job) {
	s.dispatched.Add(1)
	if p.dispatch(j) {
		return
	}
	x := &exchange{}
	s.initExchange(x)
	s.serve(x, j, false)
}

// initWorker prepares a new worker's scratch space.
func (s *Server) initWorker(w *worker) { s.initExchange(&w.x) }

// work serves j on worker w.
func (s *Server) work(w *worker, j job) {
	if s.pickup != nil {
		s.pickup()
	}
	s.serve(&w.x, j, true)
}

// serve serves j through x; admitted is false for a request over
// max_concurrent, which x refuses.
func (s *Server) serve(x *exchange, j job, admitted bool) {
	x.start(j, admitted)
	defer x.end()
	if !s.health.timed() {
		s.health.record(j.cmd.Serve(s.reqs, x.id, x), 0)
		return
	}
	began := time.Now() // only for the latency limit: a clock read costs
	err := j.cmd.Serve(s.reqs, x.id, x)
	s.health.record(err, time.Since(began))
}

// metadataOf returns the metadata of a request's headers: the headers
// themselves when each key is in canonical form already, as WeGO and most
// clients send them, and otherwise [transport.MDFrom]'s canonical copy.
// (NATS's headers are case-sensitive; WeGO's metadata is not.)
func metadataOf(h map[string][]string) transport.MD {
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
			time.Sleep(quiet)
			if s.dispatched.Load() == n && s.pool.busy() == 0 || ctx.Err() != nil {
				return
			}
		}
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		s.cancelRequests()
		<-done
		err = fmt.Errorf("natstransport: requests still running at the end of the shutdown: %w", ctx.Err())
	}
	// The workers exit, once the requests that were canceled return.
	s.pool.close()
	if err != nil {
		return err
	}
	s.log.Info("nats: stopped")
	return nil
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

// exchange is one request of a command as the serving core sees it, and
// the scratch space of its answer, which a worker reuses from request to
// request: NATS encodes a message's headers when it publishes it, so the
// maps and value slices are free again once the answer is sent.
type exchange struct {
	s        *Server
	j        job
	md       transport.MD
	id       log.RequestID
	echo     bool // the answer's X-Request-Id is the request's own
	admitted bool

	out    nats.Msg
	ok     nats.Header // an answer's headers: X-Request-Id, Content-Type
	failed nats.Header // and NATS's service-error headers
	idv    [1]string   // the X-Request-Id of the answer
	code   [1]string   // Nats-Service-Error
	status [1]string   // Nats-Service-Error-Code
}

var _ transport.Exchange = (*exchange)(nil)

// initExchange prepares x's answers.
func (s *Server) initExchange(x *exchange) {
	x.s = s
	x.ok = nats.Header{transport.HeaderRequestID: x.idv[:], transport.HeaderContentType: jsonDefault}
	x.failed = nats.Header{transport.HeaderRequestID: x.idv[:], transport.HeaderContentType: jsonDefault,
		micro.ErrorHeader: x.code[:], micro.ErrorCodeHeader: x.status[:]}
}

// start makes x the exchange of j.
func (x *exchange) start(j job, admitted bool) {
	x.j, x.admitted = j, admitted
	if j.r != nil {
		x.md = metadataOf(j.r.Headers())
	} else {
		x.md = metadataOf(j.m.Header)
	}
	x.id, x.echo = transport.RequestIDOf(x.md)
}

// end drops what x holds of its request.
func (x *exchange) end() {
	x.j, x.md = job{}, nil
	x.idv[0], x.code[0], x.status[0] = "", "", ""
}

// Metadata returns the request's headers, in canonical form.
func (x *exchange) Metadata() transport.Metadata { return x.md }

// Admit refuses a request that came when max_concurrent were in flight,
// and one whose absolute deadline ([HeaderDeadline]) passed more than
// clock_skew ago: its caller has given up, and it gets
// deadline_exceeded without running. Either refusal is logged once a
// second at most, with the count since.
func (x *exchange) Admit() error {
	s := x.s
	if !x.admitted {
		s.overloaded.note(s.log, "nats: requests refused over max_concurrent", zap.Int("max_concurrent", s.cfg.MaxConcurrent))
		return transport.ErrOverloaded.New()
	}
	if s.cfg.ClockSkew <= 0 {
		return nil
	}
	v := x.md[HeaderDeadline]
	if len(v) == 0 {
		return nil
	}
	dl, err := strconv.ParseInt(v[0], 10, 64)
	if err != nil {
		return nil // the relative timeout still bounds the command
	}
	if late := time.Now().UnixMilli() - dl; late > s.cfg.ClockSkew.Milliseconds() {
		s.expired.note(s.log, "nats: requests refused past their deadline", zap.Duration("clock_skew", s.cfg.ClockSkew))
		return errs.DeadlineExceeded().WithCause(fmt.Errorf("natstransport: the request's deadline passed %dms before a worker took it", late))
	}
	return nil
}

// refusals counts requests refused for one reason, and logs their count
// once a second at most.
type refusals struct {
	n, last atomic.Int64 // refusals since last (UnixNano), when the last line was logged
}

// note counts a refusal, and logs msg with the count since the last line
// when a second has passed since.
func (r *refusals) note(l *zap.Logger, msg string, field zap.Field) {
	r.n.Add(1)
	now, last := time.Now().UnixNano(), r.last.Load()
	if now-last >= int64(time.Second) && r.last.CompareAndSwap(last, now) {
		l.Warn(msg, zap.Int64("refused", r.n.Swap(0)), field)
	}
}

// jsonDefault is the content type of a request that names none (NATS
// clients such as the nats CLI send no headers), and of every answer.
var jsonDefault = []string{transport.ContentTypeJSON}

// data returns the request's payload.
func (x *exchange) data() []byte {
	if x.j.r != nil {
		return x.j.r.Data()
	}
	return x.j.m.Data
}

// Decode decodes the payload within max_body_bytes.
func (x *exchange) Decode(req any) error {
	body := x.data()
	if int64(len(body)) > x.s.cfg.MaxBodyBytes {
		return transport.ErrBodyTooLarge.New(errs.P("limit", x.s.cfg.MaxBodyBytes))
	}
	ct := x.md.Values(transport.HeaderContentType)
	if len(ct) == 0 {
		ct = jsonDefault
	}
	return x.j.cmd.DecodeBody(ct, body, req)
}

// Gone is false: NATS does not tell a responder that its requester gave
// up.
func (x *exchange) Gone() bool { return false }

// Reply answers with the response.
func (x *exchange) Reply(body []byte) { x.respond(x.ok, body) }

// Fail answers with NATS's service-error headers — Nats-Service-Error
// the error's code, Nats-Service-Error-Code its status in HTTP's terms —
// and the WeGO error body, as NATS's service API answers an error.
func (x *exchange) Fail(e *errs.Error, body []byte) {
	x.code[0], x.status[0] = e.Code(), strconv.Itoa(e.Status())
	x.respond(x.failed, body)
}

// respond publishes the answer, with the headers h, to the request's
// reply subject, on the server's connection — the one its subscriptions
// use, so the answer follows the same path NATS's service API takes.
func (x *exchange) respond(h nats.Header, body []byte) {
	var to string
	if x.j.r != nil {
		to = x.j.r.Reply()
	} else {
		to = x.j.m.Reply
	}
	if to == "" {
		return // a message published without a reply subject: no one waits
	}
	if x.echo {
		x.idv[0] = x.md[transport.HeaderRequestID][0] // the caller's own id, as is
	} else {
		x.idv[0] = x.id.String()
	}
	x.out = nats.Msg{Subject: to, Header: h, Data: body}
	err := x.s.nc.PublishMsg(&x.out)
	x.out = nats.Msg{}
	if err != nil {
		x.s.log.Debug("nats: answering a request", zap.String("command", x.j.cmd.Spec().Name), zap.Error(err))
	}
}

var _ catalog.Route = (*Route)(nil)
