package natsstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"go.uber.org/zap"

	"github.com/wegomesh/wego/engine"
	"github.com/wegomesh/wego/store"
	"github.com/wegomesh/wego/store/natsstore"
)

// A store on the bucket "orders" of an embedded NATS server: a write that
// creates a record, a compare-and-set that loses to a newer write, and a
// watch of a prefix.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "example-")
	defer os.RemoveAll(dir)
	cfg := engine.DefaultConfig()
	cfg.Server.Listen = "127.0.0.1:-1" // a free port
	cfg.Server.StoreDir = dir
	eng, err := engine.Start(ctx, cfg, zap.NewNop())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer eng.Close(ctx)

	s, err := natsstore.New(eng, store.Config{Name: "orders"}, zap.NewNop())
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := s.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	rev, _ := s.Put(ctx, "order.1001", []byte(`{"qty":3}`), store.PutOptions{Create: true})
	_, _ = s.Put(ctx, "order.1001", []byte(`{"qty":4}`), store.PutOptions{IfRevision: rev})
	_, err = s.Put(ctx, "order.1001", []byte(`{"qty":5}`), store.PutOptions{IfRevision: rev})
	fmt.Println("stale compare-and-set:", errors.Is(err, store.ErrConflict))
	r, _ := s.Get(ctx, "order.1001")
	fmt.Println("order.1001 =", string(r.Value))

	kinds := map[store.EventKind]string{store.EventPut: "put", store.EventDelete: "delete", store.EventSynced: "synced"}
	ch, _ := s.Watch(ctx, "order.")
	for ev := range ch {
		fmt.Println("watch:", strings.TrimSpace(kinds[ev.Kind]+" "+ev.Record.Key))
		if ev.Kind == store.EventSynced {
			break
		}
	}
	_ = s.Delete(ctx, "order.1001", store.DeleteOptions{})
	ev := <-ch
	fmt.Println("watch:", kinds[ev.Kind], ev.Record.Key)
	fmt.Println("durability synced:", s.Features().Durability == store.DurabilitySynced)
	// Output:
	// stale compare-and-set: true
	// order.1001 = {"qty":4}
	// watch: put order.1001
	// watch: synced
	// watch: delete order.1001
	// durability synced: true
}
