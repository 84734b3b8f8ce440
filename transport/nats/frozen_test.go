package natstransport_test

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/engine"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/transport"
	natstransport "github.com/wegomesh/wego/transport/nats"
)

// replica serves inventory.Reserve as the replica "child", connected to
// the NATS server at url, prints "ready" and runs until it is killed.
func replica(url string) {
	cat := catalog.New()
	if _, err := catalog.RegisterIn(cat, "inventory.Reserve", func(context.Context, ReserveRequest) (ReserveResponse, error) {
		return ReserveResponse{Server: "child"}, nil
	}); err != nil {
		panic(err)
	}
	cfg := engine.DefaultConfig()
	cfg.URLs = []string{url}
	eng, err := engine.Start(context.Background(), cfg, zap.NewNop())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := natstransport.NewServer().Start(context.Background(), transport.Host{Catalog: cat, Logger: zap.NewNop(), Engine: eng}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("ready")
	select {}
}

// A replica that freezes (SIGSTOP) keeps its TCP connection open, so it
// cannot leave its queue group itself, and NATS's random pick would send
// it a share of the requests forever. The embedded server pings its
// clients every 500 ms and closes a connection that leaves two pings
// unanswered: within 2 s of the freeze the frozen replica gets no new
// requests, and every call sent after that is answered by the live one.
func TestFrozenReplica(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a child process for 4 s")
	}
	e := embedded(t)
	serve(t, e, fixture(t, "parent", nil, nil))

	child := startReplica(t, e.ClientURL())

	cmd := reserve(t, natstransport.NewRoute(client(t, e), "inventory"))
	call := func() (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		r, err := cmd.Call(ctx, ReserveRequest{SKU: "apple"})
		return r.Server, err
	}
	seen := map[string]int{}
	for range 100 {
		server, err := call()
		if err != nil {
			t.Fatal(err)
		}
		seen[server]++
	}
	if seen["child"] == 0 || seen["parent"] == 0 {
		t.Fatalf("before the freeze, calls per replica %v: both should serve", seen)
	}

	if err := child.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	frozen := time.Now()
	var lost, late, after int
	for time.Since(frozen) < 4*time.Second {
		sent := time.Since(frozen)
		server, err := call()
		switch {
		case err != nil && errs.KindOf(err) != errs.KindDeadlineExceeded:
			t.Fatalf("call %v after the freeze: %v", sent, err)
		case err != nil && sent < 2*time.Second:
			lost++ // sent to the frozen replica before NATS dropped it
		case err != nil:
			late++
		case server == "child" && sent > 200*time.Millisecond:
			t.Fatalf("the frozen replica answered %v after SIGSTOP", sent)
		case server == "child":
			// answered before the signal landed
		case sent >= 2*time.Second:
			after++
		}
	}
	t.Logf("calls lost to the frozen replica within 2 s: %d; after 2 s: %d lost, %d answered", lost, late, after)
	if late > 0 {
		t.Errorf("%d calls sent more than 2 s after the freeze went to the frozen replica", late)
	}
	if after == 0 {
		t.Error("no call was answered after the freeze")
	}
}
