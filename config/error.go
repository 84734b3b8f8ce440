package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Sentinel errors, wrapped by an [*Error]; test for them with [errors.Is].
var (
	// ErrNotFound means that no file exists for the environment and that
	// nothing makes that acceptable: neither [Optional], nor an embedded
	// file, nor [Defaults] given without a directory, an embedded file
	// system or an environment. Its message names every path tried and
	// says to create a file or pass Optional.
	ErrNotFound = errors.New("no configuration file")

	// ErrUnknownKey means that a file, a default or an override holds a key
	// that the section's type (or [Config.CheckKnown]) does not know, which is
	// usually a typo.
	ErrUnknownKey = errors.New("unknown key")
)

// Sources of a value, as found in [Error.Source]. A value read from an
// environment variable has the source "env " followed by the variable's
// name; one from a [Source] attached with [Config.Attach] has "dynamic "
// followed by the source's name.
const (
	SourceFile     = "file"
	SourceEnv      = "env"
	SourceDynamic  = "dynamic"
	SourceOverride = "override"
	SourceDefault  = "default"
)

// Error is the error of a configuration that cannot be used, whichever
// package found the problem: every function of this package, and every
// WeGO package that checks a configuration section (the logger, each
// middleware, the transports, the application), returns errors that
// convert to *Error with [errors.As], alone or, when a call finds several
// problems, joined with [errors.Join].
//
// Its message says what is wrong and where, for example:
//
//	config: http.port in config/dev.yaml: cannot parse "abc" as int
//	config: http.port from environment variable WEGO_HTTP_PORT: cannot parse "abc" as int
//	config: unknown key "htpp" in config/dev.yaml (did you mean "http"?)
//	config: middleware.cache.commands["inventory.Stock"].ttl: must not be negative, got -1s
//
// A package checks its own section with keys relative to it, and the code
// that knows where the section sits puts it there with [Under]: a Validate
// method (see [Config.Section]) returns an *Error whose Key names the
// offending field relative to the section, and the section completes Key,
// File and Source.
type Error struct {
	// Key is the dotted key of the offending value ("http.port"), or of the
	// unknown key, or empty when the error is not about one key. An element
	// of a list has its index ("log.output[1]"), an entry of a map its key
	// quoted (`middleware.cache.commands["inventory.Stock"].ttl`).
	Key string
	// File is the file the value came from; for values from another source,
	// the file or files in use (see [Config.File]). It is empty when no file
	// is involved.
	File string
	// Source names the layer the value came from: [SourceFile],
	// "env <VARIABLE>", "dynamic <source name>", [SourceOverride],
	// [SourceDefault], or "" when not known.
	Source string
	// Err is the underlying error.
	Err error
}

// Error returns the message: "config: ", the key, where the value came from,
// and what is wrong with it.
func (e *Error) Error() string {
	const prefix = "config: "
	var b strings.Builder
	b.WriteString(prefix)
	unknown := e.Key != "" && errors.Is(e.Err, ErrUnknownKey)
	if unknown {
		b.WriteString("unknown key ")
		b.WriteString(quote(e.Key))
	} else {
		b.WriteString(e.Key)
	}
	if where := e.where(); where != "" {
		if e.Key == "" {
			// "config: config/dev.yaml: ...", not "config: in config/dev.yaml: ...".
			where = strings.TrimPrefix(strings.TrimPrefix(where, "in "), "from ")
		} else {
			b.WriteByte(' ')
		}
		b.WriteString(where)
	}
	if unknown {
		var u *unknownKeyError
		if errors.As(e.Err, &u) && u.suggestion != "" {
			b.WriteString(" (did you mean ")
			b.WriteString(quote(u.suggestion))
			b.WriteString("?)")
		}
		return b.String()
	}
	if b.Len() > len(prefix) {
		b.WriteString(": ")
	}
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	} else {
		b.WriteString("invalid value")
	}
	return b.String()
}

// where says where the value came from, for the message.
func (e *Error) where() string {
	switch {
	case strings.HasPrefix(e.Source, SourceEnv+" "):
		return "from environment variable " + strings.TrimPrefix(e.Source, SourceEnv+" ")
	case strings.HasPrefix(e.Source, SourceDynamic+" "):
		return "from " + strings.TrimPrefix(e.Source, SourceDynamic+" ")
	case e.Source == SourceOverride:
		return "from override"
	case e.Source == SourceDefault:
		return "from defaults"
	case e.File != "":
		return "in " + e.File
	}
	return ""
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an [*Error] about key whose Err is fmt.Errorf(format,
// args...), so that %w wraps a cause. In a Validate method, key is relative
// to the section:
//
//	return config.Errorf("max_entries", "must not be negative, got %d", c.MaxEntries)
func Errorf(key, format string, args ...any) error {
	return &Error{Key: key, Err: fmt.Errorf(format, args...)}
}

// Under returns err with its keys under prefix. Each error that err is or
// joins (see [errors.Join]) becomes an [*Error] whose Key is prefix
// followed by the key it had: one that holds an *Error (found with
// [errors.As]) keeps its File, Source and Err, and any other one gets
// Key prefix. A package checks its own section with keys relative to it,
// and the code that knows where the section sits puts it there:
//
//	if err := cfg.Validate(); err != nil {
//		return nil, config.Under("middleware.cache", err)
//	}
//
// Keys join with a dot, or without one before an index or a map key
// ("commands" and `["inventory.Stock"].ttl` give
// `commands["inventory.Stock"].ttl`). Under returns nil for a nil err and
// never changes err or the errors it holds.
func Under(prefix string, err error) error {
	if err == nil {
		return nil
	}
	all := flattenJoin(err)
	for i, e := range all {
		var ce *Error
		if errors.As(e, &ce) {
			cp := *ce
			cp.Key = joinKey(prefix, ce.Key)
			all[i] = &cp
		} else {
			all[i] = &Error{Key: prefix, Err: e}
		}
	}
	if len(all) == 1 {
		return all[0]
	}
	return errors.Join(all...)
}

// unknownKeyError is the Err of an [*Error] about an unknown key; it may carry
// a suggestion, the known key closest to the unknown one.
type unknownKeyError struct {
	suggestion string
}

func (e *unknownKeyError) Error() string {
	if e.suggestion != "" {
		return ErrUnknownKey.Error() + " (did you mean " + quote(e.suggestion) + "?)"
	}
	return ErrUnknownKey.Error()
}

func (e *unknownKeyError) Is(target error) bool { return target == ErrUnknownKey }

// suggest returns the candidate closest to s, or "" when none is close enough
// to be a likely typo. Candidates are tried in order, so the first of equally
// close ones wins.
func suggest(s string, candidates []string) string {
	best, bestDist := "", min(len(s)/3+1, 3)+1
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestDist && c != s {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Damerau-Levenshtein (optimal string alignment)
// distance between a and b, so that a swap of two letters counts as one.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// quote quotes s for a message.
func quote(s string) string { return strconv.Quote(s) }
