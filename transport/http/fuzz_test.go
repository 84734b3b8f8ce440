package httptransport

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/transport"
)

type fuzzItem struct {
	Name  string            `json:"name"`
	Count uint8             `json:"count"`
	Attrs map[string]string `json:"attrs"`
}

type fuzzRequest struct {
	ID     int64      `path:"id" json:"-"`
	Limit  *int       `query:"limit" json:"-"`
	Tags   []string   `query:"tag" json:"-"`
	Flag   bool       `header:"X-Flag" json:"-"`
	Name   string     `json:"name"`
	Score  float64    `json:"score"`
	Items  []fuzzItem `json:"items"`
	Nested *fuzzItem  `json:"nested,omitempty"`
	Any    any        `json:"any"`
}

// FuzzBind sends arbitrary bodies, queries and headers to a command: the
// server never panics, never answers 5xx, always says nosniff and never
// writes text/template's "<no value>".
func FuzzBind(f *testing.F) {
	cat := catalog.New()
	_, err := catalog.RegisterIn(cat, "fuzz.Put", func(_ context.Context, r fuzzRequest) (fuzzRequest, error) { return r, nil },
		PUT("/things/{id}"))
	if err != nil {
		f.Fatal(err)
	}
	h, err := NewHandler(transport.Host{Catalog: cat}, MaxBodyBytes(4096))
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(`{"name":"a","items":[{"name":"b","count":3,"attrs":{"k":"v"}}]}`), "limit=3&tag=a&tag=b", "7", "true", "application/json")
	f.Add([]byte(`{"name":"a","name":"b"}`), "", "1", "", "application/json")
	f.Add([]byte("{\"name\":\"\xff\"}"), "limit=x", "-1", "nope", "application/json; charset=utf-8")
	f.Add([]byte(`{"items":[{"count":300}]} []`), "%zz", "99999999999999999999", "", "text/plain")
	f.Add([]byte(`{"any":{"a":[1,{"b":null}],"A":2}}`), "tag=%00", "0", "1", "")
	f.Fuzz(func(t *testing.T, body []byte, query, id, flag, ct string) {
		target := "/things/" + url.PathEscape(id) + "?" + query
		req, err := http.NewRequest(http.MethodPut, "http://x"+target, bytes.NewReader(body))
		if err != nil {
			t.Skip()
		}
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		if flag != "" {
			req.Header["X-Flag"] = []string{flag}
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d for body %q query %q id %q: %s", rec.Code, body, query, id, rec.Body)
		}
		if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("status %d without nosniff", rec.Code)
		}
		if bytes.Contains(rec.Body.Bytes(), []byte("<no value>")) {
			t.Fatalf("status %d: a message with <no value>: %s", rec.Code, rec.Body)
		}
	})
}

// FuzzDecodeError feeds arbitrary responses to the client's error decoder:
// it never panics and always returns an *errs.Error.
func FuzzDecodeError(f *testing.F) {
	f.Add(404, []byte(`{"code":"inventory.unknown_sku","message":"SKU x is unknown.","params":{"sku":"x"}}`))
	f.Add(400, []byte(`{"code":"invalid_argument","message":"m","fields":[{"field":"qty","reason":"r"}]}`))
	f.Add(502, []byte(`<html>`))
	f.Add(200, []byte(`{"code":"internal"}`))
	f.Add(-1, []byte(`{"code":"","params":{"a":1}}`))
	f.Add(599, []byte(`{"code":"A.B","fields":null,"params":null}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		e := decodeError(status, body)
		if e == nil {
			t.Fatal("nil error")
		}
		if _, ok := errs.As(error(e)); !ok || e.Code() == "" || e.Status() < 400 || e.Status() > 599 {
			t.Fatalf("status %d body %q: %v (status %d)", status, body, e, e.Status())
		}
		_ = e.Error()
	})
}
