package i18n

import (
	"encoding/json"
	"fmt"
	"hash/maphash"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"
	"text/template"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"github.com/pelletier/go-toml/v2"
	"go.yaml.in/yaml/v3"
	"golang.org/x/text/language"
)

// loader collects messages for New.
type loader struct {
	defaultLanguage language.Tag
	bundle          *i18n.Bundle
	templates       map[language.Tag]map[string]*i18n.MessageTemplate
	// app is set once the framework's files are loaded: the languages
	// added from then on are the application's (shipped).
	app     bool
	shipped map[language.Tag]bool
}

func newLoader(def language.Tag) *loader {
	return &loader{
		defaultLanguage: def,
		bundle:          i18n.NewBundle(def),
		templates:       map[language.Tag]map[string]*i18n.MessageTemplate{def: {}},
		shipped:         map[language.Tag]bool{def: true},
	}
}

var unmarshalers = map[string]i18n.UnmarshalFunc{
	".toml": toml.Unmarshal,
	".json": json.Unmarshal,
	".yaml": yaml.Unmarshal,
	".yml":  yaml.Unmarshal,
}

// loadFiles loads the files of fsys that match any of patterns, and fails
// when none does.
func (l *loader) loadFiles(fsys fs.FS, patterns ...string) error {
	found := false
	for _, p := range patterns {
		names, err := fs.Glob(fsys, p)
		if err != nil {
			return fmt.Errorf("i18n: pattern %q: %w", p, err)
		}
		for _, name := range names {
			if info, err := fs.Stat(fsys, name); err == nil && info.IsDir() {
				continue
			}
			found = true
			if err := l.loadFile(fsys, name); err != nil {
				return err
			}
		}
	}
	if !found {
		return fmt.Errorf("i18n: no message file matches %s", strings.Join(quoteAll(patterns), " or "))
	}
	return nil
}

func (l *loader) loadFile(fsys fs.FS, name string) error {
	ext := strings.ToLower(path.Ext(name))
	unmarshal, ok := unmarshalers[ext]
	if !ok {
		return fmt.Errorf("i18n: %s: unknown format %q: use .toml, .json, .yaml or .yml", name, ext)
	}
	tag, err := fileLanguage(name)
	if err != nil {
		return fmt.Errorf("i18n: %s: %w", name, err)
	}
	buf, err := fs.ReadFile(fsys, name)
	if err != nil {
		return fmt.Errorf("i18n: %w", err)
	}
	msgs, err := i18n.ParseMessageBytes(buf, unmarshal)
	if err != nil {
		return fmt.Errorf("i18n: %s: %w", name, err)
	}
	return l.add(name, tag, msgs)
}

// fileLanguage returns the language of a message file from its name:
// the last dot-separated part before the extension.
func fileLanguage(name string) (language.Tag, error) {
	base := path.Base(name)
	stem := strings.TrimSuffix(base, path.Ext(base))
	part := stem[strings.LastIndexByte(stem, '.')+1:]
	tag, err := language.Parse(part)
	if err != nil || tag == language.Und {
		return language.Und, fmt.Errorf("the file name must end with a language tag, as in es.toml or active.es-MX.toml; %q is not one", part)
	}
	return tag, nil
}

// add adds messages in one language, read from where (a file name or an
// option), after checking that their templates parse.
func (l *loader) add(where string, tag language.Tag, msgs []*i18n.Message) error {
	keep := make([]*i18n.Message, 0, len(msgs))
	for _, m := range msgs {
		if m.ID == "" {
			return fmt.Errorf("i18n: %s: a message has no ID", where)
		}
		forms := []string{m.Zero, m.One, m.Two, m.Few, m.Many, m.Other}
		if !slices.ContainsFunc(forms, func(s string) bool { return s != "" }) {
			continue // empty: left to the fallback, and reported by Check
		}
		if m.Other == "" {
			return fmt.Errorf("i18n: %s: message %q has no \"other\" form", where, m.ID)
		}
		if err := checkTemplates(m, forms); err != nil {
			return fmt.Errorf("i18n: %s: message %q: %w", where, m.ID, err)
		}
		keep = append(keep, m)
	}
	if err := l.bundle.AddMessages(tag, keep...); err != nil {
		return fmt.Errorf("i18n: %s: %w", where, err)
	}
	if l.app {
		l.shipped[tag] = true
	}
	templates := l.templates[tag]
	if templates == nil {
		templates = make(map[string]*i18n.MessageTemplate, len(keep))
		l.templates[tag] = templates
	}
	for _, m := range keep {
		templates[m.ID] = i18n.NewMessageTemplate(m)
	}
	return nil
}

// checkTemplates parses every plural form of m as go-i18n will.
func checkTemplates(m *i18n.Message, forms []string) error {
	left, right := m.LeftDelim, m.RightDelim
	if left == "" {
		left = "{{"
	}
	if right == "" {
		right = "}}"
	}
	for _, src := range forms {
		if !strings.Contains(src, left) {
			continue
		}
		if _, err := template.New(m.ID).Delims(left, right).Parse(src); err != nil {
			return err
		}
	}
	return nil
}

// build makes the bundle. The loader must not be used afterwards.
func (l *loader) build() *Bundle {
	b := &Bundle{bundle: l.bundle, seed: maphash.MakeSeed()}
	b.tags = append(b.tags, l.defaultLanguage)
	others := slices.SortedFunc(maps.Keys(l.templates), func(a, b language.Tag) int {
		return strings.Compare(a.String(), b.String())
	})
	for _, t := range others {
		if t != l.defaultLanguage {
			b.tags = append(b.tags, t)
		}
	}
	b.matcher = language.NewMatcher(b.tags)
	index := make(map[language.Tag]int, len(b.tags))
	for i, t := range b.tags {
		index[t] = i
	}
	b.langs = make([]lang, len(b.tags))
	for i, t := range b.tags {
		chain := []int{i}
		p := t
		for n := 0; n < 8 && p != language.Und; n++ {
			p = p.Parent()
			if j, ok := index[p]; ok && !slices.Contains(chain, j) {
				chain = append(chain, j)
			}
		}
		if !slices.Contains(chain, 0) {
			chain = append(chain, 0)
		}
		b.langs[i] = lang{templates: l.templates[t], chain: chain, shipped: l.shipped[t]}
	}
	return b
}

func quoteAll(ss []string) []string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return q
}
