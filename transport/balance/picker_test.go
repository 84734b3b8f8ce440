package balance_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wegomesh/wego/config"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/transport/balance"
)

// fakeClock is a clock that moves only when told to.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var policies = []balance.Policy{balance.RoundRobin, balance.Random, balance.P2CInFlight, balance.P2CEWMA}

// newPicker returns a picker with cfg's policy, a fake clock and a seeded
// generator, over nodes.
func newPicker(t testing.TB, cfg balance.Config, clock *fakeClock, nodes ...string) *balance.Picker {
	t.Helper()
	p, err := balance.New(cfg, balance.WithClock(clock), balance.WithRand(rand.New(rand.NewPCG(1, 2))))
	if err != nil {
		t.Fatal(err)
	}
	p.Update(nodes)
	return p
}

func withPolicy(policy balance.Policy) balance.Config {
	cfg := balance.DefaultConfig()
	cfg.Policy = policy
	return cfg
}

// call picks a node and reports err after lat.
func call(p *balance.Picker, clock *fakeClock, lat time.Duration, outcome func(id string) error) string {
	n := p.Pick()
	p.Start(n)
	clock.Advance(lat)
	p.Done(n, outcome(n.ID()), lat)
	return n.ID()
}

func ok(string) error { return nil }

func TestPolicies(t *testing.T) {
	t.Parallel()
	nodes := []string{"a", "b", "c", "d"}
	for _, tt := range []struct {
		policy balance.Policy
		// share of picks of "b", which has 10 calls in flight, in %
		busyMin, busyMax float64
	}{
		{balance.RoundRobin, 25, 25},
		{balance.Random, 22, 28},
		{balance.P2CInFlight, 0, 0},
		{balance.P2CEWMA, 0, 0},
	} {
		t.Run(string(tt.policy), func(t *testing.T) {
			t.Parallel()
			clock := newClock()
			p := newPicker(t, withPolicy(tt.policy), clock, nodes...)
			if p.Policy() != tt.policy {
				t.Errorf("Policy() = %s", p.Policy())
			}
			for range 40 { // warm up the latency estimates
				call(p, clock, time.Millisecond, ok)
			}
			busy := p.Lookup("b")
			for range 10 {
				p.Start(busy)
			}
			counts := map[string]int{}
			var seq []string
			const calls = 4000
			for range calls {
				id := call(p, clock, time.Millisecond, ok)
				counts[id]++
				if len(seq) < 8 {
					seq = append(seq, id)
				}
			}
			if got := 100 * float64(counts["b"]) / calls; got < tt.busyMin || got > tt.busyMax {
				t.Errorf("the busy node got %.1f%% of the calls, want %v%% to %v%% (%v)", got, tt.busyMin, tt.busyMax, counts)
			}
			for _, id := range []string{"a", "c", "d"} {
				if counts[id] < calls/5 {
					t.Errorf("node %s got %d of %d calls", id, counts[id], calls)
				}
			}
			if tt.policy == balance.RoundRobin && (seq[0] == seq[1] || !slices.Equal(seq[:4], seq[4:8])) {
				t.Errorf("round robin order %v", seq)
			}
		})
	}
}

func TestEmptyAndSingle(t *testing.T) {
	t.Parallel()
	for _, policy := range policies {
		clock := newClock()
		p := newPicker(t, withPolicy(policy), clock)
		if n := p.Pick(); n != nil {
			t.Errorf("%s: Pick on an empty set = %v", policy, n.ID())
		}
		if n := p.PickExcept(nil); n != nil {
			t.Errorf("%s: PickExcept on an empty set = %v", policy, n.ID())
		}
		p.Start(nil)
		p.Done(nil, nil, 0)
		p.Update([]string{"a", "a"})
		if got := p.Nodes(); !slices.Equal(got, []string{"a"}) {
			t.Errorf("%s: nodes %v", policy, got)
		}
		a := p.Pick()
		if a == nil || a.ID() != "a" {
			t.Fatalf("%s: Pick = %v", policy, a)
		}
		if n := p.PickExcept(a); n != nil {
			t.Errorf("%s: PickExcept(the only node) = %v", policy, n.ID())
		}
		// A lone node is never ejected (max_share 0.5 of 1 node is 0).
		for range 100 {
			p.Start(a)
			p.Done(a, errs.Unavailable(), time.Millisecond)
		}
		if ej := p.Ejected(); len(ej) != 0 {
			t.Errorf("%s: a lone node ejected: %v", policy, ej)
		}
	}
}

func TestPickExcept(t *testing.T) {
	t.Parallel()
	for _, policy := range policies {
		p := newPicker(t, withPolicy(policy), newClock(), "a", "b", "c")
		for range 100 {
			x := p.Pick()
			if n := p.PickExcept(x); n == nil || n == x {
				t.Fatalf("%s: PickExcept(%s) = %v", policy, x.ID(), n)
			}
		}
	}
}

// sim is a discrete-event simulation of callers that each send one call
// at a time to a picker, over a fake clock.
type sim struct {
	p       *balance.Picker
	clock   *fakeClock
	latency func(id string) time.Duration
	outcome func(id string) error
	pending []pending // sorted by end
}

type pending struct {
	n   *balance.Node
	end time.Time
	lat time.Duration
}

// run makes calls calls with callers calls in flight, and returns the
// node of each.
func (s *sim) run(callers, calls int) []string {
	out := make([]string, 0, calls)
	for len(out) < calls {
		for len(s.pending) < callers && len(out) < calls {
			n := s.p.Pick()
			s.p.Start(n)
			lat := s.latency(n.ID())
			e := pending{n: n, end: s.clock.Now().Add(lat), lat: lat}
			i, _ := slices.BinarySearchFunc(s.pending, e, func(a, b pending) int { return a.end.Compare(b.end) })
			s.pending = slices.Insert(s.pending, i, e)
			out = append(out, n.ID())
		}
		// The next call to end.
		e := s.pending[0]
		s.pending = s.pending[1:]
		if d := e.end.Sub(s.clock.Now()); d > 0 {
			s.clock.Advance(d)
		}
		s.p.Done(e.n, s.outcome(e.n.ID()), e.lat)
	}
	return out
}

func share(ids []string, id string) float64 {
	n := 0
	for _, x := range ids {
		if x == id {
			n++
		}
	}
	return float64(n) / float64(len(ids))
}

// One of four nodes 5ms slower than the others gets at most 10% of the
// calls under P2CEWMA; random choice gives it 25%.
func TestSlowNode(t *testing.T) {
	t.Parallel()
	lat := func(id string) time.Duration {
		if id == "slow" {
			return 6 * time.Millisecond
		}
		return time.Millisecond
	}
	for _, tt := range []struct {
		policy   balance.Policy
		callers  int
		min, max float64
	}{
		{balance.P2CEWMA, 1, 0, 0.10},
		{balance.P2CEWMA, 16, 0, 0.10},
		{balance.P2CEWMA, 64, 0, 0.10},
		{balance.P2CInFlight, 16, 0, 0.15}, // in flight shows slowness too
		{balance.Random, 16, 0.22, 0.28},
	} {
		t.Run(fmt.Sprintf("%s/%d", tt.policy, tt.callers), func(t *testing.T) {
			t.Parallel()
			clock := newClock()
			s := &sim{p: newPicker(t, withPolicy(tt.policy), clock, "a", "b", "slow", "c"), clock: clock, latency: lat, outcome: ok}
			ids := s.run(tt.callers, 20000)
			got := share(ids, "slow")
			t.Logf("the slow node got %.2f%% of the calls", 100*got)
			if got < tt.min || got > tt.max {
				t.Errorf("the slow node got %.1f%% of the calls, want %.0f%% to %.0f%%", 100*got, 100*tt.min, 100*tt.max)
			}
		})
	}
}

// Answers of every node are sometimes slow for reasons of the caller's
// own (one in a thousand 3 ms late: a pause of its process): a node 5 ms
// slower than the others still gets at most 0.5 % of the calls, so the
// 99th percentile of the calls' time stays that of healthy nodes. Were a
// late answer to hold a busy node's estimate up for seconds, the slow node
// would look no worse and get 2 % of them, and the 99th percentile would
// be its 5 ms.
func TestSlowNodeAmongNoisyOnes(t *testing.T) {
	t.Parallel()
	run := func(slow bool) (float64, time.Duration) {
		clock := newClock()
		rng := rand.New(rand.NewPCG(3, 4))
		var lats []time.Duration
		s := &sim{p: newPicker(t, withPolicy(balance.P2CEWMA), clock, "a", "b", "c", "d"), clock: clock, outcome: ok,
			latency: func(id string) time.Duration {
				d := 300 * time.Microsecond
				if slow && id == "d" {
					d += 5 * time.Millisecond
				}
				if rng.IntN(1000) == 0 {
					d += 3 * time.Millisecond
				}
				lats = append(lats, d)
				return d
			}}
		s.run(8, 2000)
		lats = lats[:0]
		got := share(s.run(8, 40000), "d")
		slices.Sort(lats)
		return got, lats[len(lats)*99/100]
	}
	got, p99 := run(true)
	_, healthy := run(false)
	t.Logf("the slow node got %.2f%% of the calls; p99 %v, %v without it", 100*got, p99, healthy)
	if got > 0.005 {
		t.Errorf("the slow node got %.2f%% of the calls, want at most 0.5%%", 100*got)
	}
	if p99 > healthy*6/5 {
		t.Errorf("p99 %v with the slow node, %v without: want at most 1.2×", p99, healthy)
	}
}

// One of four nodes always fails: after its first 20 failures, at least
// 95% of the calls avoid it; once it recovers, its calls return within two
// probe intervals (its current ejection's length).
func TestFailingNode(t *testing.T) {
	t.Parallel()
	for _, policy := range policies {
		t.Run(string(policy), func(t *testing.T) {
			t.Parallel()
			clock := newClock()
			broken := true
			fails := 0
			s := &sim{
				p: newPicker(t, withPolicy(policy), clock, "a", "b", "bad", "c"), clock: clock,
				latency: func(string) time.Duration { return 20 * time.Millisecond },
				outcome: func(id string) error {
					if id == "bad" && broken {
						fails++
						return errs.Unavailable()
					}
					return nil
				},
			}
			for fails < 20 {
				s.run(4, 100)
			}
			ids := s.run(4, 20000)
			if got := share(ids, "bad"); got > 0.05 {
				t.Errorf("after 20 failures the failing node still gets %.1f%% of the calls", 100*got)
			}
			if ej := s.p.Ejected(); !slices.Equal(ej, []string{"bad"}) {
				t.Errorf("ejected %v, want [bad]", ej)
			}

			// It recovers; its ejection now lasts up to 30s.
			broken = false
			recovered := clock.Now()
			for {
				ids := s.run(4, 400)
				if len(s.p.Ejected()) == 0 && share(ids, "bad") > 0 {
					break
				}
				if clock.Now().Sub(recovered) > 2*balance.DefaultEjectionMax {
					t.Fatalf("no call to the recovered node %s after it recovered", clock.Now().Sub(recovered))
				}
			}
			ids = s.run(4, 4000)
			if got := share(ids, "bad"); got < 0.15 {
				t.Errorf("the recovered node gets %.1f%% of the calls", 100*got)
			}
		})
	}
}

// A node whose ejection ends is on probation: a fault ejects it again for
// twice as long, up to the maximum; an answer closes the probation and
// the next ejection is short again.
func TestBackoff(t *testing.T) {
	t.Parallel()
	clock := newClock()
	cfg := withPolicy(balance.RoundRobin)
	cfg.Ejection.ConsecutiveFailures = 3
	cfg.Ejection.Base = time.Second
	cfg.Ejection.Max = 5 * time.Second
	p := newPicker(t, cfg, clock, "a", "b")
	b := p.Lookup("b")
	fail := func(n *balance.Node) {
		p.Start(n)
		p.Done(n, errs.Internal(), time.Millisecond)
	}
	ejected := func() bool { return slices.Contains(p.Ejected(), "b") }
	// picked reports whether b gets calls, after an outcome on a: the
	// picker's time moves with the outcomes of calls.
	picked := func() bool {
		a := p.Lookup("a")
		p.Start(a)
		p.Done(a, nil, time.Millisecond)
		for range 4 {
			if p.Pick() == b {
				return true
			}
		}
		return false
	}
	fail(b)
	fail(b)
	if ejected() {
		t.Fatal("ejected after 2 faults of 3")
	}
	fail(b)
	if !ejected() || picked() {
		t.Fatal("not ejected after 3 faults")
	}
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second} {
		clock.Advance(want - time.Millisecond)
		if picked() {
			t.Fatalf("ejection %d: picked before %s", i+1, want)
		}
		clock.Advance(time.Millisecond)
		if !picked() || ejected() {
			t.Fatalf("ejection %d: not readmitted after %s", i+1, want)
		}
		fail(b) // on probation: one fault ejects again
		if !ejected() {
			t.Fatalf("ejection %d: a fault on probation did not eject", i+1)
		}
	}
	clock.Advance(5 * time.Second)
	if !picked() {
		t.Fatal("not readmitted")
	}
	p.Start(b)
	p.Done(b, nil, time.Millisecond) // closes the probation
	fail(b)
	if ejected() {
		t.Fatal("one fault after a closed probation ejected")
	}
	fail(b)
	fail(b)
	clock.Advance(time.Second)
	if !picked() {
		t.Error("after a closed probation, the next ejection is not back to the base")
	}
}

// Canceled calls never count against a node and do not break a run of
// faults; client errors end it.
func TestOutcomes(t *testing.T) {
	t.Parallel()
	clock := newClock()
	p := newPicker(t, balance.DefaultConfig(), clock, "a", "b", "c", "d")
	a := p.Lookup("a")
	done := func(err error) {
		p.Start(a)
		p.Done(a, err, time.Millisecond)
	}
	for range 1000 {
		done(context.Canceled)
		done(errs.Canceled())
		done(fmt.Errorf("call: %w", context.Canceled))
	}
	for range 100 {
		for _, err := range []error{errs.NotFound(), errs.New(errs.KindInvalidArgument), errs.New(errs.KindConflict), errs.New(errs.KindResourceExhausted)} {
			done(errs.Internal())
			done(errs.Unavailable())
			done(context.DeadlineExceeded)
			done(errs.New(errs.KindDeadlineExceeded))
			done(err) // four faults and an answer: never five in a row
		}
	}
	if ej := p.Ejected(); len(ej) != 0 {
		t.Fatalf("ejected %v", ej)
	}
	for range 4 {
		done(errs.Unavailable())
		done(context.Canceled)
	}
	if ej := p.Ejected(); len(ej) != 0 {
		t.Fatalf("ejected after 4 faults: %v", ej)
	}
	done(errs.Unavailable())
	if ej := p.Ejected(); !slices.Equal(ej, []string{"a"}) {
		t.Fatalf("ejected %v after 5 faults with cancellations between them, want [a]", ej)
	}
}

// At most max_share of the nodes are ejected at once; when one comes
// back, another can go.
func TestMaxShare(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		nodes int
		share float64
		want  int
	}{{4, 0.5, 2}, {5, 0.5, 2}, {3, 0.5, 1}, {2, 0.5, 1}, {1, 0.5, 0}, {4, 0, 0}, {4, 1, 4}, {10, 0.3, 3}} {
		clock := newClock()
		cfg := balance.DefaultConfig()
		cfg.Ejection.MaxShare = tt.share
		var ids []string
		for i := range tt.nodes {
			ids = append(ids, fmt.Sprint("n", i))
		}
		p := newPicker(t, cfg, clock, ids...)
		for range 10 {
			for _, id := range ids {
				n := p.Lookup(id)
				p.Start(n)
				p.Done(n, errs.Unavailable(), time.Millisecond)
			}
		}
		if got := len(p.Ejected()); got != tt.want {
			t.Errorf("%d nodes, max_share %v: %d ejected, want %d", tt.nodes, tt.share, got, tt.want)
		}
		if p.Pick() == nil {
			t.Errorf("%d nodes, max_share %v: no node to pick", tt.nodes, tt.share)
		}
	}
}

// A node added by Update gets calls at once; nodes that stay keep their
// state.
func TestUpdate(t *testing.T) {
	t.Parallel()
	for _, policy := range policies {
		t.Run(string(policy), func(t *testing.T) {
			t.Parallel()
			clock := newClock()
			p := newPicker(t, withPolicy(policy), clock, "a", "b", "c", "d")
			for range 100 {
				call(p, clock, time.Millisecond, ok)
			}
			d := p.Lookup("d")
			for range 5 {
				p.Start(d)
				p.Done(d, errs.Unavailable(), time.Millisecond)
			}
			busy := p.Lookup("a")
			p.Start(busy)

			p.Update([]string{"a", "c", "d", "new"})
			if p.Lookup("b") != nil || p.Lookup("a") != busy || p.Lookup("d") != d {
				t.Fatal("Update did not keep the nodes that stay")
			}
			if ej := p.Ejected(); !slices.Equal(ej, []string{"d"}) {
				t.Errorf("ejected %v after Update, want [d]", ej)
			}
			first := -1
			for i := range 30 {
				if call(p, clock, time.Millisecond, ok) == "new" {
					first = i
					break
				}
			}
			if first < 0 {
				t.Error("the new node got none of the first 30 calls")
			}
			// A call to a node that left ends without harm.
			p.Done(busy, nil, time.Millisecond)
			p.Update([]string{"c"})
			if ej := p.Ejected(); len(ej) != 0 {
				t.Errorf("ejected %v", ej)
			}
			if n := p.Pick(); n == nil || n.ID() != "c" {
				t.Errorf("Pick = %v, want c", n)
			}
			p.Update(nil)
			if n := p.Pick(); n != nil {
				t.Errorf("Pick on an empty set = %v", n.ID())
			}
		})
	}
}

// When nodes leave, ejected ones over the share come back on probation.
func TestUpdateKeepsShare(t *testing.T) {
	t.Parallel()
	clock := newClock()
	p := newPicker(t, balance.DefaultConfig(), clock, "a", "b", "c", "d")
	for _, id := range []string{"a", "b"} {
		n := p.Lookup(id)
		for range 5 {
			p.Start(n)
			p.Done(n, errs.Unavailable(), time.Millisecond)
		}
	}
	if len(p.Ejected()) != 2 {
		t.Fatalf("ejected %v", p.Ejected())
	}
	p.Update([]string{"a", "b", "c"})
	if len(p.Ejected()) != 1 {
		t.Errorf("3 nodes, ejected %v, want one", p.Ejected())
	}
}

func TestConcurrent(t *testing.T) {
	t.Parallel()
	for _, policy := range policies {
		t.Run(string(policy), func(t *testing.T) {
			t.Parallel()
			cfg := withPolicy(policy)
			cfg.Ejection.Base = time.Millisecond
			cfg.Ejection.Max = 4 * time.Millisecond
			p, err := balance.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			sets := [][]string{{"a", "b", "c", "d"}, {"a", "c"}, {"b", "c", "d", "e", "f"}, {"a"}, {}}
			p.Update(sets[0])
			var wg sync.WaitGroup
			for g := range 4 {
				wg.Go(func() {
					outcomes := []error{nil, nil, errs.Unavailable(), context.Canceled, errs.NotFound()}
					for i := range 2000 {
						n := p.Pick()
						if n == nil {
							continue
						}
						if i%7 == 0 {
							n = p.PickExcept(n)
						}
						p.Start(n)
						p.Done(n, outcomes[(i+g)%len(outcomes)], time.Duration(i%5)*time.Millisecond)
					}
				})
			}
			wg.Go(func() {
				for i := range 200 {
					p.Update(sets[i%len(sets)])
					_ = p.Ejected()
					_ = p.Lookup("a")
				}
			})
			wg.Wait()
		})
	}
}

func TestPickAllocations(t *testing.T) {
	// Not parallel: AllocsPerRun measures the whole process.
	for _, policy := range policies {
		cfg := withPolicy(policy)
		p, err := balance.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		p.Update([]string{"a", "b", "c", "d"})
		fault := errs.Unavailable()
		i := 0
		if n := testing.AllocsPerRun(1000, func() {
			n := p.Pick()
			p.Start(n)
			var err error
			if i++; i%3 == 0 {
				err = fault
			}
			p.Done(n, err, time.Millisecond)
		}); n != 0 {
			t.Errorf("%s: %v allocations per Pick, Start and Done", policy, n)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	if err := balance.DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	if err := (balance.Config{}).Validate(); err != nil {
		t.Fatalf("zero Config: %v", err)
	}
	p, err := balance.New(balance.Config{})
	if err != nil || p.Policy() != balance.DefaultPolicy {
		t.Fatalf("zero Config: %v, %v", p, err)
	}
	for _, tt := range []struct {
		mod func(*balance.Config)
		key string
	}{
		{func(c *balance.Config) { c.Policy = "least_conn" }, "policy"},
		{func(c *balance.Config) { c.Ejection.ConsecutiveFailures = -1 }, "ejection.consecutive_failures"},
		{func(c *balance.Config) { c.Ejection.Base = 0 }, "ejection.base"},
		{func(c *balance.Config) { c.Ejection.Max = time.Millisecond }, "ejection.max"},
		{func(c *balance.Config) { c.Ejection.MaxShare = 1.5 }, "ejection.max_share"},
		{func(c *balance.Config) { c.Ejection.MaxShare = -0.1 }, "ejection.max_share"},
	} {
		cfg := balance.DefaultConfig()
		tt.mod(&cfg)
		err := cfg.Validate()
		var ce *config.Error
		if !errors.As(err, &ce) || ce.Key != tt.key {
			t.Errorf("%+v: %v, want a *config.Error for %s", cfg, err, tt.key)
			continue
		}
		if _, err := balance.New(cfg); err == nil {
			t.Errorf("New accepted %+v", cfg)
		}
	}
	off := balance.DefaultConfig()
	off.Ejection = balance.Ejection{}
	if err := off.Validate(); err != nil {
		t.Errorf("ejection off: %v", err)
	}
}

// The section decodes from configuration with its documented keys.
func TestConfigSection(t *testing.T) {
	t.Parallel()
	c, err := config.Load(config.Defaults(map[string]any{
		"balance": map[string]any{
			"policy":   "p2c_ewma",
			"ejection": map[string]any{"consecutive_failures": 3, "base": "2s", "max": "1m", "max_share": 0.25},
		},
	}))
	if err != nil {
		t.Fatal(err)
	}
	got, err := config.GetWithDefaults(c, "balance", balance.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	want := balance.Config{Policy: balance.P2CEWMA, Ejection: balance.Ejection{ConsecutiveFailures: 3, Base: 2 * time.Second, Max: time.Minute, MaxShare: 0.25}}
	if got != want {
		t.Errorf("decoded %+v, want %+v", got, want)
	}
}
