package natstransport_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/engine"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/transport"
	natstransport "github.com/wegomesh/wego/transport/nats"
)

func TestMain(m *testing.M) {
	if url := os.Getenv("WEGO_NATSTEST_REPLICA"); url != "" {
		replica(url) // a child process of TestFrozenReplica
		return
	}
	goleak.VerifyTestMain(m)
}

type ReserveRequest struct {
	SKU string `json:"sku"`
	Qty int    `json:"qty"`
}

type ReserveResponse struct {
	SKU    string `json:"sku"`
	Server string `json:"server"`
}

var ErrUnknownSKU = errs.Define("natstest.unknown_sku", errs.KindNotFound, "SKU {{.sku}} is unknown.")

// fixture is a catalog with inventory.Reserve, served under the name
// server; hold blocks Reserve until it is closed when set.
func fixture(t *testing.T, server string, hold <-chan struct{}, started chan<- struct{}) *catalog.Catalog {
	t.Helper()
	cat := catalog.New()
	_, err := catalog.RegisterIn(cat, "inventory.Reserve", func(ctx context.Context, r ReserveRequest) (ReserveResponse, error) {
		if r.SKU == "unknown" {
			return ReserveResponse{}, ErrUnknownSKU.New(errs.P("sku", r.SKU))
		}
		if hold != nil {
			if started != nil {
				started <- struct{}{}
			}
			select {
			case <-hold:
			case <-ctx.Done():
				return ReserveResponse{}, ctx.Err()
			}
		}
		return ReserveResponse{SKU: r.SKU, Server: server}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// serve serves cat over a connection of its own to the server of e.
func serve(t *testing.T, e *engine.Engine, cat *catalog.Catalog, opts ...natstransport.ServerOption) *natstransport.Server {
	t.Helper()
	s := natstransport.NewServer(opts...)
	if err := s.Start(context.Background(), transport.Host{Name: "test", Catalog: cat, Logger: zap.NewNop(), Engine: client(t, e)}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	return s
}

func reserve(t *testing.T, r catalog.Route) *catalog.Command[ReserveRequest, ReserveResponse] {
	t.Helper()
	cat := catalog.New()
	cmd, err := catalog.DeclareIn[ReserveRequest, ReserveResponse](cat, "inventory.Reserve")
	if err != nil {
		t.Fatal(err)
	}
	if err := cat.SetRoute("inventory.*", r); err != nil {
		t.Fatal(err)
	}
	return cmd
}

func TestNoRespondersIsUnavailableAtOnce(t *testing.T) {
	e := embedded(t)
	cmd := reserve(t, natstransport.NewRoute(client(t, e), "inventory"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	began := time.Now()
	_, err := cmd.Call(ctx, ReserveRequest{SKU: "apple"})
	if !errors.Is(err, transport.ErrUnavailable) {
		t.Fatalf("error %v, want transport.unavailable", err)
	}
	if d := time.Since(began); d > time.Second {
		t.Errorf("no responders took %v; it should come back at once", d)
	}
}

func TestNotConnectedIsUnavailable(t *testing.T) {
	cfg := engine.DefaultConfig()
	eng, err := engine.New(cfg, zap.NewNop()) // never started
	if err != nil {
		t.Fatal(err)
	}
	_, err = reserve(t, natstransport.NewRoute(eng, "inventory")).Call(context.Background(), ReserveRequest{})
	if !errors.Is(err, transport.ErrUnavailable) {
		t.Fatalf("error %v, want transport.unavailable", err)
	}
}

// Any NATS client calls a command with no headers at all, as the nats
// CLI does, and reads a service error from the headers NATS's service
// API defines.
func TestPlainNATSClient(t *testing.T) {
	e := embedded(t)
	serve(t, e, fixture(t, "a", nil, nil))
	nc := client(t, e).Conn()
	resp, err := nc.Request("inventory.Reserve", []byte(`{"sku":"apple","qty":1}`), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var r ReserveResponse
	if err := json.Unmarshal(resp.Data, &r); err != nil || r.SKU != "apple" {
		t.Fatalf("answer %s: %v", resp.Data, err)
	}
	if resp.Header.Get(transport.HeaderRequestID) == "" {
		t.Error("the answer has no request id")
	}
	resp, err = nc.Request("inventory.Reserve", []byte(`{"sku":"unknown"}`), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get(micro.ErrorCodeHeader) != "404" || resp.Header.Get(micro.ErrorHeader) != "natstest.unknown_sku" {
		t.Errorf("service error headers %v", resp.Header)
	}
	e2, ok := transport.DecodeError(0, resp.Data)
	if !ok || !errors.Is(e2, ErrUnknownSKU) {
		t.Errorf("error body %s", resp.Data)
	}
}

// The services answer NATS's discovery: $SRV.PING and $SRV.INFO name
// the service and its endpoints.
func TestServiceDiscovery(t *testing.T) {
	e := embedded(t)
	serve(t, e, fixture(t, "a", nil, nil), natstransport.Version("1.2.3"))
	nc := client(t, e).Conn()
	info := serviceInfo(t, nc, "inventory")
	if info.Name != "inventory" || info.Version != "1.2.3" || len(info.Endpoints) != 1 ||
		info.Endpoints[0].Subject != "inventory.Reserve" || info.Endpoints[0].QueueGroup != "inventory" {
		t.Errorf("info %+v", info)
	}
	if _, err := nc.Request("$SRV.PING.inventory", nil, 5*time.Second); err != nil {
		t.Errorf("ping: %v", err)
	}
}

// serviceInfo returns the answer of service to $SRV.INFO.
func serviceInfo(t *testing.T, nc *nats.Conn, service string) micro.Info {
	t.Helper()
	resp, err := nc.Request("$SRV.INFO."+service, nil, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var info micro.Info
	if err := json.Unmarshal(resp.Data, &info); err != nil {
		t.Fatal(err)
	}
	return info
}

// Topics and subscribers of package events (catalog entries of the Event
// kind) are not served, so the services do not list them as endpoints,
// and a service with nothing else is not added at all.
func TestServiceDiscoveryListsOnlyCommands(t *testing.T) {
	e := embedded(t)
	cat := fixture(t, "a", nil, nil)
	noop := func(context.Context, ReserveRequest) (struct{}, error) { return struct{}{}, nil }
	for _, name := range []string{"inventory.OnRestocked", "shipping.OnPlaced"} {
		if _, err := catalog.RegisterIn(cat, name, noop, catalog.AsEvent()); err != nil {
			t.Fatal(err)
		}
	}
	serve(t, e, cat)
	nc := client(t, e).Conn()
	var subjects []string
	for _, ep := range serviceInfo(t, nc, "inventory").Endpoints {
		subjects = append(subjects, ep.Subject)
	}
	if len(subjects) != 1 || subjects[0] != "inventory.Reserve" {
		t.Errorf("inventory's endpoints %v, want only inventory.Reserve", subjects)
	}
	if _, err := nc.Request("$SRV.INFO.shipping", nil, time.Second); !errors.Is(err, nats.ErrNoResponders) {
		t.Errorf("$SRV.INFO.shipping: %v, want no responders: shipping has only a subscriber", err)
	}
}

// Replicas share a service's load through its queue group.
func TestReplicasShareTheLoad(t *testing.T) {
	e := embedded(t)
	serve(t, e, fixture(t, "a", nil, nil))
	serve(t, e, fixture(t, "b", nil, nil))
	cmd := reserve(t, natstransport.NewRoute(client(t, e), "inventory"))
	seen := map[string]int{}
	for range 200 {
		r, err := cmd.Call(context.Background(), ReserveRequest{SKU: "apple"})
		if err != nil {
			t.Fatal(err)
		}
		seen[r.Server]++
	}
	if seen["a"] < 20 || seen["b"] < 20 {
		t.Errorf("calls per replica %v, want both to share", seen)
	}
}

// Over max_concurrent, a request is answered overloaded at once.
func TestOverloaded(t *testing.T) {
	e := embedded(t)
	hold, started := make(chan struct{}), make(chan struct{}, 1)
	defer close(hold)
	serve(t, e, fixture(t, "a", hold, started), natstransport.MaxConcurrent(1))
	cmd := reserve(t, natstransport.NewRoute(client(t, e), "inventory"))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _ = cmd.Call(context.Background(), ReserveRequest{SKU: "slow"})
	}()
	<-started
	_, err := cmd.Call(context.Background(), ReserveRequest{SKU: "apple"})
	if !errors.Is(err, transport.ErrOverloaded) {
		t.Errorf("error %v, want transport.overloaded", err)
	}
	hold <- struct{}{}
	wg.Wait()
}

// Stop lets the request in flight finish and answer; then no one serves
// the subject.
func TestStopDrains(t *testing.T) {
	e := embedded(t)
	hold, started := make(chan struct{}), make(chan struct{}, 1)
	s := serve(t, e, fixture(t, "a", hold, started))
	cmd := reserve(t, natstransport.NewRoute(client(t, e), "inventory"))
	callErr := make(chan error, 1)
	go func() {
		_, err := cmd.Call(context.Background(), ReserveRequest{SKU: "apple"})
		callErr <- err
	}()
	<-started
	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		stopped <- s.Stop(ctx)
	}()
	select {
	case err := <-stopped:
		t.Fatalf("Stop returned (%v) while a request was in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(hold)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if err := <-callErr; err != nil {
		t.Fatalf("the call in flight failed: %v", err)
	}
	if _, err := cmd.Call(context.Background(), ReserveRequest{SKU: "apple"}); !errors.Is(err, transport.ErrUnavailable) {
		t.Errorf("after Stop: %v, want unavailable", err)
	}
}

// A deadline that passes while the server works comes back as
// deadline_exceeded, within the deadline, and the command sees it.
func TestDeadline(t *testing.T) {
	e := embedded(t)
	hold := make(chan struct{})
	defer close(hold)
	serve(t, e, fixture(t, "a", hold, nil))
	cmd := reserve(t, natstransport.NewRoute(client(t, e), "inventory"))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	began := time.Now()
	_, err := cmd.Call(ctx, ReserveRequest{SKU: "apple"})
	if errs.KindOf(err) != errs.KindDeadlineExceeded {
		t.Fatalf("error %v, want deadline_exceeded", err)
	}
	if d := time.Since(began); d > 2*time.Second {
		t.Errorf("the call returned after %v", d)
	}
}

func TestStartWithoutEngine(t *testing.T) {
	err := natstransport.NewServer().Start(context.Background(), transport.Host{Catalog: catalog.New()})
	if err == nil {
		t.Fatal("Start without an engine succeeded")
	}
}

// Each server also serves each command on a subject of its own instance,
// for callers that pick the replica themselves.
func TestInstanceSubject(t *testing.T) {
	e := embedded(t)
	a := serve(t, e, fixture(t, "a", nil, nil))
	serve(t, e, fixture(t, "b", nil, nil))
	id := a.InstanceID()
	if id == "" || a.Endpoints()["nats"] != id {
		t.Fatalf("instance id %q, endpoints %v", id, a.Endpoints())
	}
	nc := client(t, e).Conn()
	for range 20 {
		resp, err := nc.Request(natstransport.InstanceSubject(id, "inventory.Reserve"), []byte(`{"sku":"apple"}`), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var r ReserveResponse
		if err := json.Unmarshal(resp.Data, &r); err != nil || r.Server != "a" {
			t.Fatalf("answer %s from the instance subject of a", resp.Data)
		}
	}
	resp, err := nc.Request(natstransport.InstanceSubject(id, "inventory.Reserve"), []byte(`{"sku":"unknown"}`), 5*time.Second)
	if err != nil || resp.Header.Get(micro.ErrorCodeHeader) != "404" {
		t.Fatalf("error on the instance subject: %v %v", resp, err)
	}
}
