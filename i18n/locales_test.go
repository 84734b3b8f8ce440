package i18n_test

import (
	"io/fs"
	"maps"
	"os"
	"path"
	"slices"
	"strings"
	"testing"

	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"github.com/pelletier/go-toml/v2"
)

// Every message ID of the framework's locale files (locales/*.toml) is in
// every language that they ship, and no file is empty.
func TestFrameworkLocalesHaveEveryIDInEveryLanguage(t *testing.T) {
	t.Parallel()
	ids := localeIDs(t, os.DirFS("locales"), "*.toml")
	langs := slices.Sorted(maps.Keys(ids))
	if !slices.Equal(langs, []string{"en", "es"}) {
		t.Fatalf("locales ship %v, want [en es]", langs)
	}
	all := map[string]bool{}
	for _, set := range ids {
		maps.Copy(all, set)
	}
	for _, id := range slices.Sorted(maps.Keys(all)) {
		for _, l := range langs {
			if !ids[l][id] {
				t.Errorf("message %q is not in %s", id, l)
			}
		}
	}
	if !all["validate.min"] || !all["invalid_argument.fields"] {
		t.Errorf("the files read lack known IDs: %v", slices.Sorted(maps.Keys(all)))
	}
}

// localeIDs reads the TOML message files of fsys that match pattern and
// returns their message IDs by language, the last dot-separated part of
// the file name before the extension (as package i18n names them).
func localeIDs(t *testing.T, fsys fs.FS, pattern string) map[string]map[string]bool {
	t.Helper()
	names, err := fs.Glob(fsys, pattern)
	if err != nil || len(names) == 0 {
		t.Fatalf("no file matches %q: %v", pattern, err)
	}
	ids := map[string]map[string]bool{}
	for _, name := range names {
		buf, err := fs.ReadFile(fsys, name)
		if err != nil {
			t.Fatal(err)
		}
		msgs, err := goi18n.ParseMessageBytes(buf, toml.Unmarshal)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(msgs) == 0 {
			t.Errorf("%s has no message", name)
		}
		stem := strings.TrimSuffix(path.Base(name), path.Ext(name))
		lang := stem[strings.LastIndexByte(stem, '.')+1:]
		if ids[lang] == nil {
			ids[lang] = map[string]bool{}
		}
		for _, m := range msgs {
			ids[lang][m.ID] = true
		}
	}
	return ids
}
