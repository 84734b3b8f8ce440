package i18n

import (
	"embed"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"github.com/nicksnyder/go-i18n/v2/i18n/template"
	"golang.org/x/text/language"

	errs "github.com/wegomesh/wego/err"
)

// The framework's messages: one file per language, named by its tag.
//
//go:embed locales/*.toml
var frameworkFS embed.FS

// ErrMissingMessage is the error that [Bundle.LocalizeID] wraps when no
// message has the ID.
var ErrMissingMessage = errors.New("i18n: missing message")

// pluralOther is go-i18n's plural form "other" (plural.Other, in an
// internal package): error messages have no plural count.
const pluralOther = "other"

// textParser parses templates as go-i18n does by default, except that a
// missing parameter renders as nothing (missingkey=zero), as errs.Render
// renders it, instead of text/template's "<no value>".
var textParser = &template.TextParser{Option: "missingkey=zero"}

// The number of Accept-Language values remembered: a direct-mapped cache,
// where a new value replaces the one in its slot.
const cacheSize = 256

// Bundle holds the messages of every language of an application. Build it
// once with [New]; it is safe for concurrent use and never changes after.
type Bundle struct {
	bundle  *i18n.Bundle
	tags    []language.Tag // the default language first, then by tag
	langs   []lang         // parallel to tags
	matcher language.Matcher

	// cache remembers the language matched for recent Accept-Language
	// values, without locks: slot hash(value) holds the last value seen.
	cache [cacheSize]atomic.Pointer[cacheEntry]
	seed  maphash.Seed
}

type cacheEntry struct {
	header string
	index  int
}

type lang struct {
	templates map[string]*i18n.MessageTemplate // by message ID
	chain     []int                            // the languages to try, in order: itself, its parents, the default
	shipped   bool                             // the default language, or one the application adds messages in
}

// MissingMessage is a code without a message in a language of a bundle.
type MissingMessage struct {
	Code     string
	Language language.Tag
}

// String returns "code (language)".
func (m MissingMessage) String() string { return m.Code + " (" + m.Language.String() + ")" }

// New returns a bundle with the framework's messages and those that opts
// add, in the order given; a later message with the same ID and language
// replaces an earlier one, so an application can also reword the
// framework's messages. The default language is English unless
// [DefaultLanguage] says otherwise. New fails, naming the file or the
// option, when a message file cannot be read or parsed, when its name does
// not end with a language tag, or when a message template is malformed.
func New(opts ...Option) (*Bundle, error) {
	o := options{defaultLanguage: language.English}
	for _, opt := range opts {
		if opt != nil {
			opt.apply(&o)
		}
	}
	if o.defaultLanguage == language.Und {
		return nil, errors.New("i18n: the default language must not be und")
	}
	l := newLoader(o.defaultLanguage)
	if err := l.loadFiles(frameworkFS, "locales/*.toml"); err != nil {
		return nil, err // a broken build of this package
	}
	l.app = true
	for _, src := range o.sources {
		if err := src(l); err != nil {
			return nil, err
		}
	}
	return l.build(), nil
}

var defaultBundle struct {
	once sync.Once
	b    *Bundle
}

// Default returns a bundle with the framework's messages only, in English
// (the default) and Spanish. It is built on first use.
func Default() *Bundle {
	defaultBundle.once.Do(func() {
		b, err := New()
		if err != nil {
			panic(err) // the embedded files are tested
		}
		defaultBundle.b = b
	})
	return defaultBundle.b
}

// Languages returns the languages of the bundle: the default language
// first, then the others sorted by tag.
func (b *Bundle) Languages() []language.Tag { return slices.Clone(b.tags) }

// Localize returns the message of e in the language that best matches the
// Accept-Language header values given (all of them, in q-order), with e's
// parameters filled in. When that language has no message for
// e.MessageKey(), its parents in the bundle and then the default language
// are tried; when none has one, or the message cannot be rendered,
// Localize returns e.Message(). The field violations of an
// invalid-argument error that have a message key (errs.FieldViolation's
// Key, such as the rules of middleware/validate) are rendered in the same
// language, each falling back like the message itself. Localize never
// panics, returns "" for a nil e, and never includes e's cause.
func (b *Bundle) Localize(e *errs.Error, acceptLanguage ...string) (msg string) {
	if e == nil {
		return ""
	}
	if b == nil {
		return e.Message()
	}
	defer func() {
		if recover() != nil {
			msg = e.Message()
		}
	}()
	key := e.MessageKey()
	want := b.match(acceptLanguage)
	i := b.find(want, key)
	if i < 0 {
		return e.Message()
	}
	msg, err := b.execute(i, key, b.data(want, e))
	if err != nil {
		return e.Message()
	}
	return msg
}

// LocalizeID returns the message id in the language that best matches the
// Accept-Language header values given, falling back like
// [Bundle.Localize], with data filled into its template. It is for
// messages other than errors' (e-mails, pages). The error wraps
// [ErrMissingMessage] when no language has the message.
func (b *Bundle) LocalizeID(id string, data map[string]string, acceptLanguage ...string) (msg string, err error) {
	defer func() {
		if r := recover(); r != nil {
			msg, err = "", fmt.Errorf("i18n: message %q: %v", id, r)
		}
	}()
	return b.localize(id, data, acceptLanguage)
}

func (b *Bundle) localize(id string, data map[string]string, acceptLanguage []string) (string, error) {
	want := b.match(acceptLanguage)
	i := b.find(want, id)
	if i < 0 {
		return "", fmt.Errorf("%w: %q in %s or %s", ErrMissingMessage, id, b.tags[want], b.tags[0])
	}
	return b.execute(i, id, data)
}

// execute renders the message id of language i, which must exist. The
// template is executed directly: an i18n.Localizer would match the
// language again on every call, which costs more than all the rest.
func (b *Bundle) execute(i int, id string, data map[string]string) (string, error) {
	// Every message has an "other" form (the loader checks it); the shared
	// parser has no functions, so go-i18n caches the parsed template. data
	// is passed as a map even when nil, so that missingkey=zero applies.
	msg, err := b.langs[i].templates[id].PluralTemplates[pluralOther].Execute(textParser, data)
	if err != nil {
		return "", fmt.Errorf("i18n: message %q in %s: %w", id, b.tags[i], err)
	}
	return msg, nil
}

// find returns the index of the first language in want's chain that has
// the message id, or -1.
func (b *Bundle) find(want int, id string) int {
	for _, i := range b.langs[want].chain {
		if _, ok := b.langs[i].templates[id]; ok {
			return i
		}
	}
	return -1
}

// match returns the index of the language that best matches the
// Accept-Language values; 0, the default language, when none does.
func (b *Bundle) match(acceptLanguage []string) int {
	var h string
	switch len(acceptLanguage) {
	case 0:
		return 0
	case 1:
		h = acceptLanguage[0]
	default:
		// Several header lines mean the same as one, comma-separated.
		h = strings.Join(acceptLanguage, ",")
	}
	if h == "" {
		return 0
	}
	// The cache holds at most the part of a header that is parsed.
	if h = cutHeader(h); h == "" {
		return 0
	}
	slot := &b.cache[maphash.String(b.seed, h)%cacheSize]
	if e := slot.Load(); e != nil && e.header == h {
		return e.index
	}
	i := b.parse(h)
	slot.Store(&cacheEntry{header: h, index: i})
	return i
}

func (b *Bundle) parse(h string) int {
	tags := parseAcceptLanguage(h)
	if len(tags) == 0 {
		return 0
	}
	_, i, conf := b.matcher.Match(tags...)
	if conf == language.No || i < 0 || i >= len(b.tags) {
		return 0
	}
	return i
}

// Localizer returns a go-i18n localizer over the bundle's messages for the
// given Accept-Language values, for the features of go-i18n that
// [Bundle.LocalizeID] does not offer, such as plural forms
// (i18n.LocalizeConfig.PluralCount). It falls back to the default language
// only, not to parent languages, and matches the language on every call.
func (b *Bundle) Localizer(acceptLanguage ...string) *i18n.Localizer {
	return i18n.NewLocalizer(b.bundle, acceptLanguage...)
}

// Missing returns, for every code defined with errs.Define in this process
// and every language the application ships, the ones that have no message
// in that language or in one of its parents in the bundle (es-MX may rely
// on es). The languages the application ships are the default language and
// those it adds messages in with [Files] or [Messages]; a language that
// only the framework's messages bring (Spanish, for an application without
// Spanish files) is not one of them. The English text given to errs.Define
// is the code's message in English and its regional variants: a code
// defined with one lacks nothing in English. The result is sorted by code,
// then in the order of [Bundle.Languages].
func (b *Bundle) Missing() []MissingMessage {
	var missing []MissingMessage
	for _, d := range errs.Defs() {
		for i, tag := range b.tags {
			if b.langs[i].shipped && !b.has(i, d) {
				missing = append(missing, MissingMessage{Code: d.Code(), Language: tag})
			}
		}
	}
	return missing
}

// has reports whether language i or one of its parents has the message of
// d: in the bundle, or, for English, the definition's own text.
func (b *Bundle) has(i int, d *errs.Def) bool {
	if d.Message() != "" && isParent(language.English, b.tags[i]) {
		return true
	}
	id := d.Code()
	for _, j := range b.langs[i].chain {
		if j == 0 && i != 0 && !isParent(b.tags[0], b.tags[i]) {
			return false // the default language is a fallback, not a parent
		}
		if _, ok := b.langs[j].templates[id]; ok {
			return true
		}
	}
	return false
}

// Check returns nil when every code defined with errs.Define in this
// process has a message in every language the application ships (see
// [Bundle.Missing]), and otherwise an error that lists the missing ones by
// code and language. Applications
// call it from a test; see the package documentation.
func (b *Bundle) Check() error {
	missing := b.Missing()
	if len(missing) == 0 {
		return nil
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "i18n: %d missing messages (code: languages):", len(missing))
	for i := 0; i < len(missing); {
		code := missing[i].Code
		fmt.Fprintf(&sb, "\n\t%s:", code)
		for ; i < len(missing) && missing[i].Code == code; i++ {
			sb.WriteString(" ")
			sb.WriteString(missing[i].Language.String())
		}
	}
	return errors.New(sb.String())
}

// isParent reports whether p is t or one of t's parents.
func isParent(p, t language.Tag) bool {
	for n := 0; n < 8; n++ {
		if t == p {
			return true
		}
		if t == language.Und {
			return false
		}
		t = t.Parent()
	}
	return false
}
