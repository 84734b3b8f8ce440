package auth

import (
	"fmt"
	"strings"
)

// Access is what a rule does to the calls it applies to.
type Access string

// The accesses.
const (
	Allow Access = "allow"
	Deny  Access = "deny"
)

// Rule says who may, or may not, use a resource. Rules are data: they come
// from configuration (section auth.rules) or code, and [Compile] checks and
// compiles them against the resources that exist.
//
//	{Resource: "inventory.*", Who: []string{"scope:inventory.admin"}, Access: auth.Allow}
//	{Resource: "inventory.Reserve", Who: []string{"account:orders", "type:user"}, Access: auth.Allow, Priority: 10}
//	{Resource: "*", Who: []string{"anyone"}, Access: auth.Deny, Priority: 100}
//
// A call is decided by the rules whose resource matches it and whose Who
// matches the caller: the one of highest priority wins; at equal priority a
// deny wins over an allow; when no rule applies the call is denied.
type Rule struct {
	// Resource is what the rule applies to:
	//
	//   - a command, "inventory.Reserve";
	//   - every command of a service and of the services below it,
	//     "inventory.*";
	//   - publishing events on a topic, with the same forms after
	//     "publish:": "publish:orders.created", "publish:orders.*",
	//     "publish:*";
	//   - subscribing a subscriber, with the same forms after
	//     "subscribe:": "subscribe:shipping.OnOrderPlaced",
	//     "subscribe:shipping.*", "subscribe:*";
	//   - every resource of every kind, "*".
	//
	// Names compare without regard to case, as command patterns do
	// elsewhere in WeGO.
	Resource string `mapstructure:"resource"`
	// Who lists the callers the rule applies to; it applies to a caller
	// that any entry matches:
	//
	//   - "anyone": every caller, authenticated or not;
	//   - "authenticated": every authenticated account;
	//   - "type:user", "type:service": accounts of that type;
	//   - "scope:NAME": accounts that hold the scope NAME;
	//   - "account:ID": the account ID (a service identity, say).
	Who []string `mapstructure:"who"`
	// Access is [Allow] or [Deny].
	Access Access `mapstructure:"access"`
	// Priority orders rules: higher first. The default is 0.
	Priority int `mapstructure:"priority"`
	// Origin says where the rule comes from, for errors: a configuration
	// key ("auth.rules[3]") or a file and line. Without it, errors name
	// the rule by its index ("rules[3]").
	Origin string `mapstructure:"-"`
}

// Resource kinds.
const (
	kindCommand uint8 = iota
	kindPublish
	kindSubscribe
)

var kindPrefixes = [...]string{kindPublish: "publish:", kindSubscribe: "subscribe:"}

// pattern is a parsed Rule.Resource.
type pattern struct {
	any     bool   // "*": every resource of every kind
	kind    uint8  //
	kindAll bool   // "publish:*"
	exact   bool   // a name; otherwise a prefix "service."
	text    string // lower-cased name, or prefix with its dot
}

// cutKind splits "publish:x" into its kind and "x".
func cutKind(s string) (uint8, string) {
	for k, p := range kindPrefixes {
		if p != "" && len(s) > len(p) && strings.EqualFold(s[:len(p)], p) {
			return uint8(k), s[len(p):]
		}
	}
	return kindCommand, s
}

func parsePattern(s string) (pattern, error) {
	if s == "*" {
		return pattern{any: true}, nil
	}
	kind, rest := cutKind(s)
	switch {
	case rest == "*" && kind != kindCommand:
		return pattern{kind: kind, kindAll: true}, nil
	case strings.HasSuffix(rest, ".*") && validParts(rest[:len(rest)-2], 1):
		return pattern{kind: kind, text: strings.ToLower(rest[:len(rest)-1])}, nil
	case validResourceName(kind, rest):
		return pattern{kind: kind, exact: true, text: strings.ToLower(rest)}, nil
	}
	return pattern{}, fmt.Errorf(`%q is not a resource pattern (want "service.Operation", "service.*", "*", or "publish:" and a topic or "subscribe:" and a subscriber, or a pattern of them)`, s)
}

func (p pattern) match(kind uint8, lower string) bool {
	switch {
	case p.any:
		return true
	case p.kind != kind:
		return false
	case p.kindAll:
		return true
	case p.exact:
		return lower == p.text
	}
	return len(lower) > len(p.text) && lower[:len(p.text)] == p.text
}

// parseResource splits a resource name into its kind and lower-cased name.
func parseResource(s string) (uint8, string, bool) {
	kind, rest := cutKind(s)
	if !validResourceName(kind, rest) {
		return 0, "", false
	}
	return kind, strings.ToLower(rest), true
}

// validResourceName: a command name has at least two parts
// ("service.Operation"), a topic at least one.
func validResourceName(kind uint8, s string) bool {
	if kind == kindCommand {
		return validParts(s, 2)
	}
	return validParts(s, 1)
}

// validParts reports whether s is at least min dot-separated parts of 1 to
// 128 letters, digits, '_' and '-': the grammar of command names.
func validParts(s string, min int) bool {
	n := 0
	for part := range strings.SplitSeq(s, ".") {
		if part == "" || len(part) > 128 {
			return false
		}
		for i := 0; i < len(part); i++ {
			c := part[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
				return false
			}
		}
		n++
	}
	return n >= min
}

// whoKind is the kind of a Who entry.
type whoKind uint8

const (
	whoAnyone whoKind = iota
	whoAuthenticated
	whoType
	whoScope
	whoAccount
)

type who struct {
	kind  whoKind
	value string
}

func parseWho(s string) (who, error) {
	switch s {
	case "anyone":
		return who{kind: whoAnyone}, nil
	case "authenticated":
		return who{kind: whoAuthenticated}, nil
	}
	prefix, value, ok := strings.Cut(s, ":")
	if ok && value != "" {
		switch prefix {
		case "type":
			if !AccountType(value).Valid() {
				return who{}, fmt.Errorf("%q: the account type must be user or service", s)
			}
			return who{kind: whoType, value: value}, nil
		case "scope":
			return who{kind: whoScope, value: value}, nil
		case "account":
			return who{kind: whoAccount, value: value}, nil
		}
	}
	return who{}, fmt.Errorf(`%q is not "anyone", "authenticated", "type:user", "type:service", "scope:NAME" or "account:ID"`, s)
}

// check parses the rule and returns the first problem as an error whose
// key is relative to the rule ("resource", "who[1]", "access").
type parsedRule struct {
	pat  pattern
	who  []who
	deny bool
}

func (r Rule) parse() (parsedRule, string, error) {
	var p parsedRule
	var err error
	if p.pat, err = parsePattern(r.Resource); err != nil {
		return p, "resource", err
	}
	if len(r.Who) == 0 {
		return p, "who", fmt.Errorf(`name who the rule applies to ("anyone", "authenticated", "type:...", "scope:..." or "account:...")`)
	}
	for i, w := range r.Who {
		pw, err := parseWho(w)
		if err != nil {
			return p, fmt.Sprintf("who[%d]", i), err
		}
		p.who = append(p.who, pw)
	}
	switch r.Access {
	case Allow:
	case Deny:
		p.deny = true
	default:
		return p, "access", fmt.Errorf("%q is not allow or deny", r.Access)
	}
	return p, "", nil
}
