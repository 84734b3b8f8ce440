package auth

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/wegomesh/wego/config"
)

var (
	anon     *Account
	alice    = &Account{ID: "alice", Type: User, Scopes: []string{"inventory.read"}}
	admin    = &Account{ID: "root", Type: User, Scopes: []string{"inventory.read", "inventory.admin"}}
	orders   = &Account{ID: "orders", Type: Service}
	billing  = &Account{ID: "billing", Type: Service, Scopes: []string{"billing"}}
	stranger = &Account{ID: "x", Type: "robot"}
)

var testResources = []Resource{
	{Name: "inventory.Reserve"},
	{Name: "inventory.Stock"},
	{Name: "inventory.admin.Reset"},
	{Name: "orders.Place"},
	{Name: "health.Check", Public: true},
	{Name: "billing.Charge", Scopes: []string{"billing"}},
	{Name: "publish:orders.created"},
	{Name: "subscribe:orders.created"},
}

func mustCompile(t testing.TB, rules []Rule, res []Resource) *Table {
	t.Helper()
	tab, err := Compile(rules, res)
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

func decide(t *testing.T, tab *Table, name string, a *Account) Decision {
	t.Helper()
	i, ok := tab.Index(name)
	if !ok {
		t.Fatalf("no resource %q", name)
	}
	return tab.Decide(i, a)
}

// Rule precedence: the highest priority that applies wins, at equal
// priority deny wins, and nothing applying denies.
func TestRulePrecedence(t *testing.T) {
	t.Parallel()
	allow := func(res string, prio int, who ...string) Rule {
		return Rule{Resource: res, Who: who, Access: Allow, Priority: prio}
	}
	deny := func(res string, prio int, who ...string) Rule {
		return Rule{Resource: res, Who: who, Access: Deny, Priority: prio}
	}
	tests := []struct {
		name     string
		rules    []Rule
		resource string
		acct     *Account
		allowed  bool
		reason   Reason
		rule     int
	}{
		{"no rule denies", nil, "inventory.Stock", alice, false, ByDefault, -1},
		{"no rule denies anonymous", nil, "inventory.Stock", anon, false, ByDefault, -1},
		{"authenticated allows an account", []Rule{allow("inventory.*", 0, "authenticated")}, "inventory.Stock", alice, true, ByRule, 0},
		{"authenticated does not allow anonymous", []Rule{allow("inventory.*", 0, "authenticated")}, "inventory.Stock", anon, false, ByDefault, -1},
		{"anyone allows anonymous", []Rule{allow("*", 0, "anyone")}, "orders.Place", anon, true, ByRule, 0},
		{"deny wins at equal priority", []Rule{allow("inventory.*", 0, "authenticated"), deny("inventory.Stock", 0, "type:user")}, "inventory.Stock", alice, false, ByRule, 1},
		{"deny wins at equal priority, in any order", []Rule{deny("inventory.Stock", 0, "type:user"), allow("inventory.*", 0, "authenticated")}, "inventory.Stock", alice, false, ByRule, 0},
		{"higher priority allow beats deny", []Rule{deny("*", 0, "anyone"), allow("inventory.Stock", 1, "scope:inventory.read")}, "inventory.Stock", alice, true, ByRule, 1},
		{"higher priority deny beats allow", []Rule{allow("inventory.*", 0, "anyone"), deny("*", 100, "anyone")}, "inventory.Stock", admin, false, ByRule, 1},
		{"negative priority", []Rule{deny("inventory.*", -1, "anyone"), allow("inventory.Stock", 0, "authenticated")}, "inventory.Stock", alice, true, ByRule, 1},
		{"scope rule does not apply without the scope", []Rule{allow("inventory.*", 0, "scope:inventory.admin")}, "inventory.Stock", alice, false, ByDefault, -1},
		{"scope rule applies with the scope", []Rule{allow("inventory.*", 0, "scope:inventory.admin")}, "inventory.Stock", admin, true, ByRule, 0},
		{"the best of several scopes", []Rule{allow("inventory.*", 0, "scope:inventory.read"), deny("inventory.*", 5, "scope:inventory.admin")}, "inventory.Stock", admin, false, ByRule, 1},
		{"scope above a type deny", []Rule{deny("inventory.*", 0, "type:user"), allow("inventory.Reserve", 1, "scope:inventory.admin")}, "inventory.Reserve", admin, true, ByRule, 1},
		{"scope below a type deny", []Rule{deny("inventory.*", 2, "type:user"), allow("inventory.Reserve", 1, "scope:inventory.admin")}, "inventory.Reserve", admin, false, ByRule, 0},
		{"account rule", []Rule{allow("inventory.Reserve", 0, "account:orders")}, "inventory.Reserve", orders, true, ByRule, 0},
		{"account rule, another service", []Rule{allow("inventory.Reserve", 0, "account:orders")}, "inventory.Reserve", billing, false, ByDefault, -1},
		{"account or scope", []Rule{allow("inventory.Reserve", 10, "account:orders", "scope:inventory.admin")}, "inventory.Reserve", admin, true, ByRule, 0},
		{"type rule", []Rule{allow("inventory.*", 0, "type:service")}, "inventory.Stock", orders, true, ByRule, 0},
		{"type rule, other type", []Rule{allow("inventory.*", 0, "type:service")}, "inventory.Stock", alice, false, ByDefault, -1},
		{"unknown type gets authenticated", []Rule{allow("inventory.*", 0, "authenticated"), deny("inventory.*", 0, "type:user")}, "inventory.Stock", stranger, true, ByRule, 0},
		{"account deny beats scope allow at equal priority", []Rule{allow("inventory.*", 0, "scope:inventory.read"), deny("inventory.Stock", 0, "account:alice")}, "inventory.Stock", alice, false, ByRule, 1},
		{"public", nil, "health.Check", anon, true, ByPublic, -1},
		{"public, denied by a rule", []Rule{deny("health.*", 0, "anyone")}, "health.Check", anon, false, ByRule, 0},
		{"public, below a higher allow", []Rule{allow("health.*", 0, "anyone")}, "health.Check", alice, true, ByRule, 0},
		{"required scopes allow when no rule decides", nil, "billing.Charge", billing, true, ByRequiredScopes, -1},
		{"required scopes deny without them", []Rule{allow("billing.*", 0, "authenticated")}, "billing.Charge", alice, false, ByRequiredScopes, -1},
		{"required scopes deny anonymous", []Rule{allow("*", 0, "anyone")}, "billing.Charge", anon, false, ByRequiredScopes, -1},
		{"required scopes, a rule denies", []Rule{deny("billing.Charge", 0, "account:billing")}, "billing.Charge", billing, false, ByRule, 0},
		{"required scopes, a rule allows", []Rule{allow("billing.Charge", 0, "type:service")}, "billing.Charge", billing, true, ByRule, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab := mustCompile(t, tt.rules, testResources)
			d := decide(t, tab, tt.resource, tt.acct)
			if d.Allowed != tt.allowed || d.Reason != tt.reason || d.Rule != tt.rule {
				t.Errorf("Decide = %+v; want allowed %v by %s, rule %d", d, tt.allowed, tt.reason, tt.rule)
			}
		})
	}
}

// Wildcards: which resources a rule's pattern reaches.
func TestRuleWildcards(t *testing.T) {
	t.Parallel()
	tests := []struct {
		resource string
		reaches  string // the resources allowed, comma-separated
	}{
		// Not billing.Charge: it requires a scope the account lacks.
		{"*", "inventory.Reserve,inventory.Stock,inventory.admin.Reset,orders.Place,health.Check,publish:orders.created,subscribe:orders.created"},
		{"inventory.*", "inventory.Reserve,inventory.Stock,inventory.admin.Reset"},
		{"INVENTORY.*", "inventory.Reserve,inventory.Stock,inventory.admin.Reset"},
		{"inventory.admin.*", "inventory.admin.Reset"},
		{"inventory.reserve", "inventory.Reserve"},
		{"orders.*", "orders.Place"},
		{"publish:*", "publish:orders.created"},
		{"publish:orders.*", "publish:orders.created"},
		{"subscribe:orders.created", "subscribe:orders.created"},
		{"Subscribe:orders.*", "subscribe:orders.created"},
	}
	for _, tt := range tests {
		t.Run(tt.resource, func(t *testing.T) {
			tab := mustCompile(t, []Rule{{Resource: tt.resource, Who: []string{"account:root"}, Access: Allow}}, testResources)
			var got []string
			for i, name := range tab.Resources() {
				if d := tab.Decide(i, admin); d.Allowed && d.Reason == ByRule {
					got = append(got, name)
				}
			}
			if strings.Join(got, ",") != tt.reaches {
				t.Errorf("reaches %s; want %s", strings.Join(got, ","), tt.reaches)
			}
		})
	}
}

// Compile reports every malformed rule and every rule that reaches
// nothing, with the rule's key.
func TestCompileErrors(t *testing.T) {
	t.Parallel()
	rules := []Rule{
		{Resource: "inventory.*", Who: []string{"authenticated"}, Access: Allow},
		{Resource: "inventry.*", Who: []string{"authenticated"}, Access: Allow},
		{Resource: "inventory.Reserv", Who: []string{"anyone"}, Access: Deny},
		{Resource: "inventory", Who: []string{"anyone"}, Access: Allow},
		{Resource: "inventory.*", Who: []string{"everyone"}, Access: Allow},
		{Resource: "inventory.*", Who: []string{"anyone"}, Access: "permit"},
		{Resource: "inventory.*", Access: Allow},
		{Resource: "publish:billing.*", Who: []string{"anyone"}, Access: Allow},
		{Resource: "inventory.*", Who: []string{"type:robot"}, Access: Allow, Origin: "config/dev.yaml auth.rules[8]"},
	}
	_, err := Compile(rules, testResources)
	want := map[string]string{
		"rules[1].resource":                    `"inventry.*" matches no resource`,
		"rules[2].resource":                    `"inventory.Reserv" matches no resource`,
		"rules[3].resource":                    `"inventory" is not a resource pattern`,
		"rules[4].who[0]":                      `"everyone" is not`,
		"rules[5].access":                      `"permit" is not allow or deny`,
		"rules[6].who":                         "name who the rule applies to",
		"rules[7].resource":                    `"publish:billing.*" matches no resource`,
		"config/dev.yaml auth.rules[8].who[0]": "the account type must be user or service",
	}
	got := map[string]string{}
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var ce *config.Error
		if !errors.As(e, &ce) {
			t.Fatalf("%v is not a *config.Error", e)
		}
		got[ce.Key] = ce.Err.Error()
	}
	for key, text := range want {
		if !strings.Contains(got[key], text) {
			t.Errorf("%s: %q, want %q", key, got[key], text)
		}
	}
	if len(got) != len(want) {
		t.Errorf("errors: %v", got)
	}
	if s := config.Under("auth", err).Error(); !strings.Contains(s, "config: auth.rules[1].resource: \"inventry.*\" matches no resource") {
		t.Errorf("under auth: %s", s)
	}

	for _, res := range [][]Resource{
		{{Name: "inventory"}},
		{{Name: "inventory.Stock"}, {Name: "Inventory.stock"}},
		{{Name: "a.B", Public: true, Scopes: []string{"x"}}},
		{{Name: "publish:"}},
		{{Name: "inventory.*"}},
	} {
		if _, err := Compile(nil, res); err == nil {
			t.Errorf("%v: no error", res)
		}
	}
}

func TestUnreached(t *testing.T) {
	t.Parallel()
	tab := mustCompile(t, []Rule{{Resource: "inventory.Stock", Who: []string{"anyone"}, Access: Allow},
		{Resource: "publish:*", Who: []string{"type:service"}, Access: Allow}}, testResources)
	if got := strings.Join(tab.Unreached(), ","); got != "inventory.Reserve,inventory.admin.Reset,orders.Place,subscribe:orders.created" {
		t.Errorf("Unreached = %s", got)
	}
	if r, ok := tab.Rule(1); !ok || r.Resource != "publish:*" {
		t.Errorf("Rule(1) = %v", r)
	}
	if _, ok := tab.Rule(2); ok {
		t.Error("Rule(2) exists")
	}
	if d := tab.Decide(len(testResources), admin); d.Allowed || d.Reason != ByUnknownResource {
		t.Errorf("unknown index: %+v", d)
	}
	if d := tab.Decide(-1, admin); d.Allowed {
		t.Errorf("index -1: %+v", d)
	}
	if _, ok := tab.Index("nope.Nope"); ok {
		t.Error("Index of an unknown name")
	}
	if i, ok := tab.Index("PUBLISH:Orders.Created"); !ok || tab.Resources()[i] != "publish:orders.created" {
		t.Error("Index is not case-insensitive")
	}
	for r, s := range map[Reason]string{ByDefault: "default", ByRule: "rule", ByPublic: "public", ByRequiredScopes: "required_scopes", ByUnknownResource: "unknown_resource", 99: "reason(99)"} {
		if r.String() != s {
			t.Errorf("%d: %s", r, r.String())
		}
	}
}

// bigCatalog returns n commands in n/10 services and n rules: per service,
// scope and type rules, and exact-name denies for some accounts.
func bigCatalog(n int) ([]Rule, []Resource) {
	res := make([]Resource, 0, n)
	for i := range n {
		res = append(res, Resource{Name: fmt.Sprintf("svc%d.Op%d", i/10, i)})
	}
	rules := make([]Rule, 0, n)
	for i := 0; len(rules) < n; i++ {
		s := (i / 4) % (n / 10)
		svc := fmt.Sprintf("svc%d", s)
		switch i % 4 {
		case 0:
			rules = append(rules, Rule{Resource: svc + ".*", Who: []string{"scope:" + svc + ".read"}, Access: Allow, Priority: i % 3})
		case 1:
			rules = append(rules, Rule{Resource: svc + ".*", Who: []string{"type:service"}, Access: Allow})
		case 2:
			rules = append(rules, Rule{Resource: fmt.Sprintf("svc%d.Op%d", s, s*10+i%10), Who: []string{fmt.Sprintf("account:user%d", i)}, Access: Deny, Priority: 1})
		case 3:
			rules = append(rules, Rule{Resource: svc + ".*", Who: []string{"scope:" + svc + ".write", "scope:admin"}, Access: Allow, Priority: 2})
		}
	}
	rules = append(rules[:n-1], Rule{Resource: "*", Who: []string{"anyone"}, Access: Deny, Priority: -1})
	return rules, res
}

var benchAccount = &Account{ID: "user7", Type: User, Scopes: []string{"svc3.read", "svc50.read", "svc77.write"}}

// Deciding does not allocate, for any caller.
func TestDecideAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	rules, res := bigCatalog(1000)
	p := NewPolicy(mustCompile(t, rules, res))
	i, _ := p.Index("svc50.Op505")
	for _, a := range []*Account{nil, benchAccount, orders, admin} {
		if n := testing.AllocsPerRun(1000, func() { sinkDecision = p.Decide(i, a) }); n != 0 {
			t.Errorf("%v: %v allocations", a, n)
		}
	}
	if d := p.Decide(i, benchAccount); !d.Allowed {
		t.Errorf("benchmark account is denied: %+v", d)
	}
}

var sinkDecision Decision

// Reloading the rules under concurrent decisions: each decision is the old
// table's or the new one's, never a mix, and none fails.
func TestPolicyReload(t *testing.T) {
	t.Parallel()
	allowAll := []Rule{{Resource: "*", Who: []string{"authenticated"}, Access: Allow}}
	denyAll := []Rule{{Resource: "*", Who: []string{"anyone"}, Access: Deny}}
	tabs := [2]*Table{mustCompile(t, allowAll, testResources), mustCompile(t, denyAll, testResources)}
	p := NewPolicy(tabs[0])
	i, _ := p.Index("inventory.Stock")
	var stop atomic.Bool
	var wg sync.WaitGroup
	var decisions [2]atomic.Int64
	for range 4 {
		wg.Go(func() {
			for !stop.Load() {
				d := p.Decide(i, alice)
				switch {
				case d.Allowed && d.Reason == ByRule && d.Rule == 0:
					decisions[0].Add(1)
				case !d.Allowed && d.Reason == ByRule && d.Rule == 0:
					decisions[1].Add(1)
				default:
					t.Errorf("torn decision %+v", d)
					return
				}
			}
		})
	}
	for n := range 2000 {
		if err := p.Swap(tabs[n%2]); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	if decisions[0].Load() == 0 || decisions[1].Load() == 0 {
		t.Logf("decisions: %d allowed, %d denied", decisions[0].Load(), decisions[1].Load())
	}
	if err := p.Swap(mustCompile(t, nil, testResources[:2])); err == nil {
		t.Error("Swap to other resources: no error")
	}
	if p.Table() != tabs[1] {
		t.Error("the failed Swap changed the table")
	}
}

func BenchmarkDecide(b *testing.B) {
	rules, res := bigCatalog(1000)
	p := NewPolicy(mustCompile(b, rules, res))
	i, _ := p.Index("svc50.Op505")
	for _, c := range []struct {
		name string
		a    *Account
	}{{"anonymous", nil}, {"service", orders}, {"user3scopes", benchAccount}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sinkDecision = p.Decide(i, c.a)
			}
		})
	}
}

func BenchmarkCompile(b *testing.B) {
	rules, res := bigCatalog(1000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(rules, res); err != nil {
			b.Fatal(err)
		}
	}
}
