package auth

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	errs "github.com/wegomesh/wego/err"
)

// FuzzAuthenticate feeds arbitrary Authorization headers to the parser
// and the providers: nothing panics, every failure is unauthenticated, and
// no error holds the credential.
func FuzzAuthenticate(f *testing.F) {
	k := testKeys()
	c := newClock()
	now := c.Now()
	f.Add("Bearer " + sign(f, jwt.SigningMethodHS256, k.secret, "hs", claimsAt(now)))
	f.Add("Bearer " + sign(f, jwt.SigningMethodRS256, k.rsa, "rs", claimsAt(now)))
	f.Add("Bearer " + sign(f, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", claimsAt(now)))
	f.Add("Bearer " + sign(f, jwt.SigningMethodHS256, []byte(pemPublic(f, &k.rsa.PublicKey)), "rs", claimsAt(now)))
	f.Add("Bearer eyJhbGciOiJIUzI1NiJ9.e30.")
	f.Add("Bearer e30.e30.e30")
	f.Add("ApiKey wego_0123456789")
	f.Add("Basic dXNlcjpwYXNz")
	f.Add("Bearer \xff\x00")
	f.Add("")
	j := testJWT(f, c)
	key, hash, _ := GenerateAPIKey()
	f.Add("ApiKey " + key)
	keys, err := NewAPIKeys(APIKey{ID: "k", Hash: hash, Account: Account{ID: "bot"}})
	if err != nil {
		f.Fatal(err)
	}
	p := Providers{Bearer: j, APIKey: keys}
	f.Fuzz(func(t *testing.T, header string) {
		cred, err := ParseAuthorization(header)
		if err == nil {
			var a *Account
			a, err = p.Authenticate(context.Background(), cred)
			if err == nil {
				if a == nil || a.ID == "" {
					t.Fatalf("no error and no account: %v", a)
				}
				return
			}
		}
		if errs.KindOf(err) != errs.KindUnauthenticated {
			t.Fatalf("kind %v: %v", errs.KindOf(err), err)
		}
		if e, ok := errs.As(err); !ok || !strings.HasPrefix(e.Code(), "auth.") {
			t.Fatalf("not an auth error: %v", err)
		}
		value := strings.TrimSpace(header)
		if i := strings.IndexByte(value, ' '); i >= 0 {
			value = strings.TrimSpace(value[i:])
		}
		for part := range strings.SplitSeq(value, ".") {
			if len(part) >= 8 && strings.Contains(err.Error(), part) {
				t.Fatalf("error %q holds part of the credential", err)
			}
		}
	})
}

// FuzzRuleMatch checks the resource patterns against a plain reference:
// no panic, and the same answer.
func FuzzRuleMatch(f *testing.F) {
	for _, s := range [][2]string{
		{"*", "a.B"}, {"inventory.*", "inventory.Reserve"}, {"inventory.*", "inventoryx.Reserve"},
		{"inventory.*", "inventory"}, {"publish:orders.*", "publish:orders.created"},
		{"publish:*", "subscribe:x"}, {"Inventory.RESERVE", "inventory.reserve"}, {"a.b.*", "a.b.c.D"},
		{"publish:*", "publish:"}, {".*", "a.b"}, {"a..*", "a..b"}, {"publish:a", "publish:a"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pat, name string) {
		p, perr := parsePattern(pat)
		kind, lower, ok := parseResource(name)
		if perr != nil || !ok {
			return
		}
		if got, want := p.match(kind, lower), referenceMatch(pat, name); got != want {
			t.Fatalf("%q matches %q: %v, reference %v", pat, name, got, want)
		}
	})
}

// referenceMatch is the pattern rule written plainly, for valid patterns
// and names.
func referenceMatch(pat, name string) bool {
	if pat == "*" {
		return true
	}
	pat, name = strings.ToLower(pat), strings.ToLower(name)
	pk, nk := "", ""
	for _, k := range []string{"publish:", "subscribe:"} {
		if rest, ok := strings.CutPrefix(pat, k); ok && rest != "" {
			pk, pat = k, rest
		}
		if rest, ok := strings.CutPrefix(name, k); ok && rest != "" {
			nk, name = k, rest
		}
	}
	if pk != nk {
		return false
	}
	if pat == "*" {
		return true
	}
	if prefix, ok := strings.CutSuffix(pat, "*"); ok {
		return strings.HasPrefix(name, prefix) && len(name) > len(prefix)
	}
	return pat == name
}

// referenceDecide is the precedence rule written plainly: every rule is
// looked at for every call.
func referenceDecide(rules []Rule, r Resource, a *Account) Decision {
	best, bestPrio, bestDeny := -2, 0, false
	consider := func(i, prio int, deny bool) {
		if best == -2 || prio > bestPrio || prio == bestPrio && deny && !bestDeny {
			best, bestPrio, bestDeny = i, prio, deny
		}
	}
	for i, rule := range rules {
		if !referenceMatch(rule.Resource, r.Name) || !referenceApplies(rule.Who, a) {
			continue
		}
		consider(i, rule.Priority, rule.Access == Deny)
	}
	if r.Public {
		consider(-1, 0, false)
	}
	d := Decision{Reason: ByDefault, Rule: -1}
	switch {
	case best == -1:
		d = Decision{Allowed: true, Reason: ByPublic, Rule: -1}
	case best >= 0:
		d = Decision{Allowed: !bestDeny, Reason: ByRule, Rule: best}
	}
	if len(r.Scopes) > 0 {
		for _, s := range r.Scopes {
			if !a.HasScope(s) {
				return Decision{Reason: ByRequiredScopes, Rule: -1}
			}
		}
		if d.Reason == ByDefault {
			return Decision{Allowed: true, Reason: ByRequiredScopes, Rule: -1}
		}
	}
	return d
}

func referenceApplies(who []string, a *Account) bool {
	for _, w := range who {
		switch {
		case w == "anyone":
			return true
		case a == nil:
		case w == "authenticated",
			w == "type:"+string(a.Type),
			w == "account:"+a.ID,
			strings.HasPrefix(w, "scope:") && a.HasScope(w[len("scope:"):]):
			return true
		}
	}
	return false
}

// The compiled table decides as the plain rule does, for random rules,
// resources and accounts: short and long lists of scopes and accounts,
// shared policies, public resources and required scopes included.
func TestCompileMatchesReference(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(s []string) string { return s[rng.IntN(len(s))] }
	services := []string{"inventory", "orders", "billing", "inventory.admin"}
	ops := []string{"Reserve", "Stock", "Place", "Reset"}
	scopes := []string{"s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11"}
	ids := []string{"a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9", "a10"}
	var short, long int
	defer func() {
		if short == 0 || long == 0 {
			t.Errorf("%d resources with short lists, %d with long ones: both ways must be tried", short, long)
		}
	}()
	for round := range 200 {
		var res []Resource
		seen := map[string]bool{}
		for range 1 + rng.IntN(12) {
			name := pick(services) + "." + pick(ops)
			if rng.IntN(6) == 0 {
				name = pick([]string{"publish:", "subscribe:"}) + pick(services) + ".created"
			}
			if seen[strings.ToLower(name)] {
				continue
			}
			seen[strings.ToLower(name)] = true
			r := Resource{Name: name}
			switch rng.IntN(6) {
			case 0:
				r.Public = true
			case 1:
				r.Scopes = []string{pick(scopes), pick(scopes)}
			}
			res = append(res, r)
		}
		var rules []Rule
		for range rng.IntN(40) {
			resource := res[rng.IntN(len(res))].Name
			switch rng.IntN(4) {
			case 0:
				resource = "*"
			case 1:
				if kind, rest := cutKind(resource); kind == kindCommand {
					resource = rest[:strings.LastIndexByte(rest, '.')] + ".*"
				}
			}
			var who []string
			for range 1 + rng.IntN(3) {
				who = append(who, pick([]string{"anyone", "authenticated", "type:user", "type:service",
					"scope:" + pick(scopes), "scope:" + pick(scopes), "account:" + pick(ids), "account:" + pick(ids)}))
			}
			access := Allow
			if rng.IntN(3) == 0 {
				access = Deny
			}
			rules = append(rules, Rule{Resource: resource, Who: who, Access: access, Priority: rng.IntN(4) - 1})
		}
		tab, err := Compile(rules, res)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		for _, p := range tab.res {
			if p.scopes != nil || p.accounts != nil {
				long++
			} else if p.scopeList != nil || p.acctList != nil {
				short++
			}
		}
		for range 30 {
			var a *Account
			if rng.IntN(5) > 0 {
				a = &Account{ID: pick(ids), Type: AccountType(pick([]string{"user", "service", "robot"}))}
				for range rng.IntN(5) {
					a.Scopes = append(a.Scopes, pick(scopes))
				}
			}
			for i, r := range res {
				got, want := tab.Decide(i, a), referenceDecide(rules, r, a)
				if got != want {
					t.Fatalf("round %d: %s by %+v: %+v, reference %+v\nrules: %+v", round, r.Name, a, got, want, rules)
				}
			}
		}
	}
}
