package httptransport_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/i18n"
	"github.com/wegomesh/wego/middleware/idempotency"
	"github.com/wegomesh/wego/transport"
	httptransport "github.com/wegomesh/wego/transport/http"
)

type buyRequest struct {
	SKU string `json:"sku"`
	Qty int    `json:"qty"`
}

type receipt struct {
	ID  string `json:"id"`
	SKU string `json:"sku"`
	Key string `json:"key"` // the key the command's context carried
}

// keyServer serves shop.Buy (POST /buy, 201, accepts keys) and shop.Look
// (POST /look, does not) behind the idempotency middleware, on a real
// loopback server.
type keyServer struct {
	url   string
	runs  atomic.Int64
	delay time.Duration
}

func newKeyServer(t *testing.T) *keyServer {
	t.Helper()
	ks := &keyServer{}
	cat := catalog.New()
	m, err := idempotency.New(idempotency.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	cat.UseServerSide(m)
	fn := func(ctx context.Context, r buyRequest) (receipt, error) {
		n := ks.runs.Add(1)
		time.Sleep(ks.delay)
		key, _ := idempotency.KeyFrom(ctx)
		return receipt{ID: fmt.Sprint("r-", n), SKU: r.SKU, Key: key}, nil
	}
	if _, err := catalog.RegisterIn(cat, "shop.Buy", fn, httptransport.POST("/buy"),
		httptransport.SuccessStatus(http.StatusCreated), catalog.With(idempotency.Enabled.Value(true))); err != nil {
		t.Fatal(err)
	}
	if _, err := catalog.RegisterIn(cat, "shop.Look", fn, httptransport.POST("/look")); err != nil {
		t.Fatal(err)
	}
	h, err := httptransport.NewHandler(transport.Host{Name: "shop", Catalog: cat, Logger: zap.NewNop(), I18n: i18n.Default()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	ks.url = srv.URL
	return ks
}

type answer struct {
	status int
	body   string
	code   string
	msg    string
}

func post(t *testing.T, url, body string, hdr ...string) answer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var e struct{ Code, Message string }
	json.Unmarshal(b, &e)
	return answer{status: resp.StatusCode, body: string(b), code: e.Code, msg: e.Message}
}

func TestIdempotencyKeyOverHTTP(t *testing.T) {
	t.Parallel()
	ks := newKeyServer(t)
	first := post(t, ks.url+"/buy", `{"sku":"apple","qty":2}`, "Idempotency-Key", "k-1")
	again := post(t, ks.url+"/buy", `{ "qty": 2, "sku": "apple" }`, "Idempotency-Key", "k-1") // the same request, written differently
	if first.status != http.StatusCreated || again != first || !strings.Contains(first.body, `"key":"k-1"`) {
		t.Fatalf("first %+v, retry %+v", first, again)
	}
	if n := ks.runs.Load(); n != 1 {
		t.Fatalf("the command ran %d times, want 1", n)
	}
	// The same key with another request: 422, typed, localized.
	reused := post(t, ks.url+"/buy", `{"sku":"apple","qty":3}`, "Idempotency-Key", "k-1", "Accept-Language", "es")
	if reused.status != http.StatusUnprocessableEntity || reused.code != "idempotency.key_reused" ||
		reused.msg != "La clave de idempotencia ya se usó para otra solicitud." {
		t.Fatalf("a reused key: %+v", reused)
	}
	// Without a key, or on a command that does not accept keys, every call runs.
	a := post(t, ks.url+"/buy", `{"sku":"apple","qty":2}`)
	b := post(t, ks.url+"/look", `{"sku":"apple","qty":2}`, "Idempotency-Key", "k-2")
	c := post(t, ks.url+"/look", `{"sku":"apple","qty":2}`, "Idempotency-Key", "k-2")
	if a.body == first.body || b.body == c.body || ks.runs.Load() != 4 {
		t.Fatalf("no key %s; not accepting keys %s then %s; runs %d", a.body, b.body, c.body, ks.runs.Load())
	}
}

func TestIdempotencyConcurrentDuplicatesOverHTTP(t *testing.T) {
	t.Parallel()
	ks := newKeyServer(t)
	ks.delay = 50 * time.Millisecond
	var wg sync.WaitGroup
	answers := make([]answer, 20)
	for i := range answers {
		wg.Go(func() { answers[i] = post(t, ks.url+"/buy", `{"sku":"pear","qty":1}`, "Idempotency-Key", "dup") })
	}
	wg.Wait()
	for i, a := range answers {
		if a.status != http.StatusCreated || a.body != answers[0].body {
			t.Fatalf("answer %d: %+v, want %+v", i, a, answers[0])
		}
	}
	if n := ks.runs.Load(); n != 1 {
		t.Fatalf("the command ran %d times for 20 duplicates", n)
	}
}

// Invalid keys, sent on a raw socket so that the bytes on the wire are the
// ones under test: 400 idempotency.invalid_key, on every endpoint, and
// the command does not run. (Control characters other than tab, such as
// DEL, never reach WeGO: net/http refuses the request.)
func TestIdempotencyKeyInvalid(t *testing.T) {
	t.Parallel()
	ks := newKeyServer(t)
	addr := strings.TrimPrefix(ks.url, "http://")
	body := `{"sku":"apple","qty":1}`
	for name, headers := range map[string]string{
		"too long":    "Idempotency-Key: " + strings.Repeat("k", 256) + "\r\n",
		"tab":         "Idempotency-Key: a\tb\r\n",
		"non-ASCII":   "Idempotency-Key: cl\xc3\xa9\r\n",
		"given twice": "Idempotency-Key: a\r\nIdempotency-Key: b\r\n",
		"empty":       "Idempotency-Key: \r\n",
	} {
		for _, path := range []string{"/buy", "/look"} {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n%s",
				path, len(body), headers, body)
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("%s %s: %v", name, path, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			conn.Close()
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), `"code":"idempotency.invalid_key"`) {
				t.Errorf("%s %s: %d %s", name, path, resp.StatusCode, b)
			}
		}
	}
	// The longest valid key is fine.
	if a := post(t, ks.url+"/buy", body, "Idempotency-Key", strings.Repeat("k", 255)); a.status != http.StatusCreated {
		t.Errorf("a 255-byte key: %+v", a)
	}
	if n := ks.runs.Load(); n != 1 {
		t.Fatalf("the command ran %d times", n)
	}
}

// The key travels on a remote route: front.Place, served by one server,
// calls back.Reserve in another over HTTP with the key of its own call.
// A first attempt that fails after the remote step (with an error that is
// not stored) is retried by the client with the same key: back.Reserve
// replays its reservation, so the retry reserves nothing more.
func TestIdempotencyKeyTravelsOnRemoteRoute(t *testing.T) {
	t.Parallel()
	type reservation struct {
		ID  string `json:"id"`
		Key string `json:"key"`
	}
	// The back deployable.
	var reserves atomic.Int64
	back := catalog.New()
	mb, _ := idempotency.New(idempotency.DefaultConfig())
	back.UseServerSide(mb)
	catalog.RegisterIn(back, "back.Reserve", func(ctx context.Context, r buyRequest) (reservation, error) {
		key, _ := idempotency.KeyFrom(ctx)
		return reservation{ID: fmt.Sprint("res-", reserves.Add(1)), Key: key}, nil
	}, catalog.With(idempotency.Enabled.Value(true)))
	hb, err := httptransport.NewHandler(transport.Host{Catalog: back, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	backSrv := httptest.NewServer(hb)
	t.Cleanup(backSrv.Close)

	// The front deployable: back.Reserve declared and routed over HTTP.
	front := catalog.New()
	mf, _ := idempotency.New(idempotency.DefaultConfig())
	front.UseServerSide(mf)
	reserve, err := catalog.DeclareIn[buyRequest, reservation](front, "back.Reserve", catalog.With(idempotency.Enabled.Value(true)))
	if err != nil {
		t.Fatal(err)
	}
	client := httptransport.NewClient()
	t.Cleanup(client.CloseIdleConnections)
	if err := front.SetRoute("back.*", client.Route(backSrv.URL)); err != nil {
		t.Fatal(err)
	}
	var places atomic.Int64
	catalog.RegisterIn(front, "front.Place", func(ctx context.Context, r buyRequest) (receipt, error) {
		res, err := reserve.Call(ctx, r)
		if err != nil {
			return receipt{}, err
		}
		if places.Add(1) == 1 {
			return receipt{}, errs.Unavailable() // the order store failed: not stored, the client retries
		}
		return receipt{ID: res.ID, SKU: r.SKU, Key: res.Key}, nil
	}, httptransport.POST("/place"), catalog.With(idempotency.Enabled.Value(true)))
	hf, err := httptransport.NewHandler(transport.Host{Catalog: front, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	frontSrv := httptest.NewServer(hf)
	t.Cleanup(frontSrv.Close)

	body := `{"sku":"apple","qty":1}`
	if a := post(t, frontSrv.URL+"/place", body, "Idempotency-Key", "order-7"); a.status != http.StatusServiceUnavailable {
		t.Fatalf("first attempt: %+v", a)
	}
	retry := post(t, frontSrv.URL+"/place", body, "Idempotency-Key", "order-7")
	again := post(t, frontSrv.URL+"/place", body, "Idempotency-Key", "order-7")
	if retry.status != http.StatusOK || !strings.Contains(retry.body, `"id":"res-1"`) || !strings.Contains(retry.body, `"key":"order-7"`) || again != retry {
		t.Fatalf("retry %+v, again %+v", retry, again)
	}
	if reserves.Load() != 1 || places.Load() != 2 {
		t.Fatalf("back.Reserve ran %d times, front.Place %d", reserves.Load(), places.Load())
	}
	// Without a key nothing is sent, and each call reserves.
	if a := post(t, frontSrv.URL+"/place", body); !strings.Contains(a.body, `"key":""`) || reserves.Load() != 2 {
		t.Fatalf("without a key: %+v, reserves %d", a, reserves.Load())
	}
	// In process: a caller's context key goes over the route too.
	res, err := reserve.Call(idempotency.WithKey(context.Background(), "in-process"), buyRequest{SKU: "pear"})
	if err != nil || res.Key != "in-process" {
		t.Fatalf("a key from the caller's context: %+v, %v", res, err)
	}
}

func TestOpenAPIListsIdempotencyKey(t *testing.T) {
	t.Parallel()
	ks := newKeyServer(t)
	resp, err := http.Get(ks.url + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Name, In string
				Required bool
				Schema   map[string]any
			}
			Responses map[string]any
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	buy, look := doc.Paths["/buy"]["post"], doc.Paths["/look"]["post"]
	if len(buy.Parameters) != 1 {
		t.Fatalf("POST /buy parameters: %+v", buy.Parameters)
	}
	p := buy.Parameters[0]
	if p.Name != "Idempotency-Key" || p.In != "header" || p.Required || p.Schema["maxLength"] != float64(255) || p.Schema["minLength"] != float64(1) {
		t.Errorf("the key's parameter: %+v", p)
	}
	if _, ok := buy.Responses["422"]; !ok {
		t.Errorf("POST /buy does not document 422: %v", buy.Responses)
	}
	if len(look.Parameters) != 0 || look.Responses["422"] != nil {
		t.Errorf("POST /look, which does not accept keys, lists %+v, %v", look.Parameters, look.Responses)
	}
}
