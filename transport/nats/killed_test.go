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

	l := steadyLoad(t, cmd)
	time.Sleep(time.Second)
	if err := victim.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	l.stop()
	t.Logf("%d calls, %d failed, one of three replicas killed", l.calls.Load(), l.failed.Load())
}

// A replica that stops (drains) under a steady load of calls: it leaves
// its queue group, answers what NATS had sent it, and no caller sees a
// failure.
func TestReplicaDrainsUnderLoad(t *testing.T) {
	e := embedded(t)
	serve(t, e, fixture(t, "a", nil, nil))
	leaving := serve(t, e, fixture(t, "b", nil, nil))
	cmd := reserve(t, natstransport.NewRoute(client(t, e), "inventory", natstransport.AttemptTimeout(0)))

	l := steadyLoad(t, cmd)
	time.Sleep(500 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := leaving.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	afterStop := l.answered("b")
	time.Sleep(500 * time.Millisecond)
	l.stop()
	if n := l.answered("b"); n != afterStop {
		t.Errorf("the stopped replica answered %d calls after its Stop returned", n-afterStop)
	}
	t.Logf("%d calls, %d failed, one of two replicas drained and stopped under load", l.calls.Load(), l.failed.Load())
}

// steady is a steady load of calls from 4 goroutines, each with a 5 s
// deadline; a failed call fails the test.
type steady struct {
	calls, failed atomic.Int64
	mu            sync.Mutex
	by            map[string]int // answers per replica
	done          chan struct{}
	wg            sync.WaitGroup
}

func steadyLoad(t *testing.T, cmd *catalog.Command[ReserveRequest, ReserveResponse]) *steady {
	l := &steady{by: map[string]int{}, done: make(chan struct{})}
	for range 4 {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-l.done:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				r, err := cmd.Call(ctx, ReserveRequest{SKU: "apple"})
				cancel()
				l.calls.Add(1)
				if err != nil {
					l.failed.Add(1)
					t.Errorf("call failed: %v", err)
					continue
				}
				l.mu.Lock()
				l.by[r.Server]++
				l.mu.Unlock()
			}
		}()
	}
	return l
}

// answered returns how many calls server has answered so far.
func (l *steady) answered(server string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.by[server]
}

// stop ends the load and waits for the calls in flight.
func (l *steady) stop() {
	close(l.done)
	l.wg.Wait()
}
