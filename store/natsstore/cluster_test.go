package natsstore_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/wegomesh/wego/engine"
	"github.com/wegomesh/wego/engine/enginetest"
	"github.com/wegomesh/wego/store"
	"github.com/wegomesh/wego/store/natsstore"
)

// cluster starts three embedded servers that form a JetStream cluster,
// and returns their engines once JetStream answers on each.
func cluster(t *testing.T) []*engine.Engine {
	t.Helper()
	ports := []string{enginetest.FreePort(t), enginetest.FreePort(t), enginetest.FreePort(t)}
	var routes []string
	for _, p := range ports {
		routes = append(routes, "nats-route://127.0.0.1:"+p)
	}
	engs := make([]*engine.Engine, 3)
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i := range engs {
		cfg := engine.DefaultConfig()
		cfg.Server.Name = fmt.Sprintf("n%d", i+1)
		cfg.Server.Listen = "127.0.0.1:-1"
		cfg.Server.StoreDir = t.TempDir()
		cfg.Server.Cluster = engine.ClusterConfig{Name: "c", Listen: "127.0.0.1:" + ports[i], Routes: routes}
		wg.Add(1)
		go func() {
			defer wg.Done()
			engs[i], errs[i] = engine.Start(context.Background(), cfg, zap.NewNop())
		}()
	}
	wg.Wait()
	for i, e := range engs {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		t.Cleanup(func() { _ = e.Close(context.Background()) })
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, e := range engs {
		js, _ := e.JetStream()
		for {
			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			_, err := js.AccountInfo(ctx)
			cancel()
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("JetStream of the cluster does not answer: %v", err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return engs
}

// TestReplicatedReadYourWrites writes through a store on one node of a
// 3-node cluster and reads through a store on another: with 3 replicas the
// store reads from the stream's leader, so every read sees the write
// before it. The test measures what a direct get (nats.go's KeyValue Get,
// which any replica answers) would have seen, and what each read costs.
func TestReplicatedReadYourWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("a 3-node cluster")
	}
	engs := cluster(t)
	cfg := store.Config{Name: "replicated", Replicas: 3}
	var stores []*natsstore.Store
	for _, e := range engs {
		s, err := natsstore.New(e, cfg, zap.NewNop())
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		for {
			err = s.Start(ctx)
			if err == nil || ctx.Err() != nil {
				break
			}
			s, _ = natsstore.New(e, cfg, zap.NewNop()) // Start keeps its first result: a new store tries again
			time.Sleep(200 * time.Millisecond)
		}
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		stores = append(stores, s)
	}
	if f := stores[0].Features(); f.Durability != store.DurabilityReplicated || !f.ReadYourWrites {
		t.Fatalf("Features = %+v, want replicated durability and read-your-writes", f)
	}
	js, _ := engs[2].JetStream()
	kv, err := js.KeyValue(t.Context(), "replicated")
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	const n = 300
	var stale int
	var leader, direct []time.Duration
	for i := range n {
		w, r := stores[i%3], stores[(i+1)%3]
		value := fmt.Sprintf("v%d", i)
		rev, err := w.Put(ctx, "k", []byte(value), store.PutOptions{})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		e, err := kv.Get(ctx, "k")
		direct = append(direct, time.Since(start))
		if err != nil || e.Revision() < rev {
			stale++
		}
		start = time.Now()
		got, err := r.Get(ctx, "k")
		leader = append(leader, time.Since(start))
		if err != nil || got.Revision != rev || string(got.Value) != value {
			t.Fatalf("read %d through another node after a write: %q revision %d, %v; want %q revision %d", i, got.Value, got.Revision, err, value, rev)
		}
	}
	slices.Sort(leader)
	slices.Sort(direct)
	t.Logf("%d writes, each read on another node: from the leader (the store) every read saw its write, median %v; a direct get right after saw an older revision %d times, median %v",
		n, leader[n/2], stale, direct[n/2])
}
