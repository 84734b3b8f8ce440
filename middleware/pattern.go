package middleware

import (
	"errors"
	"fmt"
	"strings"
)

// Command names and the patterns that select them are one grammar, used by
// the catalog (registration, routes), the per-command sections of
// middleware configuration ([PerCommand]) and, later, auth rules and event
// subscriptions:
//
//	name     = part "." part { "." part }      inventory.Reserve, billing.invoices.Create
//	part     = 1 to 128 of [A-Za-z0-9_-]
//	pattern  = name | service ".*" | "*"        service = part { "." part }
//
// Names and patterns compare without regard to case, because patterns
// usually come from configuration files, whose keys are lower-cased.

// maxPart is the longest part of a name.
const maxPart = 128

// ErrInvalidPattern is wrapped by the errors of [ParsePattern].
var ErrInvalidPattern = errors.New("invalid command pattern")

// Pattern selects command names: one name ("inventory.Reserve"), every
// command of a service and of the services below it ("billing.*" selects
// billing.Charge and billing.invoices.Create), or every command ("*").
// The zero Pattern selects nothing. Patterns are values: compare them with
// [Pattern.String] after [ParsePattern], which canonicalizes nothing but
// validates everything.
type Pattern struct {
	text   string // as written
	prefix string // "billing." for "billing.*"; the name for an exact pattern
	kind   patternKind
}

type patternKind uint8

const (
	patternNone    patternKind = iota
	patternAll                 // "*"
	patternService             // "service.*"
	patternExact               // "service.Operation"
)

// ParsePattern parses "service.Operation", "service.*" or "*". Anything
// else — a bare service name, empty parts, other characters, a wildcard
// anywhere but at the end — is an error wrapping [ErrInvalidPattern] that
// quotes the text.
func ParsePattern(s string) (Pattern, error) {
	switch {
	case s == "*":
		return Pattern{text: s, kind: patternAll}, nil
	case strings.HasSuffix(s, ".*"):
		svc := s[:len(s)-2]
		if !validService(svc) {
			return Pattern{}, fmt.Errorf("%w %q: want \"service.*\" with a valid service name", ErrInvalidPattern, s)
		}
		return Pattern{text: s, prefix: s[:len(s)-1], kind: patternService}, nil
	case ValidName(s):
		return Pattern{text: s, prefix: s, kind: patternExact}, nil
	}
	return Pattern{}, fmt.Errorf("%w %q: want \"service.Operation\", \"service.*\" or \"*\"", ErrInvalidPattern, s)
}

// MustParsePattern is [ParsePattern] for patterns written in code; it
// panics on an invalid one.
func MustParsePattern(s string) Pattern {
	p, err := ParsePattern(s)
	if err != nil {
		panic(err)
	}
	return p
}

// String returns the pattern as written.
func (p Pattern) String() string { return p.text }

// Match reports whether p selects the command name.
func (p Pattern) Match(name string) bool {
	switch p.kind {
	case patternAll:
		return true
	case patternService:
		return len(name) > len(p.prefix) && strings.EqualFold(name[:len(p.prefix)], p.prefix)
	case patternExact:
		return strings.EqualFold(name, p.prefix)
	}
	return false
}

// Specificity orders the patterns that match one name: the most specific
// wins. An exact name is more specific than any service pattern; a longer
// service ("billing.invoices.*") is more specific than a shorter one
// ("billing.*"); "*" is the least specific; the zero Pattern is below all.
// Two different valid patterns that match the same name never have the
// same specificity.
func (p Pattern) Specificity() int {
	switch p.kind {
	case patternAll:
		return 1
	case patternService:
		return 2 + len(p.prefix)
	case patternExact:
		return 1 << 30
	}
	return 0
}

// Equal reports whether p and q select the same names (they differ at
// most in case).
func (p Pattern) Equal(q Pattern) bool {
	return p.kind == q.kind && strings.EqualFold(p.text, q.text)
}

// MostSpecific returns the index of the most specific pattern in ps that
// matches name, or -1 when none does.
func MostSpecific(ps []Pattern, name string) int {
	best, rank := -1, 0
	for i, p := range ps {
		if s := p.Specificity(); s > rank && p.Match(name) {
			best, rank = i, s
		}
	}
	return best
}

// ValidName reports whether name is a command name: "service.Operation",
// dot-separated parts of letters, digits, '_' and '-', at least two
// parts, each at most 128 bytes.
func ValidName(name string) bool {
	i := strings.LastIndexByte(name, '.')
	return i > 0 && validService(name[:i]) && validPart(name[i+1:])
}

func validService(s string) bool {
	if s == "" {
		return false
	}
	for part := range strings.SplitSeq(s, ".") {
		if !validPart(part) {
			return false
		}
	}
	return true
}

func validPart(s string) bool {
	if s == "" || len(s) > maxPart {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '_' || ch == '-') {
			return false
		}
	}
	return true
}
