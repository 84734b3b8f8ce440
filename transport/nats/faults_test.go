package natstransport_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wegomesh/wego/engine/enginetest"
	"github.com/wegomesh/wego/transport"
	natstransport "github.com/wegomesh/wego/transport/nats"
)

// NATS lost while running: calls fail at once with unavailable, and
// everything recovers when the server is back, with no restart: the
// serving side's subscriptions come back with its connection.
func TestNATSLostWhileRunning(t *testing.T) {
	srv := enginetest.NewServer(t, enginetest.NoJetStream())
	serve(t, srv.Engine(), fixture(t, "a", nil, nil))
	caller := client(t, srv.Engine())
	cmd := reserve(t, natstransport.NewRoute(caller, "inventory"))
	if _, err := cmd.Call(context.Background(), ReserveRequest{SKU: "apple"}); err != nil {
		t.Fatal(err)
	}

	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the caller sees NATS gone", func() bool { return !caller.Ready() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	began := time.Now()
	_, err := cmd.Call(ctx, ReserveRequest{SKU: "apple"})
	if !errors.Is(err, transport.ErrUnavailable) || time.Since(began) > time.Second {
		t.Fatalf("call while NATS is gone: %v after %v, want unavailable at once", err, time.Since(began))
	}

	srv.Start()
	eventually(t, 10*time.Second, "calls succeed once NATS is back", func() bool {
		_, err := cmd.Call(context.Background(), ReserveRequest{SKU: "apple"})
		return err == nil
	})
}

// A new replica gets calls as soon as its Start returns.
func TestNewReplicaGetsCallsAtOnce(t *testing.T) {
	e := embedded(t)
	serve(t, e, fixture(t, "old", nil, nil))
	cmd := reserve(t, natstransport.NewRoute(client(t, e), "inventory"))
	serve(t, e, fixture(t, "new", nil, nil))
	ready := time.Now()
	for {
		r, err := cmd.Call(context.Background(), ReserveRequest{SKU: "apple"})
		if err != nil {
			t.Fatal(err)
		}
		if r.Server == "new" {
			break
		}
	}
	d := time.Since(ready)
	t.Logf("the new replica answered %v after its Start returned", d)
	if d > 100*time.Millisecond {
		t.Errorf("the new replica got its first call %v after it was ready, want within 100 ms", d)
	}
}
