package authbench

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wegomesh/wego/auth"
)

const issuer = "https://id.example.com"

// alg is one signing algorithm with its keys.
type alg struct {
	name   string
	method jwt.SigningMethod
	sign   any // signing key
	verify any // verification key
}

var algs = func() []alg {
	secret := []byte("0123456789abcdef0123456789abcdef-bench")
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	return []alg{
		{auth.HS256, jwt.SigningMethodHS256, secret, secret},
		{auth.RS256, jwt.SigningMethodRS256, rk, &rk.PublicKey},
		{auth.EdDSA, jwt.SigningMethodEdDSA, priv, pub},
	}
}()

// token signs a typical access token: issuer, subject, audience, expiry,
// not-before, issued-at, an id and three scopes.
func token(a alg, n int) string {
	now := time.Now()
	t := jwt.NewWithClaims(a.method, jwt.MapClaims{
		"iss": issuer, "sub": "alice", "aud": "inventory",
		"exp": now.Add(time.Hour).Unix(), "nbf": now.Add(-time.Minute).Unix(), "iat": now.Unix(),
		"jti":   fmt.Sprintf("token-%d", n),
		"scope": "inventory.read inventory.write orders.read",
	})
	t.Header["kid"] = "k1"
	s, err := t.SignedString(a.sign)
	if err != nil {
		panic(err)
	}
	return s
}

func provider(a alg) *auth.JWT {
	cfg := auth.DefaultJWTConfig()
	cfg.Issuers = []auth.IssuerConfig{{Issuer: issuer}}
	cfg.Audience = []string{"inventory"}
	j, err := auth.NewJWT(cfg, auth.WithKeys(auth.Key{ID: "k1", Alg: a.name, Material: a.verify}))
	if err != nil {
		panic(err)
	}
	return j
}

var (
	sinkTok  *jwt.Token
	sinkAcct *auth.Account
	sinkDec  auth.Decision
)

// pool is how many distinct tokens the first-seen benchmarks and their
// bare reference cycle through.
const pool = 256

// tokens returns pool distinct tokens of a.
func tokens(a alg) []string {
	toks := make([]string, pool)
	for i := range toks {
		toks[i] = token(a, i)
	}
	return toks
}

// bareParse is the reference: jwt.Parse with a key function that returns
// the key, as a program that uses golang-jwt directly would, over the
// same pool of distinct tokens as firstSeen, so that neither side gains
// from parsing one token again and again.
func bareParse(a alg) func(*testing.B) {
	toks := tokens(a)
	keyFunc := func(*jwt.Token) (any, error) { return a.verify, nil }
	return func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			t, err := jwt.Parse(toks[i%pool], keyFunc)
			i++
			if err != nil {
				b.Fatal(err)
			}
			sinkTok = t
		}
	}
}

// hit is a token authenticated again: answered from the cache.
func hit(a alg) func(*testing.B) {
	j := provider(a)
	cred := auth.Credential{Scheme: auth.SchemeBearer, Value: token(a, 0)}
	ctx := context.Background()
	if _, err := j.Authenticate(ctx, cred); err != nil {
		panic(err)
	}
	return func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			acct, err := j.Authenticate(ctx, cred)
			if err != nil {
				b.Fatal(err)
			}
			sinkAcct = acct
		}
	}
}

// firstSeen is a token the provider has not verified before: it verifies
// it and caches it. The provider cycles through a pool of tokens and
// empties its cache, untimed, each time the pool starts over.
func firstSeen(a alg) func(*testing.B) {
	toks := credentials(a)
	j := provider(a)
	ctx := context.Background()
	return func(b *testing.B) {
		b.ReportAllocs()
		j.Purge()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if i%pool == 0 && i > 0 {
				b.StopTimer()
				j.Purge()
				b.StartTimer()
			}
			acct, err := j.Authenticate(ctx, toks[i%pool])
			if err != nil {
				b.Fatal(err)
			}
			sinkAcct = acct
		}
	}
}

// BenchmarkJWT verifies a token with each algorithm: a bare jwt.Parse
// (parse), the provider on a token it has not seen (first) and on a token
// it has verified before (hit). Command benchreport reports the ratios of
// first and hit to parse, taken within each repetition of the suite.
func BenchmarkJWT(b *testing.B) {
	for _, a := range algs {
		subs := []struct {
			name string
			fn   func(*testing.B)
		}{{a.name + "/parse", bareParse(a)}, {a.name + "/first", firstSeen(a)}, {a.name + "/hit", hit(a)}}
		if reversed {
			slices.Reverse(subs)
		}
		for _, s := range subs {
			b.Run(s.name, s.fn)
		}
	}
}

// envOrder is the environment variable that reverses the order in which
// BenchmarkJWT runs the sub-benchmarks of an algorithm when it is
// "reverse". Command benchreport sets it on every other repetition of the
// suite, so that the bare jwt.Parse does not always run first.
const envOrder = "WEGO_BENCH_ORDER"

// reversed says whether envOrder asks for the reverse order.
var reversed = os.Getenv(envOrder) == "reverse"

// catalog returns 1,000 commands in 100 services and 1,000 rules: per
// service, scope, type, account and wildcard rules of several priorities,
// and a final deny of everything.
func catalog() ([]auth.Rule, []auth.Resource) {
	const n = 1000
	res := make([]auth.Resource, 0, n)
	for i := range n {
		res = append(res, auth.Resource{Name: fmt.Sprintf("svc%d.Op%d", i/10, i)})
	}
	rules := make([]auth.Rule, 0, n)
	for i := 0; len(rules) < n-1; i++ {
		s := (i / 4) % (n / 10)
		svc := fmt.Sprintf("svc%d", s)
		switch i % 4 {
		case 0:
			rules = append(rules, auth.Rule{Resource: svc + ".*", Who: []string{"scope:" + svc + ".read"}, Access: auth.Allow, Priority: i % 3})
		case 1:
			rules = append(rules, auth.Rule{Resource: svc + ".*", Who: []string{"type:service"}, Access: auth.Allow})
		case 2:
			rules = append(rules, auth.Rule{Resource: fmt.Sprintf("svc%d.Op%d", s, s*10+i%10), Who: []string{fmt.Sprintf("account:user%d", i)}, Access: auth.Deny, Priority: 1})
		case 3:
			rules = append(rules, auth.Rule{Resource: svc + ".*", Who: []string{"scope:" + svc + ".write", "scope:admin"}, Access: auth.Allow, Priority: 2})
		}
	}
	rules = append(rules, auth.Rule{Resource: "*", Who: []string{"anyone"}, Access: auth.Deny, Priority: -1})
	return rules, res
}

// decide is one decision, for a user with three scopes (the slowest
// caller: its scopes are compared with the rules').
func decide(b *testing.B) {
	rules, res := catalog()
	table, err := auth.Compile(rules, res)
	if err != nil {
		b.Fatal(err)
	}
	p := auth.NewPolicy(table)
	i, _ := p.Index("svc50.Op505")
	acct := &auth.Account{ID: "user7", Type: auth.User, Scopes: []string{"svc3.read", "svc50.read", "svc77.write"}}
	if !p.Decide(i, acct).Allowed {
		b.Fatal("the account is denied")
	}
	b.ReportAllocs()
	for b.Loop() {
		sinkDec = p.Decide(i, acct)
	}
}

// BenchmarkDecide decides one call, for a catalog of 1,000 commands and
// credentials returns the tokens of tokens(a) as bearer credentials.
func credentials(a alg) []auth.Credential {
	toks := tokens(a)
	creds := make([]auth.Credential, len(toks))
	for i, tok := range toks {
		creds[i] = auth.Credential{Scheme: auth.SchemeBearer, Value: tok}
	}
	return creds
}

// 1,000 rules.
func BenchmarkDecide(b *testing.B) { decide(b) }

// batch runs n operations and returns the time they took.
type batch func(n int) time.Duration

func parseBatch(a alg) batch {
	toks := tokens(a)
	keyFunc := func(*jwt.Token) (any, error) { return a.verify, nil }
	return func(n int) time.Duration {
		start := time.Now()
		for i := range n {
			t, err := jwt.Parse(toks[i%pool], keyFunc)
			if err != nil {
				panic(err)
			}
			sinkTok = t
		}
		return time.Since(start)
	}
}

func hitBatch(a alg) (batch, func()) {
	j := provider(a)
	cred := auth.Credential{Scheme: auth.SchemeBearer, Value: token(a, 0)}
	ctx := context.Background()
	op := func() {
		acct, err := j.Authenticate(ctx, cred)
		if err != nil {
			panic(err)
		}
		sinkAcct = acct
	}
	op()
	return func(n int) time.Duration {
		start := time.Now()
		for range n {
			op()
		}
		return time.Since(start)
	}, op
}

// firstBatch verifies tokens of a pool, emptying the cache (untimed)
// before each pass over the pool.
func firstBatch(a alg) batch {
	toks := credentials(a)
	j := provider(a)
	ctx := context.Background()
	return func(n int) time.Duration {
		var d time.Duration
		for n > 0 {
			j.Purge()
			m := min(n, pool)
			start := time.Now()
			for i := range m {
				acct, err := j.Authenticate(ctx, toks[i])
				if err != nil {
					panic(err)
				}
				sinkAcct = acct
			}
			d += time.Since(start)
			n -= m
		}
		return d
	}
}

func decideBatch() (batch, func()) {
	rules, res := catalog()
	table, err := auth.Compile(rules, res)
	if err != nil {
		panic(err)
	}
	p := auth.NewPolicy(table)
	i, _ := p.Index("svc50.Op505")
	acct := &auth.Account{ID: "user7", Type: auth.User, Scopes: []string{"svc3.read", "svc50.read", "svc77.write"}}
	op := func() { sinkDec = p.Decide(i, acct) }
	return func(n int) time.Duration {
		start := time.Now()
		for range n {
			op()
		}
		return time.Since(start)
	}, op
}

// nsPerOp runs f for about d and returns its time per operation.
func nsPerOp(f batch, d time.Duration) float64 {
	n := 1
	for {
		el := f(n)
		if el >= d || n >= 1<<30 {
			return float64(el.Nanoseconds()) / float64(n)
		}
		next := n * 2
		if el > 0 {
			next = int(float64(n) * 1.2 * float64(d) / float64(el))
		}
		n = max(n+1, min(next, 100*n))
	}
}

// ratio returns the time of y over the time of x, the two run in
// alternating slices of about 10 ms for about d each, so that a change of
// the machine's load weighs on both alike.
func ratio(x, y batch, d time.Duration) float64 {
	const slice = 10 * time.Millisecond
	nx := max(1, int(float64(slice)/nsPerOp(x, slice)))
	ny := max(1, int(float64(slice)/nsPerOp(y, slice)))
	var tx, ty time.Duration
	var ox, oy int
	for tx+ty < 2*d {
		tx += x(nx)
		ox += nx
		ty += y(ny)
		oy += ny
	}
	return (float64(ty) / float64(oy)) / (float64(tx) / float64(ox))
}

func median(xs []float64) float64 {
	xs = slices.Clone(xs)
	slices.Sort(xs)
	return xs[len(xs)/2]
}

// BenchmarkTargets measures each target's pair in alternating slices,
// rounds times, and reports the median ratios and the median decision time as
// metrics. It says in the log whether each target is met, and fails
// nothing: timings vary with the machine's load. (testing.Benchmark cannot
// run inside a benchmark, hence the plain timing loops.)
func BenchmarkTargets(b *testing.B) {
	const rounds = 5
	const per = 300 * time.Millisecond
	for _, a := range algs {
		b.Run(a.name, func(b *testing.B) {
			parse, first := parseBatch(a), firstBatch(a)
			hit, hitOp := hitBatch(a)
			var hitRatio, firstRatio []float64
			for range rounds {
				firstRatio = append(firstRatio, ratio(parse, first, per))
				hitRatio = append(hitRatio, ratio(parse, hit, per))
			}
			allocs := testing.AllocsPerRun(1000, hitOp)
			for b.Loop() {
			}
			hr, fr := median(hitRatio), median(firstRatio)
			b.ReportMetric(hr, "hit/parse")
			b.ReportMetric(fr, "first/parse")
			b.ReportMetric(allocs, "hit-allocs")
			b.Logf("%s: hit %.3f× parse (target ≤ 0.1: %s), %v allocs (target 0); first seen %.3f× parse (target ≤ 1.1: %s); rounds %.3f / %.3f",
				a.name, hr, verdict(hr <= 0.1), allocs, fr, verdict(fr <= 1.1), hitRatio, firstRatio)
		})
	}
	b.Run("decide", func(b *testing.B) {
		f, op := decideBatch()
		var ns []float64
		for range rounds {
			ns = append(ns, nsPerOp(f, per))
		}
		allocs := testing.AllocsPerRun(1000, op)
		for b.Loop() {
		}
		m := median(ns)
		b.ReportMetric(m, "decide-ns")
		b.ReportMetric(allocs, "decide-allocs")
		b.Logf("decide, 1,000 commands × 1,000 rules: %.1f ns (target ≤ 100: %s), %v allocs (target 0)", m, verdict(m <= 100), allocs)
	})
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT MET"
}
