package natsstore_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/wegomesh/wego/engine"
	"github.com/wegomesh/wego/engine/enginetest"
	"github.com/wegomesh/wego/store"
	"github.com/wegomesh/wego/store/natsstore"
	"github.com/wegomesh/wego/store/storetest"
)

// shared is the engine of the tests that need no server of their own.
var shared *engine.Engine

func TestMain(m *testing.M) {
	if os.Getenv(childDir) != "" { // the child of TestKillLosesNoAcknowledgedWrite
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "natsstore-test-")
	if err != nil {
		panic(err)
	}
	cfg := engine.DefaultConfig()
	cfg.Server.Listen = "127.0.0.1:-1"
	cfg.Server.StoreDir = dir
	shared, err = engine.Start(context.Background(), cfg, zap.NewNop())
	if err != nil {
		panic(err)
	}
	code := m.Run()
	_ = shared.Close(context.Background())
	_ = os.RemoveAll(dir)
	if code == 0 {
		// Every store, watch and engine the tests made is closed: none
		// may leave a goroutine behind.
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goroutines left after the tests:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// open starts a store of bucket name on eng that the test closes.
func open(t testing.TB, eng natsstore.Engine, name string) *natsstore.Store {
	t.Helper()
	s, err := natsstore.New(eng, store.Config{Name: name}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = s.Close()
		// The test's bucket goes with it, so that a test run again on
		// the package's shared server (go test -count) starts empty.
		if js, err := eng.JetStream(); err == nil {
			_ = js.DeleteKeyValue(context.Background(), name)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	// Each write is synced to disk: with -short, the compare-and-set
	// counter does 100 increments per goroutine instead of 1,000.
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, shared, storetest.Name(t)) },
		storetest.ShortIncrements(100))
}

func TestKind(t *testing.T) {
	f, ok := store.FactoryOf("nats")
	if !ok {
		t.Fatal("kind nats is not registered")
	}
	if _, err := f(store.DefaultConfig(), nil, zap.NewNop()); err == nil || !strings.Contains(err.Error(), "nats section") {
		t.Fatalf("kind nats without an engine: %v, want an error that asks for the nats section", err)
	}
	cfg := store.DefaultConfig()
	cfg.Kind, cfg.Name = "nats", "kind"
	s, err := f(cfg, shared, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Get(t.Context(), "k"); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Get before Start: %v, want an error matching store.ErrUnavailable", err)
	}
	st, ok := s.(store.Starter)
	if !ok {
		t.Fatal("the nats store is not a store.Starter")
	}
	if err := st.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(t.Context(), "k", []byte("v"), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if d := s.Features().Durability; d != store.DurabilitySynced {
		t.Fatalf("Durability on the embedded server = %d, want synced", d)
	}
}

func TestStartErrors(t *testing.T) {
	js, _ := shared.JetStream()
	ctx := t.Context()
	if _, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "plain"}); err != nil {
		t.Fatal(err)
	}
	s, err := natsstore.New(shared, store.Config{Name: "plain"}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	err = s.Start(ctx)
	if err == nil || !strings.Contains(err.Error(), "bucket plain") || !strings.Contains(err.Error(), "per-message TTLs") {
		t.Fatalf("Start on a bucket without per-message TTLs: %v, want an error naming the bucket and why", err)
	}
	if err2 := s.Start(ctx); err2 != err {
		t.Fatalf("a second Start returned %v, want the first's error", err2)
	}

	s, _ = natsstore.New(enginetest.Start(t, enginetest.NoJetStream()), store.Config{}, zap.NewNop())
	if err := s.Start(ctx); err == nil || !strings.Contains(err.Error(), "JetStream") {
		t.Fatalf("Start without JetStream: %v", err)
	}

	idle, err := engine.New(engine.DefaultConfig(), zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	s, _ = natsstore.New(idle, store.Config{}, zap.NewNop())
	if err := s.Start(ctx); err == nil || !strings.Contains(err.Error(), "has not started") {
		t.Fatalf("Start before the engine's: %v", err)
	}

	if _, err := natsstore.New(shared, store.Config{Name: "no spaces"}, nil); err == nil {
		t.Fatal("New accepted a bucket name with a space")
	}
}

// TestFenceRace has writers with fencing tokens 1 to 8 and writers without
// one write the same key at once: the successful fenced writes, in
// revision order, never go back to an older token, and the record ends
// with the largest token, which the unfenced writes kept.
func TestFenceRace(t *testing.T) {
	s := open(t, shared, "fencerace")
	ctx := t.Context()
	type win struct{ rev, fence uint64 }
	var mu sync.Mutex
	var wins []win
	var wg sync.WaitGroup
	for token := uint64(1); token <= 8; token++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for range 30 {
				rev, err := s.Put(ctx, "k", []byte("fenced"), store.PutOptions{Fence: token})
				switch {
				case err == nil:
					mu.Lock()
					wins = append(wins, win{rev, token})
					mu.Unlock()
				case errors.Is(err, store.ErrFenced):
				default:
					t.Error(err)
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			for range 30 {
				if _, err := s.Put(ctx, "k", []byte("unfenced"), store.PutOptions{}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	slices.SortFunc(wins, func(a, b win) int { return cmp.Compare(a.rev, b.rev) })
	var top uint64
	for _, w := range wins {
		if w.fence < top {
			t.Fatalf("a write with fence %d succeeded at revision %d, after one with fence %d", w.fence, w.rev, top)
		}
		top = w.fence
	}
	r, err := s.Get(ctx, "k")
	if err != nil || r.Fence != top {
		t.Fatalf("the record's fence is %d (%v), want %d, the last fenced write's", r.Fence, err, top)
	}
}

// TestClockAheadTakesNoLiveRecord: a store whose host's clock is ahead
// of the server's sees a live record with a time-to-live as long expired;
// its create still fails while the server keeps the record, so that it
// cannot take a lock that another holder keeps alive.
func TestClockAheadTakesNoLiveRecord(t *testing.T) {
	holder := open(t, shared, "skew")
	ahead, err := natsstore.New(shared, store.Config{Name: "skew"}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	natsstore.SetClock(ahead, func() time.Time { return time.Now().Add(10 * time.Second) })
	if err := ahead.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer ahead.Close()
	ctx := t.Context()
	rev, err := holder.Put(ctx, "job", []byte("holder"), store.PutOptions{Create: true, TTL: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ahead.Put(ctx, "job", []byte("ahead"), store.PutOptions{Create: true, TTL: 5 * time.Second}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a create over a live record, by a clock 10 s ahead: %v, want store.conflict", err)
	}
	if r, err := holder.Get(ctx, "job"); err != nil || r.Revision != rev || string(r.Value) != "holder" {
		t.Fatalf("the holder's record: %q revision %d (%v), want its own, revision %d", r.Value, r.Revision, err, rev)
	}
}

func TestMetadataEncoding(t *testing.T) {
	s := open(t, shared, "metadata")
	md := map[string]string{"a=b": "c&d", "é": "line\nbreak\r", "": "empty key", "sp ace": "", "%": "+"}
	rev, err := s.Put(t.Context(), "m", []byte("v"), store.PutOptions{Metadata: md})
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Get(t.Context(), "m")
	if err != nil || r.Revision != rev || !maps.Equal(r.Metadata, md) {
		t.Fatalf("Get = %v, %v; want metadata %v", r.Metadata, err, md)
	}
}

// TestWatchResetsWhenTheBucketIsRemade deletes the bucket under a watch:
// the next write makes it again, and the watch, which cannot resume in a
// new bucket, resets.
func TestWatchResetsWhenTheBucketIsRemade(t *testing.T) {
	s := open(t, shared, "remade")
	ctx := t.Context()
	if _, err := s.Put(ctx, "old", []byte("v"), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	ch, err := s.Watch(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	wantKinds(t, ch, store.EventPut, store.EventSynced)
	js, _ := shared.JetStream()
	if err := js.DeleteKeyValue(ctx, "remade"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, "new", []byte("v"), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	// The watch resets when the bucket goes, and may do so before the
	// write makes it again: then the records after the reset are none,
	// and "new" comes as a change after the EventSynced. Either way, the
	// watch ends with the new bucket's records and nothing of the old.
	wantKinds(t, ch, store.EventReset)
	keys, synced := map[string]bool{}, false
	deadline := time.After(20 * time.Second)
	for !synced || !keys["new"] {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatal("the watch closed")
			}
			switch ev.Kind {
			case store.EventReset:
				keys, synced = map[string]bool{}, false
			case store.EventSynced:
				synced = true
			case store.EventPut:
				keys[ev.Record.Key] = true
			case store.EventDelete:
				delete(keys, ev.Record.Key)
			}
		case <-deadline:
			t.Fatalf("20 s after the reset, the watch has %v (synced %v); want the new bucket's record", keys, synced)
		}
	}
	if len(keys) != 1 {
		t.Fatalf("after the reset, the watch has %v; want only the new bucket's record", keys)
	}
}

// TestWatchResetsAfterMarkersExpire uses a bucket that keeps delete markers
// for a second: a watch cut off by a server restart cannot know it missed
// no delete, so it resets, and reports the delete made while it was away
// by leaving the key out of the records that follow.
func TestWatchResetsAfterMarkersExpire(t *testing.T) {
	srv := enginetest.NewServer(t)
	eng := enginetest.Client(t, srv.URL())
	js, _ := eng.JetStream()
	ctx := t.Context()
	if _, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "short", LimitMarkerTTL: time.Second}); err != nil {
		t.Fatal(err)
	}
	s := open(t, eng, "short")
	for _, k := range []string{"a", "b"} {
		if _, err := s.Put(ctx, k, []byte("v"), store.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	ch, err := s.Watch(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	wantKinds(t, ch, store.EventPut, store.EventPut, store.EventSynced)
	_ = srv.Stop()
	srv.Start()
	evs := wantKinds(t, ch, store.EventReset, store.EventPut, store.EventPut, store.EventSynced)
	if evs[1].Record.Key != "a" && evs[2].Record.Key != "b" {
		t.Fatalf("after the reset: %v", evs)
	}
}

// wantKinds reads events of the kinds given, in order.
func wantKinds(t *testing.T, ch <-chan store.Event, kinds ...store.EventKind) []store.Event {
	t.Helper()
	var evs []store.Event
	for _, k := range kinds {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatal("the watch closed")
			}
			if ev.Kind != k {
				t.Fatalf("event %d (%q), want kind %d; before it: %v", ev.Kind, ev.Record.Key, k, evs)
			}
			evs = append(evs, ev)
		case <-time.After(20 * time.Second):
			t.Fatalf("no event of kind %d in 20s; before: %v", k, evs)
		}
	}
	return evs
}

// TestWatchesStartDuringWrites starts watches while a writer changes and
// deletes keys: each watch's current records name each key once, and the
// watch, applying the changes after them, ends with the store's records.
func TestWatchesStartDuringWrites(t *testing.T) {
	s := open(t, shared, "busy")
	ctx := t.Context()
	const writes = 1500
	done := make(chan error, 1)
	go func() {
		for i := range writes {
			key := fmt.Sprintf("s.%02d", i%20)
			var err error
			if i%5 == 4 {
				err = s.Delete(ctx, key, store.DeleteOptions{})
			} else {
				_, err = s.Put(ctx, key, fmt.Appendf(nil, "v%d", i), store.PutOptions{})
			}
			if err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	var chans []<-chan store.Event
	for range 10 {
		ch, err := s.Watch(ctx, "s.")
		if err != nil {
			t.Fatal(err)
		}
		chans = append(chans, ch)
		time.Sleep(20 * time.Millisecond)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	endRev, err := s.Put(ctx, "s.zz-end", []byte("end"), store.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want, err := s.List(ctx, "s.", store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, ch := range chans {
		model := map[string]store.Record{}
		inSync := false
		for !inSync || model["s.zz-end"].Revision != endRev {
			var ev store.Event
			select {
			case ev = <-ch:
			case <-time.After(10 * time.Second):
				t.Fatalf("watch %d: no event in 10s", i)
			}
			switch ev.Kind {
			case store.EventPut:
				if _, dup := model[ev.Record.Key]; dup && !inSync {
					t.Fatalf("watch %d: %q twice among the current records", i, ev.Record.Key)
				}
				model[ev.Record.Key] = ev.Record
			case store.EventDelete:
				if !inSync {
					t.Fatalf("watch %d: a delete among the current records", i)
				}
				delete(model, ev.Record.Key)
			case store.EventSynced:
				inSync = true
			case store.EventReset:
				clear(model)
				inSync = false
			}
		}
		if len(model) != len(want) {
			t.Fatalf("watch %d ended with %d records, the store has %d", i, len(model), len(want))
		}
		for _, r := range want {
			if m := model[r.Key]; m.Revision != r.Revision || string(m.Value) != string(r.Value) {
				t.Fatalf("watch %d ended with %q = %q (revision %d), the store has %q (revision %d)", i, r.Key, m.Value, m.Revision, r.Value, r.Revision)
			}
		}
	}
}

// TestStalledWatchHoldsNoConsumer leaves a watch unread while more changes
// than it holds are written: once it has fallen behind, it holds no
// consumer on the server until its receiver reads again, and then gets an
// EventReset and the current records.
func TestStalledWatchHoldsNoConsumer(t *testing.T) {
	s := open(t, shared, "stalled")
	ctx := t.Context()
	ch, err := s.Watch(ctx, "b.")
	if err != nil {
		t.Fatal(err)
	}
	wantKinds(t, ch, store.EventSynced)
	for i := range 2000 {
		if _, err := s.Put(ctx, fmt.Sprintf("b.%d", i%10), []byte("v"), store.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	js, _ := shared.JetStream()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err := js.Stream(ctx, "KV_stalled")
		if err != nil {
			t.Fatal(err)
		}
		if n := st.CachedInfo().State.Consumers; n == 0 {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("%d consumers on the bucket while its only watch is stalled", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The receiver reads: the changes it had, then a reset and the current
	// records.
	for timeout := time.After(10 * time.Second); ; {
		select {
		case ev := <-ch:
			if ev.Kind != store.EventReset {
				continue
			}
		case <-timeout:
			t.Fatal("no EventReset in 10s")
		}
		break
	}
	kinds := slices.Repeat([]store.EventKind{store.EventPut}, 10)
	wantKinds(t, ch, append(kinds, store.EventSynced)...)
}

// TestFenceKeptByEveryUnfencedWrite writes a fenced key without a token in
// each way a write can: every one keeps the token, until a delete forgets
// it.
func TestFenceKeptByEveryUnfencedWrite(t *testing.T) {
	s := open(t, shared, "fencekept")
	ctx := t.Context()
	rev, err := s.Put(ctx, "k", []byte("fenced"), store.PutOptions{Fence: 4})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		opts func(rev uint64) store.PutOptions
	}{
		{"unconditional", func(uint64) store.PutOptions { return store.PutOptions{} }},
		{"compare-and-set", func(rev uint64) store.PutOptions { return store.PutOptions{IfRevision: rev} }},
		{"with a TTL", func(uint64) store.PutOptions { return store.PutOptions{TTL: time.Hour} }},
		{"with metadata", func(uint64) store.PutOptions { return store.PutOptions{Metadata: map[string]string{"a": "b"}} }},
	} {
		if rev, err = s.Put(ctx, "k", []byte("unfenced"), c.opts(rev)); err != nil {
			t.Fatalf("Put %s: %v", c.name, err)
		}
		if r, err := s.Get(ctx, "k"); err != nil || r.Fence != 4 || r.Revision != rev {
			t.Fatalf("after a Put %s: fence %d revision %d (%v), want fence 4 revision %d", c.name, r.Fence, r.Revision, err, rev)
		}
	}
	if _, err := s.Put(ctx, "k", []byte("late"), store.PutOptions{Fence: 3}); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("Put with an older token after unfenced writes: %v, want ErrFenced", err)
	}
	if err := s.Delete(ctx, "k", store.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if rev, err = s.Put(ctx, "k", []byte("new"), store.PutOptions{Create: true}); err != nil {
		t.Fatal(err)
	}
	if r, err := s.Get(ctx, "k"); err != nil || r.Fence != 0 || r.Revision != rev {
		t.Fatalf("after a delete and a create: fence %d (%v), want 0", r.Fence, err)
	}
	if _, err := s.Put(ctx, "k", []byte("any"), store.PutOptions{Fence: 1}); err != nil {
		t.Fatalf("Put with token 1 after the delete: %v", err)
	}
}
