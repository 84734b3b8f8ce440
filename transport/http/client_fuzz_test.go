package httptransport

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
)

// fuzzRT answers every request with the fuzzer's response.
type fuzzRT struct {
	status int
	ct     string
	body   []byte
}

func (rt fuzzRT) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		_ = req.Body.Close()
	}
	h := http.Header{}
	if rt.ct != "" {
		h.Set("Content-Type", rt.ct)
	}
	return &http.Response{StatusCode: rt.status, Header: h, Body: io.NopCloser(bytes.NewReader(rt.body)),
		ContentLength: -1, Request: req}, nil
}

// FuzzRemoteResponse feeds arbitrary responses (status, content type,
// body) to a remote route, the whole client-side path: reading the body
// under max_response_bytes, decoding a success into the typed response,
// decoding an error body. The call never panics; it returns nil or an
// *errs.Error with a valid code and a 4xx or 5xx status, never a bare Go
// error.
func FuzzRemoteResponse(f *testing.F) {
	cat := catalog.New()
	cmd, err := catalog.RegisterIn(cat, "fuzz.Put", func(_ context.Context, r fuzzRequest) (fuzzItem, error) { return fuzzItem{}, nil },
		PUT("/things/{id}"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(200, "application/json", []byte(`{"name":"a","count":3,"attrs":{"k":"v"}}`))
	f.Add(201, "application/json", []byte(`{"count":300}`))
	f.Add(204, "", []byte(``))
	f.Add(200, "text/html", []byte(`<html>`))
	f.Add(302, "", []byte(``))
	f.Add(404, "application/json", []byte(`{"code":"inventory.unknown_sku","message":"m","params":{"sku":"x"}}`))
	f.Add(400, "application/json", []byte(`{"code":"invalid_argument","fields":[{"field":"qty","reason":"r"}]}`))
	f.Add(503, "text/plain", []byte(`upstream connect error`))
	f.Add(500, "application/json", []byte(`{"code":"A.B","message":"`+string(make([]byte, 300))+`"}`))
	f.Add(999, "", []byte(`{"code":"internal"}`))
	f.Add(200, "application/json", bytes.Repeat([]byte(" "), 5000))
	f.Fuzz(func(t *testing.T, status int, ct string, body []byte) {
		if status < 100 || status > 999 {
			t.Skip()
		}
		c := NewClient(RoundTripper(fuzzRT{status: status, ct: ct, body: body}), MaxResponseBytes(4096))
		local := cat.Clone()
		if err := local.SetRoute("fuzz.*", c.Route("http://fuzz.invalid")); err != nil {
			t.Fatal(err)
		}
		ctx := catalog.NewContext(context.Background(), local)
		limit := 1
		_, err := cmd.Call(ctx, fuzzRequest{ID: 7, Limit: &limit, Tags: []string{"a"}, Name: "n"})
		if err == nil {
			return
		}
		e, ok := errs.As(err)
		if !ok {
			t.Fatalf("status %d body %q: %T %v is not an *errs.Error", status, body, err, err)
		}
		if !errs.ValidCode(e.Code()) || e.Status() < 400 || e.Status() > 599 {
			t.Fatalf("status %d body %q: code %q status %d", status, body, e.Code(), e.Status())
		}
	})
}
