package jsevents_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/wegomesh/wego/engine/enginetest"
	"github.com/wegomesh/wego/events"
)

// A server restart on the same store loses nothing: the publisher retries
// what failed meanwhile with the same message id, each event is stored
// once, and the subscription resumes and receives every one (some twice:
// an acknowledgement lost in the restart).
func TestServerRestartLosesNothing(t *testing.T) {
	srv := enginetest.NewServer(t)
	cl := client(t, srv.URL())
	s := newService(t, cl, serviceOpts{name: "shipping.OnPlaced"})
	const n = 300
	var wg sync.WaitGroup
	restart := make(chan struct{})
	failed := 0
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range n {
			if i == n/3 {
				close(restart)
			}
			for {
				ctx, cancel := context.WithTimeout(s.ctx, 2*time.Second)
				err := s.topic.Publish(ctx, placed{OrderID: fmt.Sprint(i)}, events.MessageID(fmt.Sprint(i)))
				cancel()
				if err == nil {
					break
				}
				failed++
				time.Sleep(20 * time.Millisecond)
			}
		}
	}()
	<-restart
	_ = srv.Stop()
	time.Sleep(300 * time.Millisecond)
	srv.Start()
	seen := map[string]int{}
	deadline := time.After(30 * time.Second)
	for len(seen) < n {
		select {
		case d := <-s.got:
			seen[d.p.OrderID]++
		case <-deadline:
			t.Fatalf("%d of %d events received after the restart", len(seen), n)
		}
	}
	wg.Wait()
	time.Sleep(200 * time.Millisecond)
	dups := len(s.got)
	for _, k := range seen {
		dups += k - 1
	}
	t.Logf("%d publishes failed while the server restarted, and were retried; %d events delivered twice", failed, dups)
	if dups > testConfig().MaxAckPending {
		t.Errorf("%d duplicates, over max_ack_pending", dups)
	}
	st, err := js(t, cl).Stream(t.Context(), topicStream)
	if err != nil || st.CachedInfo().State.Msgs != n {
		t.Errorf("the stream holds %d events (%v), want %d", st.CachedInfo().State.Msgs, err, n)
	}
}
