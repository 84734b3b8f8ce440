// Package registrytest is the conformance suite of [registry.Registry]:
// every implementation runs it, so that code written against one behaves
// the same with any other.
//
//	func TestConformance(t *testing.T) {
//		registrytest.Run(t, func(t *testing.T) registrytest.Harness {
//			backend := newBackend(t)
//			return registrytest.Harness{
//				New: func(t *testing.T, cfg registry.Config) registry.Registry { return backend.registry(t, cfg) },
//			}
//		})
//	}
//
// The suite checks that registered nodes are found by every registry of
// the backend, sorted by ID; that Watch sends the current set first, then
// each change, and no heartbeat; that a deregistered node is gone at once
// and one whose heartbeats stop (its registry closed without deregistering
// it, as a killed process) is gone within the TTL, while a live one
// outlives many; that malformed nodes are refused and malformed entries
// ignored; that a closed registry says so; and that concurrent use is
// safe (run it with -race).
package registrytest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/wegomesh/wego/registry"
)

// Harness is what the suite needs of an implementation.
type Harness struct {
	// New returns a registry configured with cfg over the backend that
	// every registry of this harness shares, as one process of a mesh
	// would have it; started, if it is a [registry.Starter]. The suite
	// closes it.
	New func(t *testing.T, cfg registry.Config) registry.Registry
	// PutRaw stores value under key in the backend, as a program of
	// another version or a broken one would, for the suite to check that
	// the registries ignore it. Nil skips that check.
	PutRaw func(t *testing.T, key string, value []byte)
}

// Heartbeat and TTL are the timing the suite configures its registries
// with. NATS counts TTLs in whole seconds, so 1s is the shortest.
const (
	Heartbeat = 200 * time.Millisecond
	TTL       = time.Second
)

// Slack is how much later than promised the suite accepts a change: the
// time for an entry to travel through the backend, and the granularity
// with which a backend expires entries.
const Slack = time.Second

// Run runs the suite. harness is called once per subtest, which runs in
// parallel with the others: give each its own backend, or make sure that
// nothing else writes to the one they share.
func Run(t *testing.T, harness func(t *testing.T) Harness) {
	tests := []struct {
		name string
		run  func(t *testing.T, h Harness)
	}{
		{"RegisterLookupDeregister", testRegisterLookupDeregister},
		{"WatchSendsCurrentThenChanges", testWatch},
		{"StoppedHeartbeatsExpire", testExpiry},
		{"LiveNodesOutliveTheTTL", testLive},
		{"MalformedNodesAreRefused", testInvalid},
		{"MalformedEntriesAreIgnored", testMalformedEntries},
		{"Closed", testClosed},
		{"Concurrent", testConcurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, harness(t))
		})
	}
}

func config() registry.Config {
	return registry.Config{Heartbeat: Heartbeat, TTL: TTL}
}

// open returns a registry of h that the test closes when it ends.
func open(t *testing.T, h Harness) registry.Registry {
	t.Helper()
	r := h.New(t, config())
	t.Cleanup(func() {
		if err := r.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return r
}

func node(service, id string) registry.Node {
	return registry.Node{
		Service:   service,
		ID:        id,
		Version:   "1.0.0",
		Endpoints: map[string]string{"http": "http://10.0.0.1:8080"},
		Metadata:  map[string]string{"zone": "a"},
	}
}

func register(t *testing.T, r registry.Registry, n registry.Node) {
	t.Helper()
	if err := r.Register(t.Context(), n); err != nil {
		t.Fatalf("Register %s.%s: %v", n.Service, n.ID, err)
	}
}

func deregister(t *testing.T, r registry.Registry, service, id string) {
	t.Helper()
	if err := r.Deregister(t.Context(), service, id); err != nil {
		t.Fatalf("Deregister %s.%s: %v", service, id, err)
	}
}

func lookup(t *testing.T, r registry.Registry, service string) []registry.Node {
	t.Helper()
	nodes, err := r.Lookup(service)
	if err != nil {
		t.Fatalf("Lookup %s: %v", service, err)
	}
	return nodes
}

// within waits until r's nodes of service are want, failing after d.
func within(t *testing.T, d time.Duration, r registry.Registry, service string, want ...registry.Node) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		got := lookup(t, r, service)
		if same(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Lookup %s after %s:\n got %s\nwant %s", service, d, show(got), show(want))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func same(got, want []registry.Node) bool {
	if len(got) == 0 && len(want) == 0 {
		return true
	}
	return reflect.DeepEqual(got, want)
}

func show(nodes []registry.Node) string {
	s := "["
	for i, n := range nodes {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("%s.%s%v", n.Service, n.ID, n.Metadata)
	}
	return s + "]"
}

// next receives the next set from ch, failing after d.
func next(t *testing.T, ch <-chan []registry.Node, d time.Duration) []registry.Node {
	t.Helper()
	select {
	case nodes, ok := <-ch:
		if !ok {
			t.Fatal("the watch channel closed")
		}
		return nodes
	case <-time.After(d):
		t.Fatalf("nothing from the watch within %s", d)
		return nil
	}
}

// expect receives sets from ch until one is want, failing after d: a
// backend may show an intermediate set (two writes seen apart).
func expect(t *testing.T, ch <-chan []registry.Node, d time.Duration, want ...registry.Node) {
	t.Helper()
	deadline := time.After(d)
	var got []registry.Node
	for {
		select {
		case nodes, ok := <-ch:
			if !ok {
				t.Fatal("the watch channel closed")
			}
			if got = nodes; same(got, want) {
				return
			}
		case <-deadline:
			t.Fatalf("watch after %s:\n last %s\n want %s", d, show(got), show(want))
		}
	}
}

func testRegisterLookupDeregister(t *testing.T, h Harness) {
	a, b := open(t, h), open(t, h)
	n1, n2 := node("inventory", "n1"), node("inventory", "n2")
	register(t, a, n2)
	register(t, b, n1)
	within(t, Slack, a, "inventory", n1, n2)
	within(t, Slack, b, "inventory", n1, n2)

	// Registering again replaces the entry.
	n2.Metadata = map[string]string{"zone": "b"}
	register(t, a, n2)
	within(t, Slack, b, "inventory", n1, n2)

	// Deregistering is seen at once, not at the end of the TTL.
	began := time.Now()
	deregister(t, a, "inventory", "n2")
	within(t, TTL/2, b, "inventory", n1)
	within(t, TTL/2, a, "inventory", n1)
	t.Logf("deregistration seen after %s", time.Since(began))
	deregister(t, a, "inventory", "n2") // again: not an error
	deregister(t, a, "inventory", "unknown")

	if nodes := lookup(t, a, "orders"); len(nodes) != 0 {
		t.Fatalf("Lookup of a service without nodes: %v", nodes)
	}
	if _, err := a.Lookup("not a service!"); !errors.Is(err, registry.ErrInvalidNode) {
		t.Fatalf("Lookup of a malformed name: %v, want ErrInvalidNode", err)
	}
}

func testWatch(t *testing.T, h Harness) {
	a, b := open(t, h), open(t, h)
	n1, n2 := node("inventory", "n1"), node("inventory", "n2")
	register(t, a, n1)
	within(t, Slack, b, "inventory", n1)

	ctx, cancel := context.WithCancel(t.Context())
	ch, err := b.Watch(ctx, "inventory")
	if err != nil {
		t.Fatal(err)
	}
	if got := next(t, ch, Slack); !same(got, []registry.Node{n1}) {
		t.Fatalf("first set %s, want the current one [inventory.n1]", show(got))
	}
	empty, err := b.Watch(t.Context(), "orders")
	if err != nil {
		t.Fatal(err)
	}
	if got := next(t, empty, Slack); len(got) != 0 {
		t.Fatalf("first set of a service without nodes: %s", show(got))
	}

	register(t, a, n2)
	expect(t, ch, Slack, n1, n2)
	deregister(t, a, "inventory", "n1")
	expect(t, ch, TTL/2, n2)

	// Heartbeats change nothing and send nothing.
	select {
	case got := <-ch:
		t.Fatalf("a set without a change: %s", show(got))
	case <-time.After(3 * Heartbeat):
	}

	cancel()
	select {
	case _, ok := <-ch:
		for ok {
			_, ok = <-ch
		}
	case <-time.After(Slack):
		t.Fatal("the channel did not close when the context ended")
	}
}

func testExpiry(t *testing.T, h Harness) {
	a, b := h.New(t, config()), open(t, h)
	n := node("inventory", "killed")
	register(t, a, n)
	within(t, Slack, b, "inventory", n)
	// Close without Deregister: the heartbeats stop, as when a process
	// is killed, and the entry lives out its TTL.
	if err := a.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	within(t, TTL+Slack, b, "inventory")
	gone := time.Since(stopped)
	t.Logf("a node without heartbeats gone after %s (TTL %s)", gone, TTL)
	if gone < TTL-Heartbeat-100*time.Millisecond {
		t.Fatalf("gone after %s, before its TTL (%s) could end: Close deregistered it", gone, TTL)
	}
}

func testLive(t *testing.T, h Harness) {
	a, b := open(t, h), open(t, h)
	n := node("inventory", "live")
	register(t, a, n)
	within(t, Slack, b, "inventory", n)
	ch, err := b.Watch(t.Context(), "inventory")
	if err != nil {
		t.Fatal(err)
	}
	next(t, ch, Slack)
	select {
	case got := <-ch:
		t.Fatalf("a live node's set changed: %s", show(got))
	case <-time.After(5 * TTL / 2):
	}
	within(t, 0, b, "inventory", n)
}

func testInvalid(t *testing.T, h Harness) {
	r := open(t, h)
	bad := []registry.Node{
		{Service: "", ID: "x"},
		{Service: "inventory", ID: ""},
		{Service: "inventory", ID: "a.b"},
		{Service: "in ventory", ID: "x"},
		{Service: ".inventory", ID: "x"},
		{Service: "inventory", ID: "x", Endpoints: map[string]string{"http": "not a url"}},
		{Service: "inventory", ID: "x", Endpoints: map[string]string{"http": "http://"}},
		{Service: "inventory", ID: "x", Endpoints: map[string]string{"HTTP": "http://h:1"}},
		{Service: "inventory", ID: "x", Metadata: map[string]string{"k": "line\nbreak"}},
		{Service: "inventory", ID: "x", Metadata: map[string]string{"k": string(make([]byte, 300))}},
		{Service: "inventory", ID: "x", Version: "\x00"},
	}
	many := map[string]string{}
	for i := range 20 {
		many[fmt.Sprintf("k%d", i)] = "v"
	}
	bad = append(bad, registry.Node{Service: "inventory", ID: "x", Metadata: many})
	for _, n := range bad {
		if err := r.Register(t.Context(), n); !errors.Is(err, registry.ErrInvalidNode) {
			t.Errorf("Register %+v: %v, want ErrInvalidNode", n, err)
		}
	}
	register(t, r, node("inventory", "ok"))
	within(t, Slack, r, "inventory", node("inventory", "ok"))
}

func testMalformedEntries(t *testing.T, h Harness) {
	if h.PutRaw == nil {
		t.Skip("the harness has no PutRaw")
	}
	r := open(t, h)
	other := `{"format":2,"service":"inventory","id":"v2","endpoints":{"http":"http://10.0.0.1:1"}}`
	h.PutRaw(t, "inventory.garbage", []byte("{not json"))
	h.PutRaw(t, "inventory.v2", []byte(other))
	h.PutRaw(t, "inventory.noformat", []byte(`{"service":"inventory","id":"noformat"}`))
	h.PutRaw(t, "inventory.elsewhere", []byte(`{"format":1,"service":"inventory","id":"other"}`))
	h.PutRaw(t, "inventory.badurl", []byte(`{"format":1,"service":"inventory","id":"badurl","endpoints":{"http":"http://[::"}}`))
	h.PutRaw(t, "inventory.huge", []byte(`{"format":1,"service":"inventory","id":"huge","version":"`+string(make([]byte, registry.MaxEntrySize))+`"}`))
	h.PutRaw(t, "nodot", []byte(`{}`))
	good := registry.Node{Service: "inventory", ID: "good"}
	h.PutRaw(t, "inventory.good", []byte(`{"format":1,"service":"inventory","id":"good","future_field":true}`))
	within(t, Slack, r, "inventory", good)

	// A node whose entry turns bad is dropped.
	h.PutRaw(t, "inventory.turns", []byte(`{"format":1,"service":"inventory","id":"turns"}`))
	within(t, Slack, r, "inventory", good, registry.Node{Service: "inventory", ID: "turns"})
	h.PutRaw(t, "inventory.turns", []byte(other))
	within(t, Slack, r, "inventory", good)
}

func testClosed(t *testing.T, h Harness) {
	r := h.New(t, config())
	ch, err := r.Watch(t.Context(), "inventory")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(Slack)
	for open := true; open; {
		select {
		case _, open = <-ch:
		case <-timeout:
			t.Fatal("a watch channel stays open after Close")
		}
	}
	if err := r.Close(t.Context()); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := r.Register(t.Context(), node("inventory", "x")); !errors.Is(err, registry.ErrClosed) {
		t.Errorf("Register after Close: %v, want ErrClosed", err)
	}
	if _, err := r.Lookup("inventory"); !errors.Is(err, registry.ErrClosed) {
		t.Errorf("Lookup after Close: %v, want ErrClosed", err)
	}
	if _, err := r.Watch(t.Context(), "inventory"); !errors.Is(err, registry.ErrClosed) {
		t.Errorf("Watch after Close: %v, want ErrClosed", err)
	}
}

func testConcurrent(t *testing.T, h Harness) {
	regs := []registry.Registry{open(t, h), open(t, h), open(t, h)}
	const perRegistry = 5
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var readers sync.WaitGroup
	for _, r := range regs {
		ch, err := r.Watch(ctx, "inventory")
		if err != nil {
			t.Fatal(err)
		}
		readers.Add(2)
		go func() {
			defer readers.Done()
			for nodes := range ch {
				for _, n := range nodes {
					_ = n.Endpoints["http"] // read what is shared
				}
			}
		}()
		go func() {
			defer readers.Done()
			for ctx.Err() == nil {
				if _, err := r.Lookup("inventory"); err != nil {
					t.Error(err)
					return
				}
				time.Sleep(time.Millisecond)
			}
		}()
	}
	var writers sync.WaitGroup
	var want []registry.Node
	for i, r := range regs {
		for j := range perRegistry {
			id := fmt.Sprintf("r%d-n%d", i, j)
			want = append(want, node("inventory", id))
			writers.Go(func() {
				for k := range 3 {
					n := node("inventory", id)
					n.Metadata = map[string]string{"round": fmt.Sprint(k)}
					if err := r.Register(ctx, n); err != nil {
						t.Error(err)
						return
					}
					if k < 2 {
						if err := r.Deregister(ctx, "inventory", id); err != nil {
							t.Error(err)
							return
						}
					}
				}
				if err := r.Register(ctx, node("inventory", id)); err != nil {
					t.Error(err)
				}
			})
		}
	}
	writers.Wait()
	// The IDs sort as r0-n0 ... r2-n4, the order they were made in.
	for _, r := range regs {
		within(t, Slack, r, "inventory", want...)
	}
	cancel()
	readers.Wait()
}
