package i18n

import (
	"slices"
	"strings"

	"golang.org/x/text/language"
)

const (
	// maxHeader is the most bytes of Accept-Language that are parsed: a
	// longer header is cut at its last comma within the bound, and the
	// entries before it are used. Real headers are a few dozen bytes.
	maxHeader = 1024
	// maxEntries is the most Accept-Language entries that are parsed,
	// well-formed or not; the ones after are ignored.
	maxEntries = 16
)

// weighted is one parsed Accept-Language entry.
type weighted struct {
	tag language.Tag
	q   float32
}

// parseAcceptLanguage parses an Accept-Language header entry by entry, so
// that one malformed or unknown entry ("zz", "es;q=abc", "x-!") is skipped
// instead of making the whole header unusable, as
// language.ParseAcceptLanguage does. It parses at most maxHeader bytes
// (cut at a comma) and maxEntries entries, drops q=0 and the wildcard,
// and returns the tags by decreasing q, in header order on ties.
func parseAcceptLanguage(h string) []language.Tag {
	h = cutHeader(h)
	var entries []weighted
	n := 0
	for entry := range strings.SplitSeq(h, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		if n++; n > maxEntries {
			break
		}
		if t, _, _ := strings.Cut(entry, ";"); strings.TrimSpace(t) == "*" {
			continue // any language: the default applies when nothing else matches
		}
		tags, qs, err := language.ParseAcceptLanguage(entry)
		if err != nil || len(tags) != 1 || qs[0] <= 0 {
			continue
		}
		entries = append(entries, weighted{tag: tags[0], q: qs[0]})
	}
	slices.SortStableFunc(entries, func(a, b weighted) int {
		switch {
		case a.q > b.q:
			return -1
		case a.q < b.q:
			return 1
		}
		return 0
	})
	tags := make([]language.Tag, len(entries))
	for i, e := range entries {
		tags[i] = e.tag
	}
	return tags
}

// cutHeader returns h when it is at most maxHeader bytes long, and
// otherwise its entries that end within the first maxHeader bytes.
func cutHeader(h string) string {
	if len(h) <= maxHeader {
		return h
	}
	h = h[:maxHeader]
	if i := strings.LastIndexByte(h, ','); i >= 0 {
		return h[:i]
	}
	return "" // one entry longer than the bound: no language
}
