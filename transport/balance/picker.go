package balance

import (
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	errs "github.com/wegomesh/wego/err"
)

// Node is one member of a [Picker]'s set, as [Picker.Pick] returns it.
// The same *Node stands for its id for as long as the id stays in the
// set, with its calls in flight, latency estimate and ejection state.
type Node struct {
	id        string
	inflight  atomic.Int64
	fails     atomic.Int32 // server faults in a row
	probation atomic.Bool  // readmitted; the next outcome decides

	ewmaMu sync.Mutex    // serializes observations
	cost   atomic.Uint64 // math.Float64bits of the latency estimate, in ns
	stamp  atomic.Int64  // picker time of the last observation

	// Under Picker.mu.
	ejected bool
	until   int64 // picker time at which an ejection ends
	level   int   // ejections in a row, for the backoff
}

// ID returns the node's id, as given to [Picker.Update].
func (n *Node) ID() string { return n.id }

// Clock is the time source of a [Picker]; tests replace it to drive
// ejections and latency estimates without sleeping.
type Clock interface {
	Now() time.Time
}

// Option configures a [Picker].
type Option interface{ apply(*Picker) }

type optionFunc func(*Picker)

func (f optionFunc) apply(p *Picker) { f(p) }

// WithClock sets the clock. Default: the system's monotonic clock.
func WithClock(c Clock) Option {
	return optionFunc(func(p *Picker) { p.clock = c })
}

// WithRand sets the source of the random choices, for reproducible tests;
// the picker serializes its use. Default: math/rand/v2's generator, which
// needs no lock.
func WithRand(r *rand.Rand) Option {
	return optionFunc(func(p *Picker) { p.rng = r })
}

const never = math.MaxInt64

// Picker chooses the node of each call among a set of nodes, following its
// [Policy], and ejects nodes that keep failing (see the package
// documentation). It is safe for concurrent use; the set can be replaced
// with [Picker.Update] while calls run.
type Picker struct {
	policy    Policy
	threshold int32 // 0: no ejection
	base, max int64
	share     float64

	clock Clock
	epoch time.Time
	rngMu sync.Mutex
	rng   *rand.Rand

	rr      atomic.Uint64
	cur     atomic.Pointer[set]
	lastNow atomic.Int64 // picker time of the latest clock reading
	mu      sync.Mutex   // ejections, readmissions and updates
}

// set is an immutable snapshot of the nodes; changes replace it.
type set struct {
	nodes    []*Node // in the order given to Update
	byID     map[string]*Node
	eligible []*Node // the nodes calls may go to
	readmit  int64   // when the earliest ejection ends; never without one
	limit    int     // nodes that may be ejected at once
}

var emptySet = &set{readmit: never}

// New returns a picker configured by cfg, with no node: call
// [Picker.Update] to give it some. It fails with the error of
// [Config.Validate] when cfg cannot work.
func New(cfg Config, opts ...Option) (*Picker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Picker{policy: cfg.Policy}
	if p.policy == "" {
		p.policy = DefaultPolicy
	}
	if e := cfg.Ejection; e.ConsecutiveFailures > 0 {
		p.threshold = int32(min(e.ConsecutiveFailures, math.MaxInt32))
		p.base, p.max, p.share = int64(e.Base), int64(e.Max), e.MaxShare
	}
	for _, o := range opts {
		if o != nil {
			o.apply(p)
		}
	}
	if p.clock != nil {
		p.epoch = p.clock.Now()
	} else {
		p.epoch = time.Now()
	}
	p.cur.Store(emptySet)
	return p, nil
}

// Policy returns the picker's policy.
func (p *Picker) Policy() Policy { return p.policy }

// tick reads the clock: it returns the time since the picker's epoch
// and records it for Pick, which reads no clock (a clock reading costs
// more than a pick on some virtual machines).
func (p *Picker) tick() int64 {
	var now int64
	if p.clock == nil {
		now = int64(time.Since(p.epoch))
	} else {
		now = int64(p.clock.Now().Sub(p.epoch))
	}
	for {
		last := p.lastNow.Load()
		if now <= last || p.lastNow.CompareAndSwap(last, now) {
			return now
		}
	}
}

func (p *Picker) rand64() uint64 {
	if p.rng == nil {
		return rand.Uint64()
	}
	p.rngMu.Lock()
	v := p.rng.Uint64()
	p.rngMu.Unlock()
	return v
}

// bounded maps x uniformly to [0, n) without a division.
func bounded(x uint32, n int) int { return int(uint64(x) * uint64(n) >> 32) }

// Update replaces the set of nodes with ids (duplicates count once).
// Nodes that stay keep their state — calls in flight, latency estimate,
// ejection — and new ones start fresh: a new node can be picked by the
// next call. Calls in flight to a node that leaves finish normally; their
// outcomes no longer matter.
func (p *Picker) Update(ids []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.cur.Load()
	nodes := make([]*Node, 0, len(ids))
	byID := make(map[string]*Node, len(ids))
	for _, id := range ids {
		if _, dup := byID[id]; dup {
			continue
		}
		n := old.byID[id]
		if n == nil {
			n = &Node{id: id}
		}
		byID[id] = n
		nodes = append(nodes, n)
	}
	p.cur.Store(p.build(nodes, byID))
}

// Nodes returns the ids of the nodes, in the order given to Update.
func (p *Picker) Nodes() []string {
	s := p.cur.Load()
	ids := make([]string, len(s.nodes))
	for i, n := range s.nodes {
		ids[i] = n.id
	}
	return ids
}

// Ejected returns the ids of the nodes ejected now, in the order given to
// Update.
func (p *Picker) Ejected() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var ids []string
	for _, n := range p.cur.Load().nodes {
		if n.ejected {
			ids = append(ids, n.id)
		}
	}
	return ids
}

// Lookup returns the node of id, or nil when id is not in the set.
func (p *Picker) Lookup(id string) *Node { return p.cur.Load().byID[id] }

// build returns the snapshot of nodes, with p.mu held: it readmits, on
// probation, the ejected nodes over the limit (the ones whose ejection
// ends first), and lets calls go to every node when all are ejected.
func (p *Picker) build(nodes []*Node, byID map[string]*Node) *set {
	s := &set{nodes: nodes, byID: byID, readmit: never}
	if p.threshold > 0 {
		s.limit = int(float64(len(nodes)) * p.share)
	}
	ejected := 0
	for _, n := range nodes {
		if n.ejected {
			ejected++
		}
	}
	for ; ejected > s.limit; ejected-- {
		var first *Node
		for _, n := range nodes {
			if n.ejected && (first == nil || n.until < first.until) {
				first = n
			}
		}
		first.ejected = false
		first.probation.Store(true)
	}
	s.eligible = make([]*Node, 0, len(nodes)-ejected)
	for _, n := range nodes {
		if n.ejected {
			s.readmit = min(s.readmit, n.until)
		} else {
			s.eligible = append(s.eligible, n)
		}
	}
	if len(s.eligible) == 0 {
		s.eligible = nodes
	}
	return s
}

// readmit ends the ejections that are over at now, putting their nodes on
// probation, and returns the current snapshot.
func (p *Picker) readmit(now int64) *set {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.cur.Load()
	if now < s.readmit {
		return s // another call did it
	}
	for _, n := range s.nodes {
		if n.ejected && n.until <= now {
			n.ejected = false
			n.probation.Store(true)
		}
	}
	s = p.build(s.nodes, s.byID)
	p.cur.Store(s)
	return s
}

// Pick returns the node of the next call, or nil when the set is empty.
// It chooses among the nodes that are not ejected, following the policy,
// and neither allocates, nor reads the clock, nor takes a lock (but when
// an ejection ends). It records nothing: call [Picker.Start] when the
// call is sent, so that a call that a middleware stops before it reaches
// the node does not count.
//
// Pick's time is that of the latest outcome ([Picker.Done]): an ejection
// ends, and latency estimates decay, as the calls' outcomes arrive, so
// that after an idle period the first call sees the picker as it was.
func (p *Picker) Pick() *Node {
	s := p.cur.Load()
	now := p.lastNow.Load()
	if now >= s.readmit {
		s = p.readmit(now)
	}
	return p.choose(s.eligible, now)
}

func (p *Picker) choose(e []*Node, now int64) *Node {
	switch len(e) {
	case 0:
		return nil
	case 1:
		return e[0]
	}
	switch p.policy {
	case RoundRobin:
		return e[(p.rr.Add(1)-1)%uint64(len(e))]
	case Random:
		return e[bounded(uint32(p.rand64()), len(e))]
	}
	r := p.rand64()
	i, j := bounded(uint32(r), len(e)), bounded(uint32(r>>32), len(e)-1)
	if j >= i {
		j++
	}
	a, b := e[i], e[j]
	if p.policy == P2CInFlight {
		if b.inflight.Load() < a.inflight.Load() {
			return b
		}
		return a
	}
	if b.load(now) < a.load(now) {
		return b
	}
	return a
}

// PickExcept returns a node other than x for the next call, as Pick
// chooses it, or nil when no node but x may be called: for a second
// attempt of a call that failed on x.
func (p *Picker) PickExcept(x *Node) *Node {
	for range 3 {
		if n := p.Pick(); n != x {
			return n
		}
	}
	s := p.cur.Load()
	e := s.eligible
	if len(e) == 0 {
		return nil
	}
	start := bounded(uint32(p.rand64()), len(e))
	for k := range e {
		if n := e[(start+k)%len(e)]; n != x {
			return n
		}
	}
	return nil
}

// Start records that a call to n is sent; every Start must be followed by
// one [Picker.Done]. A nil n does nothing.
func (p *Picker) Start(n *Node) {
	if n != nil {
		n.inflight.Add(1)
	}
}

// Done records the outcome of a call to n that [Picker.Start] recorded:
// its error (nil for a success) and how long it took (read only by
// [P2CEWMA]; other policies need no clock reading per call).
//
// Only server faults ([errs.Kind.ServerFault]: internal, unavailable,
// deadline_exceeded) count against the node; a canceled call
// ([errs.KindCanceled], context.Canceled) counts neither for nor against
// it and its latency is ignored; any other outcome, client errors such as
// not_found included, shows that the node answers: it ends a run of
// faults and a probation. The node is ejected after
// ejection.consecutive_failures faults in a row, or after one fault on
// probation, unless that would eject more than ejection.max_share of the
// nodes. A nil n does nothing.
func (p *Picker) Done(n *Node, err error, latency time.Duration) {
	if n == nil {
		return
	}
	n.inflight.Add(-1)
	k := errs.KindOf(err)
	if k == errs.KindCanceled {
		return
	}
	fault := k.ServerFault()
	var now int64
	if p.policy == P2CEWMA || fault || p.cur.Load().readmit != never {
		now = p.tick() // Pick's time moves only here
	}
	if p.policy == P2CEWMA {
		n.observe(now, float64(max(latency, 0)), fault)
	}
	if fault {
		p.fault(n, now)
		return
	}
	if n.fails.Load() != 0 {
		n.fails.Store(0)
	}
	if n.probation.Load() {
		p.mu.Lock()
		if n.probation.Load() {
			n.probation.Store(false)
			n.level = 0
		}
		p.mu.Unlock()
	}
}

// fault counts a server fault of n and ejects n when it must.
func (p *Picker) fault(n *Node, now int64) {
	f := n.fails.Add(1)
	if p.threshold == 0 || (f < p.threshold && !n.probation.Load()) {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.cur.Load()
	if n.ejected || s.byID[n.id] != n {
		return // ejected already, or no longer in the set
	}
	ejected := 0
	for _, m := range s.nodes {
		if m.ejected {
			ejected++
		}
	}
	if ejected >= s.limit {
		return // the next fault tries again
	}
	n.level = min(n.level+1, 62)
	n.until = now + p.backoff(n.level)
	n.ejected = true
	n.probation.Store(false)
	n.fails.Store(0)
	p.cur.Store(p.build(s.nodes, s.byID))
}

// backoff returns the length of the level-th ejection in a row: base,
// doubling, at most max.
func (p *Picker) backoff(level int) int64 {
	d := p.base
	for i := 1; i < level; i++ {
		if d > p.max/2 {
			return p.max
		}
		d *= 2
	}
	return min(d, p.max)
}

// penalty is the cost of a node with calls in flight and no latency
// observed yet: it gets no second call before its first one answers.
const penalty = 1e15

// load returns n's cost under P2CEWMA at now: its peak-EWMA latency,
// decayed since the last observation, times its calls in flight plus one.
func (n *Node) load(now int64) float64 {
	c := math.Float64frombits(n.cost.Load())
	pending := float64(n.inflight.Load())
	if c == 0 {
		if pending > 0 {
			return penalty + pending
		}
		return 0
	}
	if td := now - n.stamp.Load(); td > 0 {
		c *= math.Exp(-float64(td) / float64(Decay))
	}
	return c * (pending + 1)
}

// recent is the number of answers that a node's latency estimate follows
// when they come faster than [Decay]: each faster answer moves it by at
// least 1/recent of the difference.
const recent = 16

// observe updates n's latency estimate with rtt (ns) at now. A slower
// latency replaces the estimate at once; a faster one moves it by the
// weight of the time since the last observation, and at least by
// 1/recent, unless it comes from a fault (up): a node that fails fast
// must not look fast.
func (n *Node) observe(now int64, rtt float64, up bool) {
	n.ewmaMu.Lock()
	c := math.Float64frombits(n.cost.Load())
	switch {
	case rtt > c:
		c = rtt
	case up:
	default:
		// The weight of the time since the last observation, and at
		// least 1/recent: on a node that answers thousands of calls a
		// second, one slow answer (a pause of the caller's process, a
		// garbage collection) would otherwise hold the estimate up for
		// seconds, and a node that is really slower would look no worse
		// than the others.
		td := max(now-n.stamp.Load(), 0)
		w := min(math.Exp(-float64(td)/float64(Decay)), 1-1.0/recent)
		c = c*w + rtt*(1-w)
	}
	n.cost.Store(math.Float64bits(c))
	n.stamp.Store(now)
	n.ewmaMu.Unlock()
}
