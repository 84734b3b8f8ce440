package natstransport_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/engine"
	"github.com/wegomesh/wego/engine/enginetest"
	"github.com/wegomesh/wego/transport"
	natstransport "github.com/wegomesh/wego/transport/nats"
	"github.com/wegomesh/wego/transport/transporttest"
)

// TestContract runs the contract of every transport against the NATS
// transport: an embedded NATS server on a free port, a server and a
// caller on connections of their own, as in two processes.
func TestContract(t *testing.T) { transporttest.Run(t, natsHarness{}) }

type natsHarness struct{}

// embedded starts an engine with an embedded server on a free port,
// without JetStream.
func embedded(t *testing.T) *engine.Engine { return enginetest.Start(t, enginetest.NoJetStream()) }

// client starts an engine connected to the server of e, as another
// process would connect.
func client(t *testing.T, e *engine.Engine) *engine.Engine {
	return enginetest.Client(t, e.ClientURL())
}

func (natsHarness) Serve(t *testing.T, host transport.Host, maxBody int64) transporttest.Server {
	e := embedded(t)
	host.Engine = e
	s := natstransport.NewServer(natstransport.MaxBodyBytes(maxBody))
	if err := s.Start(context.Background(), host); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Stop(ctx)
	})
	return &natsServer{eng: e, caller: client(t, e)}
}

func (natsHarness) BadPeer(t *testing.T, body []byte) catalog.Route {
	e := embedded(t)
	sub, err := e.Conn().Subscribe(">", func(m *nats.Msg) {
		_ = m.RespondMsg(&nats.Msg{Header: nats.Header{micro.ErrorHeader: {"oops"}, micro.ErrorCodeHeader: {"500"}}, Data: body})
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	return natstransport.NewRoute(client(t, e), "bad")
}

type natsServer struct {
	eng, caller *engine.Engine
}

func (s *natsServer) Do(ctx context.Context, command string, md transport.MD, body []byte) (transporttest.Answer, error) {
	msg := &nats.Msg{Subject: command, Data: body, Header: nats.Header(md)}
	resp, err := s.caller.Conn().RequestMsgWithContext(ctx, msg)
	if err != nil {
		return transporttest.Answer{}, err
	}
	a := transporttest.Answer{Metadata: transport.MDFrom(resp.Header), Body: resp.Data}
	if code := resp.Header.Get(micro.ErrorCodeHeader); code != "" {
		a.Failed = true
		a.Status, _ = strconv.Atoi(code)
	}
	return a, nil
}

func (s *natsServer) Route(*testing.T) catalog.Route {
	return natstransport.NewRoute(s.caller, "contract")
}
