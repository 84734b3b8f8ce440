package transport

import (
	"context"
	"errors"
	"io"
	"maps"
	"net/textproto"
	"slices"
	"sync"

	"github.com/wegomesh/wego/middleware"
)

// Metadata is what a request or a response carries beside its body: a
// multi-map from case-insensitive keys to strings, such as HTTP headers or
// NATS message headers. Every transport offers its own through this
// interface, so that a [Propagator] or a [ServerHook] written once works
// with all of them. It has the shape of OpenTelemetry's text-map carrier.
type Metadata interface {
	// Get returns the first value of key, or "".
	Get(key string) string
	// Values returns every value of key, or nil; the caller must not
	// modify the slice.
	Values(key string) []string
	// Set replaces the values of key with value.
	Set(key, value string)
	// Keys returns the keys that have values, in the carrier's spelling.
	Keys() []string
}

// MD is the [Metadata] that every transport uses: a multi-map whose keys
// are kept in canonical MIME form ("X-Request-Id"), so that lookups are
// case-insensitive. An http.Header is one already — convert it with
// MD(h), which costs nothing — and [MDFrom] makes one of a map with keys
// in any case, such as NATS message headers.
type MD map[string][]string

var _ Metadata = MD(nil)

// MDFrom returns the metadata of m, whose keys may be in any case: a new
// MD that shares m's value slices, with the values of keys that differ
// only in case joined in the order of their keys. A nil m gives nil.
func MDFrom(m map[string][]string) MD {
	if m == nil {
		return nil
	}
	md := make(MD, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		ck := textproto.CanonicalMIMEHeaderKey(k)
		if prev, ok := md[ck]; ok {
			md[ck] = append(slices.Clip(prev), m[k]...)
			continue
		}
		md[ck] = m[k]
	}
	return md
}

// Get returns the first value of key, or "".
func (md MD) Get(key string) string { return textproto.MIMEHeader(md).Get(key) }

// Values returns the values of key, or nil; the caller must not modify
// the slice.
func (md MD) Values(key string) []string { return textproto.MIMEHeader(md).Values(key) }

// Set replaces the values of key with value.
func (md MD) Set(key, value string) { textproto.MIMEHeader(md).Set(key, value) }

// Add appends value to the values of key.
func (md MD) Add(key, value string) { textproto.MIMEHeader(md).Add(key, value) }

// Del removes the values of key.
func (md MD) Del(key string) { textproto.MIMEHeader(md).Del(key) }

// Keys returns the keys that have values, in canonical form, sorted.
func (md MD) Keys() []string {
	return slices.Sorted(maps.Keys(md))
}

// Propagator carries request-scoped context across processes through
// [Metadata], like OpenTelemetry's text-map propagator: remote routes call
// Inject with the metadata of each request they send, and servers call
// Extract with the metadata of each request they receive, before the
// [ServerHook]s and the command's server chain. Distributed-tracing
// headers are what it is for.
type Propagator interface {
	// Inject adds what ctx holds to md, the metadata of an outgoing
	// request. It does nothing when ctx holds nothing to send.
	Inject(ctx context.Context, md Metadata)
	// Extract returns ctx with what md, the metadata of an incoming
	// request, carries; ctx itself when it carries nothing.
	Extract(ctx context.Context, md Metadata) context.Context
}

// ServerRequest describes a request that a server is about to serve: the
// command it calls, the transport and the request's metadata.
type ServerRequest struct {
	// Transport is the name of the transport that received the request
	// ("http").
	Transport string
	// Spec describes the command the request calls.
	Spec *middleware.Spec
	// Metadata is the request's metadata; hooks should only read it.
	Metadata Metadata
}

// ServerHook spans the serving of one request by a server, from the
// moment the transport has found the command to the moment the response
// is sent: New Relic's web transactions, a tracer's server span. It
// returns the context to serve the request with and a function that the
// transport calls once the response is sent, with the error the client
// was answered with (nil after a success), even when the command
// panicked. A hook must not keep r beyond its call.
type ServerHook func(ctx context.Context, r ServerRequest) (context.Context, func(err error))

// Clients holds the clients that the remote routes of one application
// share, one per key (each transport package uses a key of its own): the
// route factories make them on first use from the application's
// configuration, and the application closes them when it stops, so that
// two applications in one process never share a client or its settings.
// The zero value is ready to use; a Clients is safe for concurrent use.
type Clients struct {
	mu     sync.Mutex
	m      map[any]io.Closer
	order  []any
	closed bool
}

// ErrClientsClosed is returned by [Clients.Get] after [Clients.Close].
var ErrClientsClosed = errors.New("transport: the application's clients are closed")

// Get returns the client stored under key, making it with mk (once, even
// when called concurrently) when there is none. An error of mk is
// returned and nothing is stored.
func (cs *Clients) Get(key any, mk func() (io.Closer, error)) (io.Closer, error) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.closed {
		return nil, ErrClientsClosed
	}
	if c, ok := cs.m[key]; ok {
		return c, nil
	}
	c, err := mk()
	if err != nil {
		return nil, err
	}
	if cs.m == nil {
		cs.m = make(map[any]io.Closer)
	}
	cs.m[key] = c
	cs.order = append(cs.order, key)
	return c, nil
}

// Close closes the clients in the reverse order of their making and joins
// their errors; later calls of Get fail with [ErrClientsClosed]. Closing
// twice does nothing the second time.
func (cs *Clients) Close() error {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.closed {
		return nil
	}
	cs.closed = true
	var errs []error
	for i := len(cs.order) - 1; i >= 0; i-- {
		if err := cs.m[cs.order[i]].Close(); err != nil {
			errs = append(errs, err)
		}
	}
	cs.m, cs.order = nil, nil
	return errors.Join(errs...)
}
