package mesh_test

import (
	"encoding/json"
	"io/fs"
	"maps"
	"net/http"
	"path"
	"slices"
	"strings"
	"testing"

	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"github.com/pelletier/go-toml/v2"

	"github.com/wegomesh/wego/examples/mesh/inventory"
	"github.com/wegomesh/wego/examples/mesh/orders"
	"github.com/wegomesh/wego/examples/mesh/shipping"
)

// errorAnswer is what a test reads of an error body.
type errorAnswer struct {
	Status  int
	Code    string `json:"code"`
	Message string `json:"message"`
	Fields  []struct {
		Field  string            `json:"field"`
		Reason string            `json:"reason"`
		Key    string            `json:"key"`
		Params map[string]string `json:"params"`
	} `json:"fields"`
}

func post(t *testing.T, url, body, lang string) errorAnswer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if lang != "" {
		req.Header.Set("Accept-Language", lang)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	a := errorAnswer{Status: resp.StatusCode}
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	return a
}

// Invalid requests are answered in Spanish for Accept-Language: es, the
// reasons included, by both deployables and by one process alike; without
// the header, in English.
func TestSpanishValidationErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		service, path, body, lang string
		message                   string
		keys                      []string
	}{
		{"orders", "/orders", `{"sku":"apple","qty":0}`, "es",
			"Solicitud no válida: qty debe ser al menos 1.", []string{"validate.min"}},
		{"orders", "/orders", `{"sku":"","qty":2}`, "es",
			"Solicitud no válida: sku no debe estar vacío.", []string{"validate.not_empty"}},
		{"orders", "/orders", `{"sku":"  ","qty":-3}`, "es-MX,es;q=0.9,en;q=0.5",
			"Solicitud no válida: sku no debe estar vacío; qty debe ser al menos 1.", []string{"validate.not_empty", "validate.min"}},
		{"inventory", "/inventory/reserve", `{"qty":0}`, "es",
			"Solicitud no válida: sku no debe estar vacío; qty debe ser al menos 1.", []string{"validate.not_empty", "validate.min"}},
		{"orders", "/orders", `{"sku":"","qty":0}`, "",
			"Invalid request: sku must not be empty; qty must be at least 1.", []string{"validate.not_empty", "validate.min"}},
		{"orders", "/orders", `{"sku":"apple","qty":0}`, "fr",
			"Invalid request: qty must be at least 1.", []string{"validate.min"}},
	}
	meshes := map[string]func(*testing.T) (string, string){"two deployables": twoDeployables, "one process": oneProcess}
	for name, start := range meshes {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			urls := map[string]string{}
			urls["orders"], urls["inventory"] = start(t)
			for _, tt := range tests {
				a := post(t, urls[tt.service]+tt.path, tt.body, tt.lang)
				if a.Status != http.StatusBadRequest || a.Code != "invalid_argument" {
					t.Errorf("%s %s (%s): %d %q, want 400 invalid_argument", tt.path, tt.body, tt.lang, a.Status, a.Code)
				}
				if a.Message != tt.message {
					t.Errorf("%s %s (%s): message %q, want %q", tt.path, tt.body, tt.lang, a.Message, tt.message)
				}
				var keys []string
				for _, f := range a.Fields {
					keys = append(keys, f.Key)
				}
				if !slices.Equal(keys, tt.keys) {
					t.Errorf("%s %s: field keys %q, want %q", tt.path, tt.body, keys, tt.keys)
				}
			}
		})
	}
}

// Every message ID of the mesh's locale files is in both English and
// Spanish, service by service.
func TestLocalesHaveEveryIDInBothLanguages(t *testing.T) {
	t.Parallel()
	for name, fsys := range map[string]fs.FS{"inventory": inventory.Messages, "orders": orders.Messages, "shipping": shipping.Messages} {
		ids := map[string]map[string]bool{} // language → IDs
		names, err := fs.Glob(fsys, "locales/*.toml")
		if err != nil || len(names) == 0 {
			t.Fatalf("%s: no locale file: %v", name, err)
		}
		for _, file := range names {
			buf, err := fs.ReadFile(fsys, file)
			if err != nil {
				t.Fatal(err)
			}
			msgs, err := goi18n.ParseMessageBytes(buf, toml.Unmarshal)
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			stem := strings.TrimSuffix(path.Base(file), path.Ext(file))
			lang := stem[strings.LastIndexByte(stem, '.')+1:]
			if ids[lang] == nil {
				ids[lang] = map[string]bool{}
			}
			for _, m := range msgs {
				ids[lang][m.ID] = true
			}
		}
		if langs := slices.Sorted(maps.Keys(ids)); !slices.Equal(langs, []string{"en", "es"}) {
			t.Errorf("%s: locales in %v, want [en es]", name, langs)
		}
		all := map[string]bool{}
		for _, set := range ids {
			maps.Copy(all, set)
		}
		if len(all) == 0 {
			t.Errorf("%s: no message", name)
		}
		for _, id := range slices.Sorted(maps.Keys(all)) {
			for _, lang := range []string{"en", "es"} {
				if !ids[lang][id] {
					t.Errorf("%s: message %q is not in %s", name, id, lang)
				}
			}
		}
	}
}
