package main

import (
	"fmt"
	"strings"
	"time"
)

// ---- auth suite ----

// authSuite is the auth suite: the verification of a token with each
// algorithm, and the decision on a call.
var authSuite = goSuite{pkg: "authbench", pattern: "^Benchmark(JWT|Decide)$", alternate: true}

// authAlgs are the algorithms of authbench's BenchmarkJWT, in its order.
var authAlgs = []string{"HS256", "RS256", "EdDSA"}

// Auth targets of the issue.
const (
	hitMaxRatio   = 0.1 // a repeated valid token ≤ 0.1× a bare jwt.Parse, 0 allocations
	firstMaxRatio = 1.1 // a first-seen token ≤ 1.1× a bare jwt.Parse
	decideMaxNs   = 100 // a decision, 1,000 commands × 1,000 rules: ≤ 100 ns, 0 allocations
)

func runAuth(s settings) (string, error) {
	started, load := time.Now(), loadAvg()
	res, skips, err := runGoBench(s, authSuite)
	if err != nil {
		return "", err
	}
	return authTable(res, skips, runLine(s, started, load)), nil
}

func authTable(r inprocResult, skips map[string]string, run string) string {
	var b strings.Builder
	b.WriteString("## Auth\n\n")
	b.WriteString("Package `auth` (`bench/authbench`): a typical access token (issuer, subject, audience, expiry, not-before, issued-at, ")
	b.WriteString("an id and three scopes, a key id) verified by the JWT provider, beside a bare `jwt.Parse` of golang-jwt with a key function ")
	b.WriteString("that returns the key. A repeated token is answered from the provider's cache of verified tokens; a first-seen token is ")
	b.WriteString("verified and cached (the provider cycles through 256 tokens and empties its cache, untimed, before each pass). ")
	b.WriteString("Times are medians of the runs, and every ratio the median of the ratios to `jwt.Parse` within each run, with their quartiles in brackets.\n\n")
	b.WriteString(run)
	b.WriteString("| algorithm | verification | ns/op | × jwt.Parse (quartiles) | B/op | allocs/op | target | |\n")
	b.WriteString("|---|---|--:|--:|--:|--:|---|---|\n")
	for _, alg := range authAlgs {
		parse := alg + "/parse"
		for _, row := range []struct{ label, name string }{
			{"bare `jwt.Parse` (baseline)", parse},
			{"first-seen token: verified and cached", alg + "/first"},
			{"repeated token: from the cache", alg + "/hit"},
		} {
			m, ok := r.med("JWT/" + row.name)
			if !ok {
				fmt.Fprintf(&b, "| %s | %s | not measured: %s | | | | | |\n", alg, row.label, skipReason(skips, "JWT/"+row.name))
				continue
			}
			x := spreadOf(r.ratios("JWT/"+row.name, "JWT/"+parse, nsOf))
			v := verdict{"baseline", info}
			switch row.name {
			case alg + "/first":
				v = verdict{fmt.Sprintf("≤ %.1f× jwt.Parse", firstMaxRatio), status(x.med <= firstMaxRatio)}
			case alg + "/hit":
				v = verdict{fmt.Sprintf("≤ %.1f× jwt.Parse, 0 allocs", hitMaxRatio), status(x.med <= hitMaxRatio && m.allocs == 0)}
			}
			ratio := x.String()
			if row.name == parse {
				ratio = "1.00×"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %.0f | %s | %s | %s |\n",
				alg, row.label, fmtNs(m.ns), ratio, m.bytes, fmtAllocs(m.allocs), v.target, v.status)
		}
	}
	b.WriteString("\n")
	b.WriteString("A decision on a call: the compiled rules of a catalog of 1,000 commands in 100 services and 1,000 rules (scope, account ")
	b.WriteString("type, account and wildcard rules of several priorities, and a final deny), for a user with three scopes, which are compared ")
	b.WriteString("with the rules'.\n\n")
	b.WriteString("| decision | ns/op | B/op | allocs/op | target | |\n|---|--:|--:|--:|---|---|\n")
	if m, ok := r.med("Decide"); ok {
		v := verdict{fmt.Sprintf("≤ %d ns, 0 allocs", decideMaxNs), status(m.ns <= decideMaxNs && m.allocs == 0)}
		fmt.Fprintf(&b, "| 1,000 commands × 1,000 rules | %s | %.0f | %s | %s | %s |\n", fmtNs(m.ns), m.bytes, fmtAllocs(m.allocs), v.target, v.status)
	} else {
		fmt.Fprintf(&b, "| 1,000 commands × 1,000 rules | not measured: %s | | | | |\n", skipReason(skips, "Decide"))
	}
	b.WriteString("\n```sh\ncd bench\ngo run ./cmd/benchreport -only auth -out -   # this section alone, on stdout\n")
	b.WriteString("go test -run '^$' -bench 'Targets' ./authbench   # the same targets in one process, pairs in alternating slices\n```\n\n")
	return b.String()
}

// fmtRatio formats a ratio with the digits a small one needs.
func fmtRatio(x float64) string {
	if x < 0.1 {
		return fmt.Sprintf("%.4f", x)
	}
	return fmt.Sprintf("%.2f", x)
}
