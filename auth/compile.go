package auth

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/wegomesh/wego/config"
)

// Resource is a command or an event topic that rules may reach, as
// [Compile] takes it: its name, and what its code says about access.
type Resource struct {
	// Name is a command name ("inventory.Reserve") or an event resource
	// ("publish:orders.created", see [PublishResource];
	// "subscribe:shipping.OnOrderCreated", see [SubscribeResource]).
	Name string
	// Public lets anyone call, authenticated or not, unless a rule denies:
	// it counts as a rule {Resource: Name, Who: anyone, Access: allow,
	// Priority: 0}.
	Public bool
	// Scopes are scopes the code requires: an account that lacks one of
	// them is denied whatever the rules say, and one that holds them all
	// is allowed when no rule decides (instead of being denied by
	// default).
	Scopes []string
}

// Resources returns resources of the given names, neither public nor
// requiring scopes.
func Resources(names ...string) []Resource {
	rs := make([]Resource, len(names))
	for i, n := range names {
		rs[i] = Resource{Name: n}
	}
	return rs
}

// Reason says what decided a [Decision].
type Reason uint8

// The reasons.
const (
	// ByDefault: no rule applies to the caller; denied.
	ByDefault Reason = iota
	// ByRule: the rule [Decision.Rule] decided.
	ByRule
	// ByPublic: the resource is public (see [Resource.Public]).
	ByPublic
	// ByRequiredScopes: the scopes the code requires decided (see
	// [Resource.Scopes]).
	ByRequiredScopes
	// ByUnknownResource: the resource index is not the table's; denied.
	ByUnknownResource
)

var reasonNames = [...]string{"default", "rule", "public", "required_scopes", "unknown_resource"}

// String returns the reason in snake case, for logs and audit records.
func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "reason(" + strconv.Itoa(int(r)) + ")"
}

// Decision is the answer to one call.
type Decision struct {
	// Allowed reports whether the call may proceed.
	Allowed bool
	// Reason says what decided.
	Reason Reason
	// Rule is the index, in the rules given to [Compile], of the rule
	// that decided when Reason is [ByRule], and -1 otherwise.
	Rule int
}

// noRank: no rule applies.
const noRank = math.MaxInt32

// Table is compiled rules: for each resource, the decision for any caller,
// found without allocation in time that does not grow with the number of
// rules or resources. Make it with [Compile]; it is immutable and safe for
// concurrent use. Swap tables with a [Policy].
type Table struct {
	names    []string       // resources as given, by index
	index    map[string]int // lower-cased name -> index
	rules    []Rule         // as given
	res      []*resPolicy   // by resource index; shared between resources with the same rules
	outcome  []Decision     // by rank
	scopeIDs map[string]int32
	acctIDs  map[string]int32
	reached  []bool
}

// resPolicy is what the rules say about one resource: for each kind of
// caller, the best (lowest) rank among the rules that apply to it.
//
// Scopes and account ids are looked up in one of two ways. A resource that
// few of them reach (at most shortList) keeps them in a list sorted by
// rank, compared with the account's scopes without hashing: the first
// match is the best. Otherwise it keeps the ranks in a slice indexed by
// the table's ids of scopes or accounts, found in the table's maps.
type resPolicy struct {
	anon       int32
	types      [3]int32 // user, service, other
	minScope   int32
	scopeList  []ranked
	scopes     []int32 // by scope id, when scopeList is too long
	minAccount int32
	acctList   []ranked
	accounts   []int32 // by account id, when acctList is too long
	required   []string
}

// ranked is a scope or an account id and the best rank of the rules that
// name it.
type ranked struct {
	name string
	rank int32
}

// shortList is the longest list of scopes or accounts searched without
// hashing.
const shortList = 8

// Compile checks rules against the resources that exist and compiles them.
// Every problem is reported, joined: a rule that is malformed or whose
// resource matches no resource is a [*config.Error] whose key is the
// rule's Origin, or "rules[i]", followed by the field ("rules[2].resource:
// "inventry.*" matches no resource"); a resource name that is not a
// command or event name, a name given twice, and a public resource that
// requires scopes are errors too.
//
// Resources that no rule reaches — neither public nor requiring scopes,
// and matched by no rule — are denied to everybody; [Table.Unreached] lists
// them, for a start-up log line.
func Compile(rules []Rule, resources []Resource) (*Table, error) {
	var problems []error
	t := &Table{
		names:    make([]string, len(resources)),
		index:    make(map[string]int, len(resources)),
		rules:    slices.Clone(rules),
		res:      make([]*resPolicy, len(resources)),
		scopeIDs: map[string]int32{},
		acctIDs:  map[string]int32{},
		reached:  make([]bool, len(resources)),
	}
	type res struct {
		kind  uint8
		lower string
	}
	rs := make([]res, len(resources))
	for i, r := range resources {
		t.names[i] = r.Name
		kind, lower, ok := parseResource(r.Name)
		if !ok {
			problems = append(problems, fmt.Errorf("auth: resource %q is not a command name (service.Operation) nor publish: or subscribe: and a topic", r.Name))
			continue
		}
		if r.Public && len(r.Scopes) > 0 {
			problems = append(problems, fmt.Errorf("auth: resource %q is public and requires scopes: choose one", r.Name))
		}
		key := kindPrefixes[kind] + lower
		if j, dup := t.index[key]; dup {
			problems = append(problems, fmt.Errorf("auth: resource %q is given twice (and as %q)", r.Name, resources[j].Name))
			continue
		}
		t.index[key] = i
		rs[i] = res{kind, lower}
	}

	// Parse the rules; public resources add one rule each, after them.
	type entry struct {
		parsed   parsedRule
		priority int
		index    int    // into rules, or -1 for a public resource's rule
		origin   string // for errors
	}
	entries := make([]entry, 0, len(rules))
	for i, r := range rules {
		origin := r.Origin
		if origin == "" {
			origin = "rules[" + strconv.Itoa(i) + "]"
		}
		p, field, err := r.parse()
		if err != nil {
			problems = append(problems, &config.Error{Key: origin + "." + field, Err: err})
			continue
		}
		entries = append(entries, entry{parsed: p, priority: r.Priority, index: i, origin: origin})
	}
	for _, r := range resources {
		if r.Public {
			p, _ := parsePattern(r.Name)
			entries = append(entries, entry{parsed: parsedRule{pat: p, who: []who{{kind: whoAnyone}}}, index: -1})
		}
	}
	// Rank: higher priority first; at equal priority deny first; then in
	// the order given (which decides nothing, as equal ranks of one
	// access give the same answer).
	slices.SortStableFunc(entries, func(a, b entry) int {
		if c := cmp.Compare(b.priority, a.priority); c != 0 {
			return c
		}
		switch {
		case a.parsed.deny && !b.parsed.deny:
			return -1
		case !a.parsed.deny && b.parsed.deny:
			return 1
		}
		return 0
	})
	t.outcome = make([]Decision, len(entries))
	for rank, e := range entries {
		d := Decision{Allowed: !e.parsed.deny, Reason: ByRule, Rule: e.index}
		if e.index < 0 {
			d.Reason = ByPublic
		}
		t.outcome[rank] = d
		for _, w := range e.parsed.who {
			switch w.kind {
			case whoScope:
				if _, ok := t.scopeIDs[w.value]; !ok {
					t.scopeIDs[w.value] = int32(len(t.scopeIDs))
				}
			case whoAccount:
				if _, ok := t.acctIDs[w.value]; !ok {
					t.acctIDs[w.value] = int32(len(t.acctIDs))
				}
			}
		}
	}

	// Match every rule against every resource, once.
	matched := make([][]int32, len(resources)) // ranks, ascending
	for rank, e := range entries {
		n := 0
		for i, r := range rs {
			if r.lower != "" && e.parsed.pat.match(r.kind, r.lower) {
				matched[i] = append(matched[i], int32(rank))
				n++
			}
		}
		if n == 0 && e.index >= 0 {
			problems = append(problems, &config.Error{Key: e.origin + ".resource",
				Err: fmt.Errorf("%q matches no resource", rules[e.index].Resource)})
		}
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}

	// Build one policy per distinct set of rules and requirements.
	shared := map[string]*resPolicy{}
	var key strings.Builder
	for i, r := range resources {
		key.Reset()
		for _, rank := range matched[i] {
			key.WriteString(strconv.Itoa(int(rank)))
			key.WriteByte(',')
			if entries[rank].index >= 0 {
				t.reached[i] = true
			}
		}
		req := slices.Compact(slices.Sorted(slices.Values(r.Scopes)))
		for _, s := range req {
			key.WriteByte(0)
			key.WriteString(s)
		}
		if r.Public || len(req) > 0 {
			t.reached[i] = true
		}
		if p, ok := shared[key.String()]; ok {
			t.res[i] = p
			continue
		}
		p := t.policy(matched[i], func(rank int32) []who { return entries[rank].parsed.who })
		if len(req) > 0 {
			p.required = req
		}
		shared[key.String()] = p
		t.res[i] = p
	}
	return t, nil
}

// policy builds the policy of a resource from the ranks of the rules that
// match it.
func (t *Table) policy(ranks []int32, whoOf func(int32) []who) *resPolicy {
	p := &resPolicy{anon: noRank, types: [3]int32{noRank, noRank, noRank}, minScope: noRank, minAccount: noRank}
	lower := func(dst *int32, r int32) { *dst = min(*dst, r) }
	for _, rank := range ranks {
		for _, w := range whoOf(rank) {
			switch w.kind {
			case whoAnyone:
				lower(&p.anon, rank)
				for i := range p.types {
					lower(&p.types[i], rank)
				}
			case whoAuthenticated:
				for i := range p.types {
					lower(&p.types[i], rank)
				}
			case whoType:
				lower(&p.types[typeIndex(AccountType(w.value))], rank)
			case whoScope:
				p.scopeList = addRanked(p.scopeList, w.value, rank)
				lower(&p.minScope, rank)
			case whoAccount:
				p.acctList = addRanked(p.acctList, w.value, rank)
				lower(&p.minAccount, rank)
			}
		}
	}
	p.scopeList, p.scopes = denseIfLong(p.scopeList, t.scopeIDs)
	p.acctList, p.accounts = denseIfLong(p.acctList, t.acctIDs)
	return p
}

// addRanked keeps the best rank of each name. Ranks arrive in ascending
// order, so the first one of a name is its best and the list stays sorted.
func addRanked(list []ranked, name string, rank int32) []ranked {
	for _, e := range list {
		if e.name == name {
			return list
		}
	}
	return append(list, ranked{name, rank})
}

// denseIfLong turns a long list into a slice of ranks indexed by ids.
func denseIfLong(list []ranked, ids map[string]int32) ([]ranked, []int32) {
	if len(list) <= shortList {
		return list, nil
	}
	dense := filled(len(ids))
	for _, e := range list {
		dense[ids[e.name]] = e.rank
	}
	return nil, dense
}

func filled(n int) []int32 {
	s := make([]int32, n)
	for i := range s {
		s[i] = noRank
	}
	return s
}

func typeIndex(t AccountType) int {
	switch t {
	case User:
		return 0
	case Service:
		return 1
	}
	return 2
}

// Decide returns the decision for a call of resource i (see [Table.Index])
// by account a, nil for an anonymous caller. It does not allocate; its
// time grows with the account's scopes, not with the rules or resources.
//
// A denied anonymous caller should be answered as unauthenticated (it may
// succeed with a credential), a denied account as permission denied.
func (t *Table) Decide(i int, a *Account) Decision {
	if uint(i) >= uint(len(t.res)) {
		return Decision{Reason: ByUnknownResource, Rule: -1}
	}
	p := t.res[i]
	best := p.anon
	if a != nil {
		best = p.types[typeIndex(a.Type)]
		if p.minScope < best {
			if p.scopes == nil {
			list:
				for _, e := range p.scopeList {
					if e.rank >= best {
						break
					}
					for _, s := range a.Scopes {
						if s == e.name {
							best = e.rank
							break list
						}
					}
				}
			} else {
				for _, s := range a.Scopes {
					if id, ok := t.scopeIDs[s]; ok && p.scopes[id] < best {
						best = p.scopes[id]
					}
				}
			}
		}
		if p.minAccount < best {
			if p.accounts == nil {
				for _, e := range p.acctList {
					if e.rank >= best {
						break
					}
					if e.name == a.ID {
						best = e.rank
						break
					}
				}
			} else if id, ok := t.acctIDs[a.ID]; ok && p.accounts[id] < best {
				best = p.accounts[id]
			}
		}
	}
	d := Decision{Reason: ByDefault, Rule: -1}
	if best != noRank {
		d = t.outcome[best]
	}
	if p.required != nil {
		if a == nil || !holdsAll(a.Scopes, p.required) {
			return Decision{Reason: ByRequiredScopes, Rule: -1}
		}
		if d.Reason == ByDefault {
			return Decision{Allowed: true, Reason: ByRequiredScopes, Rule: -1}
		}
	}
	return d
}

func holdsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// Index returns the index of a resource for [Table.Decide], looked up
// without regard to case. Look it up once (when a chain is built), not per
// call.
func (t *Table) Index(name string) (int, bool) {
	kind, lower, ok := parseResource(name)
	if !ok {
		return -1, false
	}
	i, ok := t.index[kindPrefixes[kind]+lower]
	if !ok {
		return -1, false
	}
	return i, true
}

// Resources returns the names of the resources, in the order given to
// [Compile] (their indexes).
func (t *Table) Resources() []string { return slices.Clone(t.names) }

// Rule returns the rule of index i as given to [Compile], for logs and
// audit records that name the rule that decided.
func (t *Table) Rule(i int) (Rule, bool) {
	if i < 0 || i >= len(t.rules) {
		return Rule{}, false
	}
	return t.rules[i], true
}

// Unreached returns the resources that no rule reaches, in order: neither
// public nor requiring scopes, and matched by no rule, they are denied to
// every caller.
func (t *Table) Unreached() []string {
	var out []string
	for i, ok := range t.reached {
		if !ok {
			out = append(out, t.names[i])
		}
	}
	return out
}

// Policy holds the [Table] in force and swaps it atomically when the rules
// are reloaded: a call is decided by one table, the old or the new, never
// by a mix. It is safe for concurrent use.
type Policy struct {
	t atomic.Pointer[Table]
}

// NewPolicy returns a policy that enforces t.
func NewPolicy(t *Table) *Policy {
	p := &Policy{}
	p.t.Store(t)
	return p
}

// Table returns the table in force.
func (p *Policy) Table() *Table { return p.t.Load() }

// Swap puts t in force. It must have the resources of the table in force,
// in the same order, so that the indexes that chains hold stay right;
// otherwise Swap changes nothing and returns an error.
func (p *Policy) Swap(t *Table) error {
	if old := p.t.Load(); !slices.Equal(old.names, t.names) {
		return errors.New("auth: the new rules were compiled for other resources than the rules in force")
	}
	p.t.Store(t)
	return nil
}

// Decide is [Table.Decide] on the table in force.
func (p *Policy) Decide(i int, a *Account) Decision { return p.t.Load().Decide(i, a) }

// Index is [Table.Index] on the table in force; indexes stay valid across
// [Policy.Swap].
func (p *Policy) Index(name string) (int, bool) { return p.t.Load().Index(name) }
