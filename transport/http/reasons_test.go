package httptransport_test

import (
	"strings"
	"testing"

	errs "github.com/wegomesh/wego/err"
	httptransport "github.com/wegomesh/wego/transport/http"
)

// A Spanish client reads the transport's own binding and decoding errors in
// Spanish: the message and every reason of the fields.
func TestBindingErrorsInSpanish(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv := f.serve(t)
	es := map[string]string{"Content-Type": "application/json", "Accept-Language": "es-ES,es;q=0.9"}
	tests := []struct {
		name, method, path, body string
		message                  string
		fields                   []errs.FieldViolation
	}{
		{"decode: wrong JSON type", "POST", "/inventory/reserve", `{"sku":"a","qty":"two"}`,
			"Solicitud no válida: qty debe ser un número entero.",
			[]errs.FieldViolation{{Field: "qty", Reason: "debe ser un número entero", Key: "codec.type.integer"}}},
		{"decode: not JSON", "POST", "/inventory/reserve", `{"sku":`,
			"Solicitud no válida: body no es JSON válido (en el byte 7).",
			[]errs.FieldViolation{{Field: "body", Reason: "no es JSON válido (en el byte 7)", Key: "codec.not_valid_json", Params: map[string]string{"offset": "7"}}}},
		{"decode: key in other case", "POST", "/inventory/reserve", `{"SKU":"a","QTY":1}`,
			"Solicitud no válida: SKU no es un campo conocido.",
			[]errs.FieldViolation{{Field: "SKU", Reason: "no es un campo conocido", Key: "codec.unknown_field"}}},
		{"decode: key given twice", "POST", "/inventory/reserve", `{"sku":"a","qty":1,"qty":2}`,
			"Solicitud no válida: qty aparece dos veces.",
			[]errs.FieldViolation{{Field: "qty", Reason: "aparece dos veces", Key: "codec.given_twice"}}},
		{"bind: query not an integer", "GET", "/orders/1?limit=ten", "",
			"Solicitud no válida: limit debe ser un número entero.",
			[]errs.FieldViolation{{Field: "limit", Reason: "debe ser un número entero", Key: "http.type.integer"}}},
		{"bind: query given twice and not a duration", "GET", "/orders/1?limit=1&limit=2&wait=soon", "",
			"Solicitud no válida: limit debe indicarse una sola vez; wait debe ser una duración como 1.5s.",
			[]errs.FieldViolation{
				{Field: "limit", Reason: "debe indicarse una sola vez", Key: "http.given_once"},
				{Field: "wait", Reason: "debe ser una duración como 1.5s", Key: "http.type.duration"}}},
		{"bind: body on GET", "GET", "/orders/1", `{"id":"1"}`,
			"Solicitud no válida: body debe estar vacío en una solicitud GET.",
			[]errs.FieldViolation{{Field: "body", Reason: "debe estar vacío en una solicitud GET", Key: "http.body_not_allowed", Params: map[string]string{"method": "GET"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := do(t, nil, tt.method, srv.URL+tt.path, es, tt.body)
			if r.status != 400 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			e := r.errorBody(t)
			if e.Message != tt.message {
				t.Errorf("message %q, want %q", e.Message, tt.message)
			}
			if len(e.Fields) != len(tt.fields) {
				t.Fatalf("fields %+v, want %+v", e.Fields, tt.fields)
			}
			for i, f := range e.Fields {
				w := tt.fields[i]
				if f.Field != w.Field || f.Reason != w.Reason || f.Key != w.Key || len(f.Params) != len(w.Params) {
					t.Errorf("field %d: %+v, want %+v", i, f, w)
				}
				for k, v := range w.Params {
					if f.Params[k] != v {
						t.Errorf("field %d: params %v, want %v", i, f.Params, w.Params)
					}
				}
			}
		})
	}
}

// No error body quotes encoding/json or names a Go type, whatever the
// body; each violation is one of the strict decoder's own (package codec),
// with a message key.
func TestNoEncodingJSONTextReachesClients(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv := f.serve(t, httptransport.MaxBodyBytes(1<<10))
	for _, body := range []string{
		`{"sku":`, `sku=1`, `{"sku":"a","qty":"two"}`, `{"sku":"a","qty":1.5}`, `{"sku":"a","qty":1e400}`,
		`{"sku":"a","qty":-99999999999999999999}`, `{"sku":1,"qty":1}`, `{"sku":"a","qty":1,"notes":{"text":"x"}}`,
		`{"sku":"a","qty":1,"notes":[{"text":5}]}`, `{"sku":"a","qty":1,"notes":[1]}`, `[1,2]`, `"s"`, `null x`,
		`{"sku":"a","qty":1}x`, "{\"sku\":\"a\xff\",\"qty\":1}", `{"sku":"a","qty":tru}`, `{"sku":"a","qty":01}`,
		`{"sku":"a","QTY":1}`, `{"s\u212au":"a","qty":1}`, `{"sku":"a","qty":1,"sku":"b"}`, "{\"sku\":\"a\",\"qty\":1,\"\xfe\":1}",
	} {
		r := do(t, nil, "POST", srv.URL+"/inventory/reserve", jsonCT, body)
		if r.status != 400 {
			t.Errorf("%s: status %d: %s", body, r.status, r.body)
			continue
		}
		e := r.errorBody(t)
		for _, bad := range []string{"invalid character", "JSON input", "cannot unmarshal", "Go ", "json:", "int64", "string into", "httptransport"} {
			if strings.Contains(string(r.body), bad) {
				t.Errorf("%s: the body has %q: %s", body, bad, r.body)
			}
		}
		if len(e.Fields) != 1 || !strings.HasPrefix(e.Fields[0].Key, "codec.") {
			t.Errorf("%s: fields %+v, want one of the strict decoder's own", body, e.Fields)
		}
	}
}
