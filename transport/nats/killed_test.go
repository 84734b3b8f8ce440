package natstransport_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/middleware/retry"
	natstransport "github.com/wegomesh/wego/transport/nats"
)

// startReplica runs a replica process (see replica) connected to url.
func startReplica(t *testing.T, url string) *exec.Cmd {
	t.Helper()
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), "WEGO_NATSTEST_REPLICA="+url)
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = child.Process.Signal(syscall.SIGCONT)
		_ = child.Process.Kill()
		_ = child.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		t.Fatalf("the replica did not start: %q, %v", line, err)
	}
	return child
}

// One of three replicas is killed (SIGKILL) under a steady load of an
// idempotent command: its connection closes, NATS stops sending it
// requests, and the requests it held when it died are sent again after
// the attempt timeout, to a live replica. No caller sees a failure.
func TestKilledReplica(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes for 3 s")
	}
	e := embedded(t)
	serve(t, e, fixture(t, "parent", nil, nil))
	startReplica(t, e.ClientURL())
	victim := startReplica(t, e.ClientURL())

	cat := catalog.New()
	cmd, err := catalog.DeclareIn[ReserveRequest, ReserveResponse](cat, "inventory.Reserve", catalog.With(retry.Idempotent.Value(true)))
	if err != nil {
		t.Fatal(err)
	}
	if err := cat.SetRoute("inventory.*", natstransport.NewRoute(client(t, e), "inventory", natstransport.AttemptTimeout(300*time.Millisecond))); err != nil {
		t.Fatal(err)
	}

	var calls, failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				_, err := cmd.Call(ctx, ReserveRequest{SKU: "apple"})
				cancel()
				calls.Add(1)
				if err != nil {
					failed.Add(1)
					t.Errorf("call failed: %v", err)
				}
			}
		}()
	}
	time.Sleep(time.Second)
	if err := victim.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()
	t.Logf("%d calls, %d failed, one of three replicas killed", calls.Load(), failed.Load())
}

// A replica that stops (drains) under a steady load of calls: it leaves
// its queue group, answers what NATS had sent it, and no caller sees a
// failure.
func TestReplicaDrainsUnderLoad(t *testing.T) {
	e := embedded(t)
	serve(t, e, fixture(t, "a", nil, nil))
	leaving := serve(t, e, fixture(t, "b", nil, nil))
	cmd := reserve(t, natstransport.NewRoute(client(t, e), "inventory", natstransport.AttemptTimeout(0)))

	var calls, failed, byB atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				r, err := cmd.Call(ctx, ReserveRequest{SKU: "apple"})
				cancel()
				calls.Add(1)
				if err != nil {
					failed.Add(1)
					t.Errorf("call failed: %v", err)
				} else if r.Server == "b" {
					byB.Add(1)
				}
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := leaving.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	afterStop := byB.Load()
	time.Sleep(500 * time.Millisecond)
	close(stop)
	wg.Wait()
	if byB.Load() != afterStop {
		t.Errorf("the stopped replica answered %d calls after its Stop returned", byB.Load()-afterStop)
	}
	t.Logf("%d calls, %d failed, one of two replicas drained and stopped under load", calls.Load(), failed.Load())
}
