// Package natsbench is the NATS suite: a NATS server, the WeGO NATS
// server and a bare nats.go responder, each of which can run in a process
// of its own, and the callers that the report compares — a WeGO remote
// route over NATS (natstransport.NewRoute) and a bare nats.go Request with
// encoding/json.
//
// The Go benchmarks of the package run all of it in one process, for
// profiling:
//
//	go test -run '^$' -bench . -benchmem ./natsbench
//	go test -run '^$' -bench 'Serial/wego' -cpuprofile cpu.out -memprofile mem.out ./natsbench
//
// cmd/benchreport runs the NATS server and each responder in a process of
// its own instead, so that the caller's allocations and the responder's
// are counted apart.
package natsbench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/zap"

	"github.com/wegomesh/wego/bench/fixture"
	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/engine"
	"github.com/wegomesh/wego/log"
	"github.com/wegomesh/wego/transport"
	natstransport "github.com/wegomesh/wego/transport/nats"
)

// BareSubject and BareQueue are where the bare responder serves the
// command; WeGO serves it on fixture.Name in the queue group "inventory".
// HeadersSubject is where the bare responder serves it with WeGO's
// headers.
const (
	BareSubject    = "bare." + fixture.Name
	BareQueue      = "bare"
	HeadersSubject = "bareh." + fixture.Name
)

// Timeout bounds each bare request, as natstransport.DefaultRequestTimeout
// bounds a WeGO call whose context has no deadline.
const Timeout = natstransport.DefaultRequestTimeout

// CallFunc calls the command remotely.
type CallFunc func(ctx context.Context, in fixture.Req) (fixture.Resp, error)

// Broker starts an embedded NATS server on a free loopback port, without
// JetStream, through WeGO's engine; its ClientURL is where the others
// connect.
func Broker(ctx context.Context) (*engine.Engine, error) {
	cfg := engine.DefaultConfig()
	cfg.Server.Listen = "127.0.0.1:-1"
	cfg.Server.JetStream = false
	return engine.Start(ctx, cfg, zap.NewNop())
}

// connect starts an engine connected to the server at url over TCP, as
// another process would connect.
func connect(ctx context.Context, url string) (*engine.Engine, error) {
	cfg := engine.DefaultConfig()
	cfg.URLs = []string{url}
	return engine.Start(ctx, cfg, zap.NewNop())
}

// ServeWeGO serves the command from a catalog with empty chains through
// natstransport.Server, over a connection of its own to url. stop stops
// the server and closes the connection.
func ServeWeGO(ctx context.Context, url string) (stop func(), err error) {
	eng, err := connect(ctx, url)
	if err != nil {
		return nil, err
	}
	cat, _ := fixture.Empty()
	s := natstransport.NewServer()
	if err := s.Start(ctx, transport.Host{Name: "bench", Catalog: cat, Logger: zap.NewNop(), Engine: eng}); err != nil {
		_ = eng.Close(ctx)
		return nil, err
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Stop(ctx)
		_ = eng.Close(ctx)
	}, nil
}

// ErrorHeader carries the bare responder's error, if any.
const ErrorHeader = "Error"

// bareReserve is what a hand-written nats.go responder does with
// encoding/json: strict decoding, the function, the response encoded.
func bareReserve(m *nats.Msg) ([]byte, error) {
	var req fixture.Req
	dec := json.NewDecoder(bytes.NewReader(m.Data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return nil, err
	}
	resp, err := fixture.Reserve(context.Background(), req)
	if err != nil {
		return nil, err
	}
	return json.Marshal(resp)
}

// bareHandler answers with bareReserve's response, or its error in the
// Error header.
func bareHandler(m *nats.Msg) {
	data, err := bareReserve(m)
	if err != nil {
		_ = m.RespondMsg(&nats.Msg{Header: nats.Header{ErrorHeader: {err.Error()}}})
		return
	}
	_ = m.Respond(data)
}

// bareHeadersHandler is bareHandler answering with the headers
// natstransport.Server answers with: the request's X-Request-Id and the
// content type.
func bareHeadersHandler(m *nats.Msg) {
	data, err := bareReserve(m)
	if err != nil {
		_ = m.RespondMsg(&nats.Msg{Header: nats.Header{ErrorHeader: {err.Error()}}})
		return
	}
	_ = m.RespondMsg(&nats.Msg{Data: data, Header: nats.Header{
		transport.HeaderRequestID: m.Header[transport.HeaderRequestID], transport.HeaderContentType: {transport.ContentTypeJSON}}})
}

// ServeBare serves the command on BareSubject in BareQueue with a bare
// nats.go subscription doing encoding/json, over a connection of its own
// to url, and on HeadersSubject the same with WeGO's headers. stop drains
// the connection.
func ServeBare(url string) (stop func(), err error) {
	nc, err := nats.Connect(url)
	if err != nil {
		return nil, err
	}
	if _, err := nc.QueueSubscribe(BareSubject, BareQueue, bareHandler); err != nil {
		nc.Close()
		return nil, err
	}
	if _, err := nc.QueueSubscribe(HeadersSubject, BareQueue, bareHeadersHandler); err != nil {
		nc.Close()
		return nil, err
	}
	if err := nc.Flush(); err != nil {
		nc.Close()
		return nil, err
	}
	return func() { _ = nc.Drain() }, nil
}

// BareCaller is what a hand-written caller does with nats.go and
// encoding/json: Request on a connection of its own, answered by the bare
// responder.
func BareCaller(url string) (CallFunc, func(), error) { return BareCallerTo(url, BareSubject) }

// BareCallerTo is BareCaller sending to subject: fixture.Name for the WeGO
// server.
func BareCallerTo(url, subject string) (CallFunc, func(), error) {
	nc, err := nats.Connect(url)
	if err != nil {
		return nil, nil, err
	}
	return func(_ context.Context, in fixture.Req) (fixture.Resp, error) {
		var out fixture.Resp
		data, err := json.Marshal(in)
		if err != nil {
			return out, err
		}
		msg, err := nc.Request(subject, data, Timeout)
		if err != nil {
			return out, err
		}
		if e := msg.Header.Get(ErrorHeader); e != "" {
			return out, errors.New(e)
		}
		err = json.Unmarshal(msg.Data, &out)
		return out, err
	}, nc.Close, nil
}

// RouteCaller calls the command through a typed handle whose catalog
// (empty chains) routes it with natstransport.NewRoute, over an engine of
// its own connected to url; the WeGO server answers.
func RouteCaller(ctx context.Context, url string) (CallFunc, func(), error) {
	return RouteCallerTo(ctx, url, fixture.Name)
}

// RouteCallerTo is RouteCaller for the command named subject: BareSubject
// for the bare responder.
func RouteCallerTo(ctx context.Context, url, subject string) (CallFunc, func(), error) {
	eng, err := connect(ctx, url)
	if err != nil {
		return nil, nil, err
	}
	cat := catalog.New()
	cmd, err := catalog.DeclareIn[fixture.Req, fixture.Resp](cat, subject)
	if err == nil {
		err = cat.SetRoute(subject, natstransport.NewRoute(eng, "inventory"))
	}
	if err != nil {
		_ = eng.Close(ctx)
		return nil, nil, err
	}
	return cmd.Call, func() { _ = eng.Close(context.Background()) }, nil
}

// HeadersCaller is BareCaller sending the headers a WeGO route sends — a
// new X-Request-Id and the content type — to HeadersSubject, whose
// responder answers with the headers natstransport.Server answers with:
// the bare pair on WeGO's wire.
func HeadersCaller(url string) (CallFunc, func(), error) {
	nc, err := nats.Connect(url)
	if err != nil {
		return nil, nil, err
	}
	return func(_ context.Context, in fixture.Req) (fixture.Resp, error) {
		var out fixture.Resp
		data, err := json.Marshal(in)
		if err != nil {
			return out, err
		}
		msg := &nats.Msg{Subject: HeadersSubject, Data: data, Header: nats.Header{
			transport.HeaderRequestID:   {log.NewRequestID().String()},
			transport.HeaderContentType: {transport.ContentTypeJSON},
		}}
		resp, err := nc.RequestMsg(msg, Timeout)
		if err != nil {
			return out, err
		}
		if e := resp.Header.Get(ErrorHeader); e != "" {
			return out, errors.New(e)
		}
		err = json.Unmarshal(resp.Data, &out)
		return out, err
	}, nc.Close, nil
}

// Check makes one call and verifies its answer.
func Check(ctx context.Context, call CallFunc) error {
	out, err := call(ctx, fixture.Req{SKU: "apple-123", Qty: 3})
	if err != nil {
		return err
	}
	if out != fixture.Want {
		return fmt.Errorf("got %+v, want %+v", out, fixture.Want)
	}
	return nil
}
