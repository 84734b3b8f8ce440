package httptransport

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/codec"
	"github.com/wegomesh/wego/config"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/middleware"
	"github.com/wegomesh/wego/middleware/retry"
	"github.com/wegomesh/wego/registry"
	"github.com/wegomesh/wego/transport"
	"github.com/wegomesh/wego/transport/balance"
)

// Client sends commands to WeGO HTTP servers: it holds one pool of
// keep-alive connections that every route it makes shares. It is safe for
// concurrent use; make one per process or application (the routes that
// an application builds from its configuration share one, which it closes
// when it stops) rather than one per call.
type Client struct {
	hc      *http.Client
	maxResp int64
	balance balance.Config
}

type clientSettings struct {
	ClientConfig
	tls *tls.Config
	rt  http.RoundTripper
}

// ClientOption configures a [Client]. Options override the "http_client"
// configuration section.
type ClientOption interface{ applyClient(*clientSettings) }

type clientOption func(*clientSettings)

func (f clientOption) applyClient(s *clientSettings) { f(s) }

// WithClientConfig replaces the whole configuration, for example with one
// read from the "http_client" section. Default: [DefaultClientConfig].
func WithClientConfig(c ClientConfig) ClientOption {
	return clientOption(func(s *clientSettings) { s.ClientConfig = c })
}

// DialTimeout bounds opening a connection. Default 5s.
func DialTimeout(d time.Duration) ClientOption {
	return clientOption(func(s *clientSettings) { s.DialTimeout = d })
}

// ResponseHeaderTimeout bounds the wait for a response once the request
// is sent. Default 60s.
func ResponseHeaderTimeout(d time.Duration) ClientOption {
	return clientOption(func(s *clientSettings) { s.ResponseHeaderTimeout = d })
}

// MaxIdleConnsPerHost sets how many idle keep-alive connections are kept
// per server. Default 256.
func MaxIdleConnsPerHost(n int) ClientOption {
	return clientOption(func(s *clientSettings) { s.MaxIdleConnsPerHost = n })
}

// MaxResponseBytes bounds response bodies; a larger one fails the call
// with [ErrResponseTooLarge]. Default 4 MiB.
func MaxResponseBytes(n int64) ClientOption {
	return clientOption(func(s *clientSettings) { s.MaxResponseBytes = n })
}

// ClientTLS sets the TLS configuration for https targets (root CAs, client
// certificates). Default: the system's roots.
func ClientTLS(cfg *tls.Config) ClientOption {
	return clientOption(func(s *clientSettings) { s.tls = cfg })
}

// Balance sets how the client's routes choose among their nodes and eject
// failing ones (see [ClientConfig.Balance]). Default: the section's
// balance, [balance.DefaultConfig].
func Balance(cfg balance.Config) ClientOption {
	return clientOption(func(s *clientSettings) { s.Balance = cfg })
}

// RoundTripper makes the client send requests with rt instead of its own
// tuned http.Transport, for instrumentation or tests; the timeouts, pool
// sizes and TLS options then have no effect. Default: none.
func RoundTripper(rt http.RoundTripper) ClientOption {
	return clientOption(func(s *clientSettings) { s.rt = rt })
}

// NewClient returns a client configured by opts over
// [DefaultClientConfig]. It panics on a configuration that cannot work (a
// negative timeout or size), naming the key; use [NewClientFromConfig] to
// get an error instead.
func NewClient(opts ...ClientOption) *Client {
	c, err := newClient(DefaultClientConfig(), opts)
	if err != nil {
		panic(err)
	}
	return c
}

// NewClientFromConfig returns a client configured by the "http_client"
// section of c (when not nil) over [DefaultClientConfig], then opts. It
// fails, naming the key, on a wrong value.
func NewClientFromConfig(c *config.Config, opts ...ClientOption) (*Client, error) {
	cfg := DefaultClientConfig()
	if c != nil {
		var err error
		if cfg, err = config.GetWithDefaults(c, "http_client", cfg); err != nil {
			return nil, err
		}
	}
	return newClient(cfg, opts)
}

func newClient(cfg ClientConfig, opts []ClientOption) (*Client, error) {
	s := &clientSettings{ClientConfig: cfg}
	for _, o := range opts {
		if o != nil {
			o.applyClient(s)
		}
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("httptransport: client: %w", config.Under("http_client", err))
	}
	if s.tls == nil {
		cfg, err := s.TLS.Config()
		if err != nil {
			return nil, fmt.Errorf("httptransport: client: %w", config.Under("http_client.tls", err))
		}
		s.tls = cfg
	}
	rt := s.rt
	if rt == nil {
		rt = &http.Transport{
			DialContext:           (&net.Dialer{Timeout: s.DialTimeout, KeepAlive: 30 * time.Second}).DialContext,
			ForceAttemptHTTP2:     true,
			TLSClientConfig:       s.tls,
			TLSHandshakeTimeout:   s.TLSHandshakeTimeout,
			ResponseHeaderTimeout: s.ResponseHeaderTimeout,
			IdleConnTimeout:       s.IdleConnTimeout,
			MaxIdleConns:          0, // no global limit; per host below
			MaxIdleConnsPerHost:   s.MaxIdleConnsPerHost,
			MaxConnsPerHost:       s.MaxConnsPerHost,
			ExpectContinueTimeout: time.Second,
		}
	}
	return &Client{
		hc: &http.Client{
			Transport: rt,
			// A redirect would change a command's method or target behind
			// the caller's back: it is an error.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		maxResp: s.MaxResponseBytes,
		balance: s.Balance,
	}, nil
}

// CloseIdleConnections closes the client's idle keep-alive connections.
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }

// Route returns a remote route that sends calls to WeGO HTTP servers at
// baseURLs ("http://inventory:8080", or with a path prefix
// "https://gw.example.com/inventory"), one host each. The route's Bind
// fails, naming the command, when there is no base URL, when one is not an
// absolute http or https URL or names the host of another, when the
// command opted out with [NoHTTP], or when its request cannot be bound to
// its route.
//
// With several base URLs, the client's balancing configuration
// ([ClientConfig.Balance], section http_client.balance) chooses the node of
// each call — by default the one with fewer calls in flight of two drawn
// at random — and ejects a node after consecutive server faults for a
// growing backoff (see package balance). A call of an idempotent command
// (one that middleware/retry would retry: the [retry.Idempotent]
// attribute, or for the routes of an application's configuration its
// section middleware.retry) that cannot reach its node ([ErrUnavailable])
// is sent once more, to another node, unless the caller's context has
// ended. The route is a
// [RouteUpdater]: discovery can replace its base URLs while it serves
// calls.
//
// Each call encodes the request as the server expects it: path wildcards
// from path-tagged fields (escaped), query parameters and headers from
// query- and header-tagged fields (zero values are not sent, except
// through non-nil pointers), and the whole request value as the JSON body
// (keep a bound field out of the body with json:"-"). Requests of GET and
// DELETE routes have no body.
func (c *Client) Route(baseURLs ...string) catalog.Route {
	r := c.route()
	if len(baseURLs) == 0 {
		r.err = errors.New("no base URL")
	} else if err := r.Update(baseURLs); err != nil {
		r.err = err
	}
	return r
}

// route returns a route with no node, balanced as the client's
// configuration says.
func (c *Client) route() *remoteRoute {
	p, err := balance.New(c.balance)
	if err != nil { // the client's configuration was validated
		panic(err)
	}
	r := &remoteRoute{c: c, picker: p, timed: p.Policy() == balance.P2CEWMA, retry: retry.DefaultConfig()}
	r.set.Store(&nodeSet{})
	return r
}

// RouteUpdater is a route whose nodes can be replaced while it serves
// calls, as the routes of [Client.Route] can: discovery calls Update with
// the base URLs of the nodes it knows. Nodes that stay keep their state
// (calls in flight, latency, ejection); calls to a node that leaves
// finish. With no base URL, calls fail with [ErrUnavailable] until
// nodes come back. Update fails, changing nothing, when a URL is not an
// absolute http or https URL without query or names the host of another.
type RouteUpdater interface {
	catalog.Balancer
	Update(baseURLs []string) error
}

var (
	_ catalog.Balancer = (*remoteRoute)(nil)
	_ RouteUpdater     = (*remoteRoute)(nil)
)

// base is one node of a route.
type base struct {
	prefix string // scheme://host/path, without a final slash
	host   string // the node's id, for Call.Node
	node   *balance.Node
}

// nodeSet is an immutable snapshot of a route's nodes; Update replaces it.
type nodeSet struct {
	bases  []base
	byHost map[string]int
}

type remoteRoute struct {
	c      *Client
	props  []transport.Propagator // host.Propagators
	picker *balance.Picker
	timed  bool         // the picker weighs latencies
	retry  retry.Config // which commands are idempotent
	err    error

	mu   sync.Mutex // serializes Update
	set  atomic.Pointer[nodeSet]
	disc *discovery // nodes from a registry (discover://), or nil
}

// discovery keeps a route's nodes those of its service in a registry.
type discovery struct {
	reg     registry.Registry
	service string
	seen    atomic.Pointer[registry.Node] // the first node of the set the route has
	seenN   atomic.Int64                  // and its length; -1 before the first
}

// sync gives r the nodes of the service when the registry's set changed
// since the last call: the http endpoints of its nodes. Lookup reads the
// registry's local copy, without I/O or allocation.
func (d *discovery) sync(r *remoteRoute) {
	nodes, err := d.reg.Lookup(d.service)
	if err != nil {
		return
	}
	var first *registry.Node
	if len(nodes) > 0 {
		first = &nodes[0]
	}
	if first == d.seen.Load() && int64(len(nodes)) == d.seenN.Load() {
		return
	}
	// Two calls that see the change at once both update the route, to
	// the same nodes: Update serializes them.
	urls := make([]string, 0, len(nodes))
	hosts := make(map[string]bool, len(nodes))
	for i := range nodes {
		// A node without an http endpoint, or with one that is no base
		// URL or names the host of another, is left out.
		if u, err := parseBase(nodes[i].Endpoints["http"]); err == nil && !hosts[u.Host] {
			hosts[u.Host] = true
			urls = append(urls, nodes[i].Endpoints["http"])
		}
	}
	_ = r.Update(urls) // cannot fail: every URL is checked
	d.seen.Store(first)
	d.seenN.Store(int64(len(nodes)))
}

// Update replaces the route's base URLs (see [RouteUpdater]).
func (r *remoteRoute) Update(baseURLs []string) error {
	set := &nodeSet{bases: make([]base, 0, len(baseURLs)), byHost: make(map[string]int, len(baseURLs))}
	hosts := make([]string, 0, len(baseURLs))
	for _, s := range baseURLs {
		u, err := parseBase(s)
		if err != nil {
			return err
		}
		if i, dup := set.byHost[u.Host]; dup {
			return fmt.Errorf("base URLs %q and %q name the same host", set.bases[i].prefix, s)
		}
		set.byHost[u.Host] = len(set.bases)
		set.bases = append(set.bases, base{prefix: u.Scheme + "://" + u.Host + strings.TrimSuffix(u.EscapedPath(), "/"), host: u.Host})
		hosts = append(hosts, u.Host)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.picker.Update(hosts)
	for i := range set.bases {
		set.bases[i].node = r.picker.Lookup(set.bases[i].host)
	}
	r.set.Store(set)
	return nil
}

// parseBase parses a base URL: an absolute http or https URL without
// query, fragment or user.
func parseBase(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("base URL %q is not an absolute http or https URL without query", s)
	}
	return u, nil
}

// Pick chooses the node of the next call (see package balance); the
// catalog calls it before the client chain so that client middleware (a
// breaker per node, monitoring) see Call.Node. It makes remoteRoute a
// [catalog.Balancer].
func (r *remoteRoute) Pick() string {
	if r.disc != nil {
		r.disc.sync(r)
	}
	if n := r.picker.Pick(); n != nil {
		return n.ID()
	}
	return ""
}

// lookup returns the current nodes and the index of node in them, as Pick
// chose it, or of another node that the picker chooses when the call has
// no node or one that left; -1 when the route has no node.
func (r *remoteRoute) lookup(node string) (*nodeSet, int) {
	set := r.set.Load()
	if i, ok := set.byHost[node]; ok {
		return set, i
	}
	if n := r.picker.Pick(); n != nil {
		if i, ok := set.byHost[n.ID()]; ok {
			return set, i
		}
	}
	if len(set.bases) == 0 {
		return set, -1
	}
	return set, 0 // the picker's nodes and the route's are being updated
}

// failover reports whether a call of the command that cannot reach its
// node goes to another one: when middleware/retry would retry the command
// (its [retry.Idempotent] attribute, or the section middleware.retry of
// the application's configuration).
func (r *remoteRoute) failover(spec *middleware.Spec) bool {
	_, ok := r.retry.For(spec)
	return ok
}

// Bind prepares the calls of one command: method, path template, encoders.
func (r *remoteRoute) Bind(spec *middleware.Spec) (middleware.Handler, error) {
	if r.err != nil {
		return nil, fmt.Errorf("httptransport: route for %s: %w", spec.Name, r.err)
	}
	rt, ok := EndpointOf(spec)
	if !ok {
		return nil, fmt.Errorf("httptransport: command %s is not served over HTTP (NoHTTP)", spec.Name)
	}
	sh, _, err := checkRoute(spec, rt)
	if err != nil {
		return nil, err
	}
	b := &binding{route: r, c: r.c, method: rt.Method, hasBody: !bodyless(rt.Method) && len(sh.body) > 0,
		failover: r.failover(spec)}
	if b.hasBody && spec.Request != nil {
		b.enc = codec.PlanOf(spec.Request)
	}
	b.parts = pathParts(rt.Path, sh)
	for i := range sh.params {
		switch sh.params[i].in {
		case inQuery:
			b.query = append(b.query, sh.params[i])
		case inHeader:
			b.header = append(b.header, sh.params[i])
		}
	}
	if len(b.parts) == 1 && b.parts[0].param == nil && len(b.query) == 0 {
		b.fixedPath = true
		b.fixedURLs(r.set.Load())
	}
	return b.call, nil
}

// pathPart is a literal piece of a path or a wildcard's field.
type pathPart struct {
	lit   string
	param *param
	rest  bool // {name...}: several segments
}

func pathParts(pattern string, sh *shape) []pathPart {
	pattern = strings.ReplaceAll(pattern, "{$}", "")
	var parts []pathPart
	for {
		i := strings.IndexByte(pattern, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(pattern[i:], '}')
		if j < 0 {
			break
		}
		name := pattern[i+1 : i+j]
		rest := strings.HasSuffix(name, "...")
		name = strings.TrimSuffix(name, "...")
		parts = append(parts, pathPart{lit: pattern[:i]})
		for k := range sh.params {
			if p := &sh.params[k]; p.in == inPath && p.name == name {
				parts = append(parts, pathPart{param: p, rest: rest})
			}
		}
		pattern = pattern[i+j+1:]
	}
	parts = append(parts, pathPart{lit: pattern})
	// Merge literals and drop empty ones.
	out := parts[:0]
	for _, p := range parts {
		if p.param == nil && p.lit == "" {
			continue
		}
		if p.param == nil && len(out) > 0 && out[len(out)-1].param == nil {
			out[len(out)-1].lit += p.lit
			continue
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		out = append(out, pathPart{lit: "/"})
	}
	return out
}

// binding sends the calls of one command.
type binding struct {
	route     *remoteRoute
	c         *Client
	method    string
	hasBody   bool
	failover  bool // idempotent: a second attempt on another node
	parts     []pathPart
	fixedPath bool                      // the path has no wildcard and no query
	fixed     atomic.Pointer[fixedURLs] // then the whole URL of each node
	query     []param
	header    []param
	enc       *codec.Plan // the request body's one-pass encoder, or nil
}

// fixedURLs are the URLs of a fixed path on each node of a set.
type fixedURLs struct {
	set  *nodeSet
	urls []string
}

// fixedURLs returns the URLs of the binding's fixed path on the nodes of
// set, made once per set.
func (b *binding) fixedURLs(set *nodeSet) []string {
	if f := b.fixed.Load(); f != nil && f.set == set {
		return f.urls
	}
	f := &fixedURLs{set: set, urls: make([]string, len(set.bases))}
	for i, bs := range set.bases {
		f.urls[i] = bs.prefix + b.parts[0].lit
	}
	b.fixed.Store(f)
	return f.urls
}

var (
	acceptJSON  = []string{"application/json"}
	contentJSON = []string{"application/json"}
)

func (b *binding) call(ctx context.Context, c *middleware.Call) error {
	if err := ctx.Err(); err != nil {
		return transport.ContextError(err, err)
	}
	set, i := b.route.lookup(c.Node)
	if i < 0 {
		return ErrUnavailable.Wrap(fmt.Errorf("httptransport: route for %s: no node", c.Spec.Name))
	}
	c.Node = set.bases[i].host
	rv := reflect.ValueOf(c.Request)
	if rv.Kind() == reflect.Pointer {
		rv = rv.Elem()
	}
	var data []byte
	if b.hasBody {
		var err error
		if data, err = encodeRequest(c.Request, b.enc); err != nil {
			return errs.Internal().WithCause(fmt.Errorf("httptransport: encoding the request of %s: %w", c.Spec.Name, err))
		}
	}
	err := b.attempt(ctx, c, set, i, rv, data)
	if err == nil || !b.failover || ctx.Err() != nil || !errors.Is(err, ErrUnavailable) {
		return err
	}
	// The node could not be reached: an idempotent call tries another one.
	n := b.route.picker.PickExcept(set.bases[i].node)
	if n == nil {
		return err
	}
	j, ok := set.byHost[n.ID()]
	if !ok {
		return err
	}
	c.Node = set.bases[j].host
	return b.attempt(ctx, c, set, j, rv, data)
}

// attempt sends a call to the i-th node of set and reports its outcome to
// the route's picker.
func (b *binding) attempt(ctx context.Context, c *middleware.Call, set *nodeSet, i int, rv reflect.Value, data []byte) error {
	bs := &set.bases[i]
	var target string
	if b.fixedPath {
		target = b.fixedURLs(set)[i]
	} else {
		var err error
		if target, err = b.url(bs, rv); err != nil {
			return err
		}
	}
	p := b.route.picker
	p.Start(bs.node)
	var start time.Time
	if b.route.timed {
		start = time.Now()
	}
	err := b.send(ctx, c, bs, target, data, rv)
	var latency time.Duration
	if b.route.timed {
		latency = time.Since(start)
	}
	p.Done(bs.node, err, latency)
	return err
}

// send sends a call to the node bs at target, with the body reqBody.
func (b *binding) send(ctx context.Context, c *middleware.Call, bs *base, target string, reqBody []byte, rv reflect.Value) error {
	var body io.Reader
	if b.hasBody {
		body = bytes.NewReader(reqBody)
	}
	req, err := http.NewRequestWithContext(ctx, b.method, target, body)
	if err != nil {
		return errs.Internal().WithCause(fmt.Errorf("httptransport: request for %s: %w", c.Spec.Name, err))
	}
	h := req.Header
	if err := transport.Outgoing(ctx, transport.MD(h), b.route.props); err != nil {
		return err
	}
	h["Accept"] = acceptJSON
	if b.hasBody {
		h["Content-Type"] = contentJSON
	}
	for i := range b.header {
		p := &b.header[i]
		f := rv.FieldByIndex(p.index)
		if p.multi {
			for j := 0; j < f.Len(); j++ {
				h[p.name] = append(h[p.name], p.conv.format(f.Index(j)))
			}
		} else if s, ok := p.conv.get(f); ok {
			h[p.name] = []string{s}
		}
	}

	resp, err := b.c.hc.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return transport.ContextError(ctxErr, err)
		}
		return ErrUnavailable.Wrap(fmt.Errorf("httptransport: %s %s: %w", b.method, redact(target), err))
	}
	defer resp.Body.Close()
	buf := respBufs.Get().(*[]byte)
	defer putRespBuf(buf)
	data, err := readCapped(resp.Body, (*buf)[:0], b.c.maxResp)
	*buf = data
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return transport.ContextError(ctxErr, err)
		}
		if errors.Is(err, errTooLarge) {
			return ErrResponseTooLarge.Wrap(fmt.Errorf("httptransport: %s %s: response over %d bytes", b.method, redact(target), b.c.maxResp))
		}
		return ErrUnavailable.Wrap(fmt.Errorf("httptransport: %s %s: reading the response: %w", b.method, redact(target), err))
	}
	if resp.StatusCode >= 300 {
		e := decodeError(resp.StatusCode, data)
		return e.WithCause(&RemoteError{Node: bs.host, Status: resp.StatusCode, RequestID: resp.Header.Get(HeaderRequestID), Code: e.Code()})
	}
	if len(data) == 0 || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(data, c.Response); err != nil {
		return ErrBadResponse.Wrap(fmt.Errorf("httptransport: %s %s: decoding the response: %w", b.method, redact(target), err))
	}
	return nil
}

// RemoteError is the cause of the errors a remote route returns for an
// error response: where it came from, for logs. Clients never see it.
type RemoteError struct {
	Node      string // host:port of the server
	Status    int
	RequestID string // as the server echoed it
	Code      string
}

// Error describes the response.
func (e *RemoteError) Error() string {
	return fmt.Sprintf("httptransport: %s answered %d %s (request id %s)", e.Node, e.Status, e.Code, e.RequestID)
}

// redact drops the query of a URL for error texts (it may hold values).
func redact(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i]
	}
	return u
}

// url returns the URL of a call. A path wildcard must not be empty.
func (b *binding) url(bs *base, rv reflect.Value) (string, error) {
	var sb strings.Builder
	sb.Grow(len(bs.prefix) + 64)
	sb.WriteString(bs.prefix)
	for _, p := range b.parts {
		if p.param == nil {
			sb.WriteString(p.lit)
			continue
		}
		f, v := rv.FieldByIndex(p.param.index), ""
		switch {
		case !p.param.conv.ptr:
			v = p.param.conv.format(f)
		case !f.IsNil():
			v = p.param.conv.format(f.Elem())
		}
		if v == "" {
			return "", reasonPathEmpty.Invalid(p.param.name)
		}
		if p.rest {
			for i, seg := range strings.Split(v, "/") {
				if i > 0 {
					sb.WriteByte('/')
				}
				sb.WriteString(url.PathEscape(seg))
			}
		} else {
			sb.WriteString(url.PathEscape(v))
		}
	}
	sep := byte('?')
	for i := range b.query {
		p := &b.query[i]
		f := rv.FieldByIndex(p.index)
		if p.multi {
			for j := 0; j < f.Len(); j++ {
				writeQuery(&sb, &sep, p.name, p.conv.format(f.Index(j)))
			}
		} else if s, ok := p.conv.get(f); ok {
			writeQuery(&sb, &sep, p.name, s)
		}
	}
	return sb.String(), nil
}

func writeQuery(sb *strings.Builder, sep *byte, name, value string) {
	sb.WriteByte(*sep)
	*sep = '&'
	sb.WriteString(url.QueryEscape(name))
	sb.WriteByte('=')
	sb.WriteString(url.QueryEscape(value))
}

var respBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func putRespBuf(b *[]byte) {
	if cap(*b) > transport.MaxPooledBuffer {
		return
	}
	*b = (*b)[:0]
	respBufs.Put(b)
}

var errTooLarge = errors.New("too large")

// readCapped reads r to its end into buf, failing with errTooLarge once
// more than max bytes arrive.
func readCapped(r io.Reader, buf []byte, max int64) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		window := buf[len(buf):cap(buf)]
		if room := max + 1 - int64(len(buf)); int64(len(window)) > room {
			window = window[:room]
		}
		n, err := r.Read(window)
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > max {
			return buf[:0], errTooLarge
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// decodeError rebuilds the error of an error response
// ([transport.ErrorOf]): the same code, kind, status, parameters and
// field violations as the server's *errs.Error, so that errors.Is works
// with the code's definition. A response that is not a WeGO error body
// gives [ErrUnavailable] for 502, 503 and 504 (a proxy or load balancer
// speaking) and otherwise an error of the status's kind. It never panics
// and never returns nil.
func decodeError(status int, body []byte) *errs.Error {
	if status == 0 {
		return ErrBadResponse.New()
	}
	return transport.ErrorOf(status, body)
}

// Route factories for the "http" and "https" schemes: transport.NewRoute
// builds remote routes from configuration, with the client of the
// application (transport.Host.Clients).
func init() {
	transport.RegisterRouteFactory("http", newRoute)
	transport.RegisterRouteFactory("https", newRoute)
	transport.RegisterRouteFactory("discover", newDiscoverRoute)
}

// newDiscoverRoute builds the route of a "discover://service" target: an
// HTTP route whose nodes are the http endpoints of the service's nodes in
// the application's registry, kept current as nodes come and go.
func newDiscoverRoute(host transport.Host, targets []string) (catalog.Route, error) {
	if len(targets) != 1 {
		return nil, errors.New("httptransport: a discover:// route has one target, discover://<service>")
	}
	u, err := url.Parse(targets[0])
	if err != nil || u.Host == "" || u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.User != nil {
		return nil, fmt.Errorf("httptransport: route target %q is not discover://<service>", targets[0])
	}
	if host.Registry == nil {
		return nil, fmt.Errorf("httptransport: route target %q needs the application's registry (section registry)", targets[0])
	}
	if err := checkRouteBudgets(host.Config); err != nil {
		return nil, err
	}
	c, err := hostClient(host)
	if err != nil {
		return nil, err
	}
	r := c.route()
	r.props = host.Propagators
	r.disc = &discovery{reg: host.Registry, service: u.Host}
	r.disc.seenN.Store(-1)
	if host.Config != nil {
		if r.retry, err = config.GetWithDefaults(host.Config, retry.Section, retry.DefaultConfig()); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// clientsKey is the key of this package's client in a transport.Clients.
type clientsKey struct{}

// idleCloser closes the idle connections of the client of an application
// that stops; the routes that use it still work, opening new connections.
type idleCloser struct{ c *Client }

func (ic idleCloser) Close() error { ic.c.CloseIdleConnections(); return nil }

// hostClient returns the client of host's application, made on first use
// from the "http_client" section of its configuration; without
// host.Clients, a new client.
func hostClient(host transport.Host) (*Client, error) {
	if host.Clients == nil {
		return NewClientFromConfig(host.Config)
	}
	ic, err := host.Clients.Get(clientsKey{}, func() (io.Closer, error) {
		c, err := NewClientFromConfig(host.Config)
		if err != nil {
			return nil, err
		}
		return idleCloser{c}, nil
	})
	if err != nil {
		return nil, err
	}
	return ic.(idleCloser).c, nil
}

func newRoute(host transport.Host, targets []string) (catalog.Route, error) {
	if err := checkRouteBudgets(host.Config); err != nil {
		return nil, err
	}
	c, err := hostClient(host)
	if err != nil {
		return nil, err
	}
	r := c.Route(targets...).(*remoteRoute)
	r.props = host.Propagators
	if r.err != nil {
		return nil, fmt.Errorf("httptransport: %w", r.err)
	}
	if host.Config != nil {
		if r.retry, err = config.GetWithDefaults(host.Config, retry.Section, retry.DefaultConfig()); err != nil {
			return nil, err
		}
	}
	return r, nil
}
