package middleware

import (
	"cmp"
	"errors"
	"iter"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/wegomesh/wego/config"
)

// PerCommand is the per-command part of a middleware's configuration
// section: entries keyed by [Pattern], which override the section's own
// settings for the commands they select.
//
//	commands:
//	  inventory.Reserve: {rate: 5}   # one command
//	  inventory.*:       {rate: 50}  # every command of a service
//	  "*":               {rate: 500} # every command
//
// Keys are matched by the rule of the catalog's routes: the exact name is
// the most specific, then the longest service pattern ("billing.invoices.*"
// before "billing.*"), then "*" (see [Pattern.Specificity]). They match
// without regard to case, because configuration keys are lower-cased; a
// key that is not a valid pattern matches nothing, and [PerCommand.Validate]
// reports it. Resolve a command's settings in [Middleware.Wrap], once per
// command, not per call.
type PerCommand[T any] map[string]T

// Validate checks that every key is a [Pattern] and, when check is not nil,
// calls it on each entry, in the order of the keys. It returns the first
// problem as a [*config.Error] whose key is relative to the map: the quoted
// key (`["inventory.Reserve"]`) for a key that is not a pattern, or for an
// entry the quoted key followed by the key of check's error
// (`["inventory.Reserve"].ttl`). A section's Validate method puts the
// map's own key in front:
//
//	return config.Under("commands", c.Commands.Validate(CommandConfig.check))
func (m PerCommand[T]) Validate(check func(T) error) error {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		key := "[" + strconv.Quote(k) + "]"
		if _, err := ParsePattern(k); err != nil {
			return &config.Error{Key: key, Err: errNotPattern}
		}
		if check != nil {
			if err := check(m[k]); err != nil {
				return config.Under(key, err)
			}
		}
	}
	return nil
}

var errNotPattern = errors.New(`not a command pattern (want "service.Operation", "service.*" or "*")`)

// Match returns the entry whose key is the most specific pattern that
// matches the command name, and false when no key does. It suits entries
// that apply as a whole; for entries whose fields each override a setting,
// use [PerCommand.Matching].
func (m PerCommand[T]) Match(name string) (T, bool) {
	var best T
	rank := 0
	for k, v := range m {
		p, err := ParsePattern(k)
		if err != nil {
			continue
		}
		if s := p.Specificity(); s > rank && p.Match(name) {
			best, rank = v, s
		}
	}
	return best, rank > 0
}

// Matching returns the entries whose keys match the command name, the
// least specific first. A loop that lets each entry override the settings
// it sets therefore ends with each setting from the most specific entry
// that sets it, the section's own value standing below them all:
//
//	p := Policy{TTL: c.TTL}
//	for e := range c.Commands.Matching(spec.Name) {
//		if e.TTL > 0 {
//			p.TTL = e.TTL
//		}
//	}
func (m PerCommand[T]) Matching(name string) iter.Seq[T] {
	return func(yield func(T) bool) {
		type match struct {
			rank int
			key  string
		}
		var ms []match
		for k := range m {
			if p, err := ParsePattern(k); err == nil && p.Match(name) {
				ms = append(ms, match{p.Specificity(), k})
			}
		}
		// Keys that differ only in case rank the same; their order is the
		// keys' own, so that it does not change from call to call.
		slices.SortFunc(ms, func(a, b match) int {
			return cmp.Or(cmp.Compare(a.rank, b.rank), strings.Compare(a.key, b.key))
		})
		for _, x := range ms {
			if !yield(m[x.key]) {
				return
			}
		}
	}
}
