package jsevents_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/wegomesh/wego/engine/enginetest"
	"github.com/wegomesh/wego/events"
	"github.com/wegomesh/wego/events/jsevents"
)

// The variables that make TestChild a child process of the kill tests.
const (
	childConsume = "WEGO_JSEVENTS_CONSUME_URL" // consume from the server at this URL
	childPublish = "WEGO_JSEVENTS_PUBLISH_DIR" // publish to a server embedded in this directory
)

// killConfig is the configuration the kill test and its children share:
// a short ack wait, and a bound on the duplicates a crash may cause.
func killConfig() events.JetStreamConfig {
	cfg := testConfig()
	cfg.AckWait = time.Second
	cfg.MaxAckPending = 64
	return cfg
}

// child runs this test binary's TestChild with env, and returns its
// standard output and the command, killed when the test ends.
func child(t *testing.T, env string) (*exec.Cmd, io.Reader) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestChild$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), env)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd, out
}

// TestKillMidDeliveryLosesNothing publishes 1,000 events, then runs two
// replicas of a subscriber one after the other in child processes and
// kills each (SIGKILL) at a random point of its deliveries; the events
// they held unacknowledged are delivered again after ack_wait, to the
// next one or to this process's subscriber: none is lost, and each crash
// causes at most max_ack_pending duplicates.
func TestKillMidDeliveryLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes")
	}
	const n = 1000
	eng := embedded(t)
	cfg := killConfig()
	async := cfg
	async.Async = true
	pub := newService(t, eng, serviceOpts{cfg: &async})
	for i := range n {
		if err := pub.topic.Publish(pub.ctx, placed{OrderID: strconv.Itoa(i)}, events.MessageID(strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := pub.backend.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	// The group starts at the beginning: it is made by the first child.
	seen := map[string]int{}
	total := 0
	for round := range 2 {
		cmd, out := child(t, childConsume+"="+eng.ClientURL())
		killAt := 150 + rand.IntN(200)
		lines := bufio.NewScanner(out)
		got := 0
		for lines.Scan() {
			id, ok := strings.CutPrefix(lines.Text(), "got ")
			if !ok {
				continue
			}
			seen[id]++
			total++
			if got++; got == killAt {
				if err := cmd.Process.Kill(); err != nil { // SIGKILL
					t.Fatal(err)
				}
			}
		}
		_ = cmd.Wait()
		if got < killAt {
			t.Fatalf("child %d ended after %d deliveries without being killed", round+1, got)
		}
		t.Logf("child %d killed after %d deliveries", round+1, got)
	}
	s := newService(t, eng, serviceOpts{cfg: &cfg, name: "shipping.OnPlaced", opts: []events.SubscriberOption{events.ReplayAll()}})
	deadline := time.After(30 * time.Second)
	for len(seen) < n {
		select {
		case d := <-s.got:
			seen[d.p.OrderID]++
			total++
		case <-deadline:
			t.Fatalf("%d of %d events delivered", len(seen), n)
		}
	}
	time.Sleep(2 * cfg.AckWait) // any late redelivery
	for len(s.got) > 0 {
		seen[(<-s.got).p.OrderID]++
		total++
	}
	dups := total - n
	t.Logf("%d deliveries of %d events: %d duplicates", total, n, dups)
	if dups > 2*cfg.MaxAckPending {
		t.Errorf("%d duplicates after 2 crashes, over 2 × max_ack_pending (%d)", dups, cfg.MaxAckPending)
	}
}

// TestKillAfterAcknowledgementsLosesNothing runs a process that embeds
// the NATS server and publishes from 4 goroutines, printing each
// acknowledged event; it kills the process (SIGKILL) after 300, starts a
// server on the same directory, and finds every acknowledged event in
// the stream at its sequence.
func TestKillAfterAcknowledgementsLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a child process")
	}
	dir := t.TempDir()
	cmd, out := child(t, childPublish+"="+dir)
	acked := map[uint64]string{}
	lines := bufio.NewScanner(out)
	killed := false
	for lines.Scan() {
		f := strings.Fields(lines.Text())
		if len(f) == 2 && f[0] == "sync" {
			// The engine's default (nats.server.sync_interval: always).
			if f[1] != "true" {
				t.Errorf("the embedded server does not sync before it acknowledges (SyncAlways %s)", f[1])
			}
			continue
		}
		if len(f) != 3 || f[0] != "ack" {
			continue
		}
		seq, err := strconv.ParseUint(f[2], 10, 64)
		if err != nil {
			t.Fatalf("child: %q", lines.Text())
		}
		acked[seq] = f[1]
		if len(acked) == 300 && !killed {
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	_ = cmd.Wait()
	if !killed {
		t.Fatalf("the child ended after %d acknowledged events without being killed", len(acked))
	}
	st, err := js(t, enginetest.Start(t, enginetest.StoreDir(dir))).Stream(t.Context(), topicStream)
	if err != nil {
		t.Fatal(err)
	}
	lost := 0
	for seq, id := range acked {
		m, err := st.GetMsg(t.Context(), seq)
		if err != nil || m.Header.Get("Nats-Msg-Id") != id {
			lost++
			t.Errorf("acknowledged event %s (sequence %d): after the restart %v", id, seq, err)
		}
	}
	t.Logf("%d events acknowledged before SIGKILL, %d lost", len(acked), lost)
}

// TestChild is the process the kill tests kill.
func TestChild(t *testing.T) {
	switch url, dir := os.Getenv(childConsume), os.Getenv(childPublish); {
	case url != "":
		consumeChild(t, url)
	case dir != "":
		publishChild(t, dir)
	default:
		t.Skip("run by the kill tests")
	}
}

// consumeChild subscribes, from the beginning, and prints each event it
// receives a while before it acknowledges it — its effect is done, its
// acknowledgement not sent — until it is killed.
func consumeChild(t *testing.T, url string) {
	cfg := killConfig()
	var mu sync.Mutex
	newService(t, client(t, url), serviceOpts{cfg: &cfg, name: "shipping.OnPlaced", opts: []events.SubscriberOption{events.ReplayAll()},
		fn: func(_ context.Context, p placed) error {
			mu.Lock()
			fmt.Fprintln(os.Stdout, "got", p.OrderID)
			mu.Unlock()
			time.Sleep(2 * time.Millisecond) // done, not yet acknowledged
			return nil
		}})
	time.Sleep(time.Minute)
}

// publishChild embeds a server in dir and publishes from 4 goroutines,
// printing each acknowledged event and its sequence, until it is killed.
func publishChild(t *testing.T, dir string) {
	eng := enginetest.Start(t, enginetest.StoreDir(dir))
	fmt.Fprintln(os.Stdout, "sync", eng.Server().JetStreamConfig().SyncAlways)
	b := jsevents.New(eng, testConfig(), zap.NewNop())
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("g%d-%d", g, i)
				ack, err := b.PublishAck(context.Background(), events.Message{Topic: "orders.Placed", ID: id,
					ContentType: events.ContentTypeJSON, Data: []byte(`{"order_id":"` + id + `"}`)})
				if err != nil {
					fmt.Fprintln(os.Stderr, "child:", err)
					return
				}
				mu.Lock()
				fmt.Fprintln(os.Stdout, "ack", id, ack.Sequence)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}
