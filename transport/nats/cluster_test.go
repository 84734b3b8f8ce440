package natstransport_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/engine"
	"github.com/wegomesh/wego/engine/enginetest"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/transport"
	natstransport "github.com/wegomesh/wego/transport/nats"
)

// Multi-host on one machine: three embedded servers form a cluster over
// loopback routes; the server of inventory.Reserve is connected to node
// a, its caller to node b. Under a steady load, node a shuts down. The
// server's connection moves to another node on its own (it learnt them
// from the cluster), calls resume within seconds, the calls in flight
// fail with a typed error by their deadline, and every call the caller
// was told succeeded ran on the server.
func TestClusterNodeLoss(t *testing.T) {
	const (
		deadline = 2 * time.Second // of every call
		slack    = time.Second     // past its deadline, a call hangs
		workers  = 4
	)
	a := clusterNode(t, "a")
	route := "nats-route://" + a.Server().ClusterAddr().String()
	nodes := []*engine.Engine{a, clusterNode(t, "b", route), clusterNode(t, "c", route)}
	b := nodes[1]
	eventually(t, 10*time.Second, "a full mesh", func() bool {
		for _, n := range nodes {
			if peers(n) != 2 {
				return false
			}
		}
		return true
	})

	// The server, connected to node a only: it finds the other nodes in
	// what the cluster tells its clients.
	ran := &ledger{ids: map[string]bool{}}
	held := make(chan struct{}, 16)
	srvEng := client(t, a)
	srv := natstransport.NewServer()
	if err := srv.Start(context.Background(), transport.Host{Name: "inventory", Catalog: ledgerCatalog(t, ran, held),
		Logger: zap.NewNop(), Engine: srvEng}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Stop(ctx)
	})
	if name := srvEng.Conn().ConnectedServerName(); name != "a" {
		t.Fatalf("the server is connected to node %q, want a", name)
	}
	eventually(t, 10*time.Second, "the server knowing the other nodes", func() bool {
		return len(srvEng.Conn().DiscoveredServers()) == 2
	})

	// The caller, connected to node b.
	cmd := reserve(t, natstransport.NewRoute(client(t, b), "inventory"))
	call := func(id string) outcome {
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		o := outcome{id: id, start: time.Now()}
		o.resp, o.err = cmd.Call(ctx, ReserveRequest{SKU: id, Qty: 1})
		o.end = time.Now()
		return o
	}
	eventually(t, 10*time.Second, "a call answered across the cluster", func() bool {
		return call("first").err == nil
	})

	// A steady load from a few callers.
	var (
		seq      atomic.Int64
		stop     = make(chan struct{})
		wg       sync.WaitGroup
		mu       sync.Mutex
		outcomes []outcome
		okCount  atomic.Int64
	)
	for range workers {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				o := call("load-" + strconv.FormatInt(seq.Add(1), 10))
				mu.Lock()
				outcomes = append(outcomes, o)
				mu.Unlock()
				if o.err == nil {
					okCount.Add(1)
				} else {
					// While no one serves the subject, unavailable comes
					// back at once: pace the retries.
					time.Sleep(10 * time.Millisecond)
				}
			}
		})
	}
	t.Cleanup(func() { // stop the load if the test fails before it does
		select {
		case <-stop:
		default:
			close(stop)
		}
		wg.Wait()
	})
	eventually(t, 10*time.Second, "calls succeeding under load", func() bool { return okCount.Load() >= 50 })

	// Calls in flight at the kill: the server holds them until their
	// deadline.
	inFlight := make(chan outcome, 3)
	for i := range cap(inFlight) {
		go func() { inFlight <- call("held-" + strconv.Itoa(i)) }()
	}
	for range cap(inFlight) {
		select {
		case <-held:
		case <-time.After(10 * time.Second):
			t.Fatal("the held calls did not reach the server")
		}
	}

	killed := time.Now()
	if err := a.Close(context.Background()); err != nil {
		t.Logf("closing node a: %v", err)
	}
	eventually(t, 10*time.Second, "the server reconnected to another node", func() bool {
		return srvEng.Ready() && srvEng.Conn().ConnectedServerName() != "a"
	})
	// The load's callers may all be waiting for answers lost with the
	// node: probe apart from them.
	var resumed time.Time
	eventually(t, 10*time.Second, "calls succeeding again", func() bool {
		o := call("probe-" + strconv.FormatInt(seq.Add(1), 10))
		mu.Lock()
		outcomes = append(outcomes, o)
		mu.Unlock()
		if o.err == nil {
			resumed = o.end
		}
		return o.err == nil
	})
	if d := resumed.Sub(killed); d > 5*time.Second {
		t.Errorf("calls resumed %s after the node was lost, want within 5s", d)
	}
	after := okCount.Load()
	eventually(t, 10*time.Second, "a steady load again", func() bool { return okCount.Load() >= after+20 })
	close(stop)
	wg.Wait()

	for range cap(inFlight) {
		o := <-inFlight
		if errs.KindOf(o.err) != errs.KindDeadlineExceeded {
			t.Errorf("call %s in flight at the kill: %v, want deadline_exceeded", o.id, o.err)
		}
		outcomes = append(outcomes, o)
	}
	var failed int
	for _, o := range outcomes {
		if d := o.end.Sub(o.start); d > deadline+slack {
			t.Errorf("call %s returned after %s, past its deadline of %s", o.id, d, deadline)
		}
		if o.err != nil {
			failed++
			if !errors.Is(o.err, transport.ErrUnavailable) && errs.KindOf(o.err) != errs.KindDeadlineExceeded {
				t.Errorf("call %s: %v, want unavailable or deadline_exceeded", o.id, o.err)
			}
			continue
		}
		if o.resp.SKU != o.id || !ran.has(o.id) {
			t.Errorf("call %s succeeded (answer %+v) but the server did not run it", o.id, o.resp)
		}
	}
	t.Logf("%d calls, %d failed around the loss of node a; calls resumed %s after it", len(outcomes), failed, resumed.Sub(killed).Round(time.Millisecond))
}

// outcome is what the caller was told about one call.
type outcome struct {
	id         string
	start, end time.Time
	resp       ReserveResponse
	err        error
}

// ledger records the calls the server ran.
type ledger struct {
	mu  sync.Mutex
	ids map[string]bool
}

func (l *ledger) add(id string) {
	l.mu.Lock()
	l.ids[id] = true
	l.mu.Unlock()
}

func (l *ledger) has(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ids[id]
}

// ledgerCatalog serves inventory.Reserve, recording each call it runs by
// its SKU; a call whose SKU starts with "held-" signals held and waits
// for the end of its context.
func ledgerCatalog(t *testing.T, ran *ledger, held chan<- struct{}) *catalog.Catalog {
	t.Helper()
	cat := catalog.New()
	_, err := catalog.RegisterIn(cat, "inventory.Reserve", func(ctx context.Context, r ReserveRequest) (ReserveResponse, error) {
		ran.add(r.SKU)
		if strings.HasPrefix(r.SKU, "held-") {
			held <- struct{}{}
			<-ctx.Done()
			return ReserveResponse{}, ctx.Err()
		}
		return ReserveResponse{SKU: r.SKU, Server: "inventory"}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// clusterNode starts an engine whose embedded server is the node name of
// a cluster on loopback, with routes to the nodes of routes.
func clusterNode(t *testing.T, name string, routes ...string) *engine.Engine {
	t.Helper()
	return enginetest.Start(t, enginetest.NoJetStream(), func(cfg *engine.Config) {
		cfg.Server.Name = name
		cfg.Server.Cluster = engine.ClusterConfig{Name: "wego-test", Listen: "127.0.0.1:-1", Routes: routes}
	})
}

// peers returns the number of other nodes e's server has a route to.
func peers(e *engine.Engine) int {
	rz, err := e.Server().Routez(nil)
	if err != nil {
		return 0
	}
	seen := map[string]bool{}
	for _, r := range rz.Routes {
		seen[r.RemoteID] = true
	}
	return len(seen)
}

// eventually fails the test unless cond becomes true within d.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(d); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("not %s after %s", what, d)
		}
	}
}
