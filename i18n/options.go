package i18n

import (
	"fmt"
	"io/fs"
	"maps"
	"slices"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

// Option configures [New].
type Option interface{ apply(*options) }

type options struct {
	defaultLanguage language.Tag
	sources         []func(*loader) error
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// DefaultLanguage sets the language used when Accept-Language matches none
// of the bundle's languages, and the one whose messages replace a missing
// translation. The default is English. The language should have a message
// for every code: [Bundle.Check] reports the ones it lacks.
func DefaultLanguage(tag language.Tag) Option {
	return optionFunc(func(o *options) { o.defaultLanguage = tag })
}

// Files adds the application's message files: those of fsys that match the
// patterns (as in fs.Glob), loaded in the order of the patterns and, for
// each pattern, by name. Without patterns, every *.toml, *.json, *.yaml and
// *.yml file at the root of fsys is loaded. Each pattern must match at
// least one file.
//
// A file is a go-i18n message file: TOML, JSON or YAML as its extension
// says, whose keys are message IDs (error codes) and whose values are a
// template such as "SKU {{.sku}} is unknown." or a table with plural forms
// ("other", "one", ...) and a "description". Nested tables join their keys
// with dots ([inventory] unknown_sku = "..." is "inventory.unknown_sku").
// The file's language is the last dot-separated part of its name before the
// extension: es.toml, active.es.toml and es-MX.yaml are Spanish, Spanish
// and Mexican Spanish; a name without a known language tag is an error.
// An empty message is ignored (and reported by [Bundle.Check]).
func Files(fsys fs.FS, patterns ...string) Option {
	return optionFunc(func(o *options) {
		o.sources = append(o.sources, func(l *loader) error {
			if fsys == nil {
				return fmt.Errorf("i18n: Files: nil file system")
			}
			if len(patterns) == 0 {
				return l.loadFiles(fsys, "*.toml", "*.json", "*.yaml", "*.yml")
			}
			for _, p := range patterns {
				if err := l.loadFiles(fsys, p); err != nil {
					return err
				}
			}
			return nil
		})
	})
}

// Messages adds messages in one language: message IDs (error codes) and
// their templates, such as "inventory.unknown_sku": "SKU {{.sku}} is
// unknown.". It suits tests and small applications; ship files with
// [Files] otherwise.
func Messages(tag language.Tag, msgs map[string]string) Option {
	return optionFunc(func(o *options) {
		o.sources = append(o.sources, func(l *loader) error {
			if tag == language.Und {
				return fmt.Errorf("i18n: Messages: language must not be und")
			}
			where := fmt.Sprintf("Messages(%s)", tag)
			ms := make([]*i18n.Message, 0, len(msgs))
			for _, id := range slices.Sorted(maps.Keys(msgs)) {
				ms = append(ms, &i18n.Message{ID: id, Other: msgs[id]})
			}
			return l.add(where, tag, ms)
		})
	})
}
