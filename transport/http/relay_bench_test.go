package httptransport_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/transport"
	httptransport "github.com/wegomesh/wego/transport/http"
)

// The relay benchmarks measure what one large request costs on the path
// of the example mesh: a client posts a 1 MiB order to "orders", whose
// command relays it to "inventory" through a remote route; inventory
// answers a few bytes. B/op is everything the process allocated for one
// request (client, both servers, the route), so MiB/op over the 1 MiB
// payload counts the copies of the body and its re-encodings. The bare
// variant is the same relay written with net/http and encoding/json, the
// baseline of the same run.

const relayPayload = 1 << 20

type relayReq struct {
	SKU string `json:"sku"`
	Qty int    `json:"qty"`
}

type relayResp struct {
	ID string `json:"id"`
}

// relayBody is an order whose SKU is n bytes of c.
func relayBody(c byte, n int) []byte {
	return []byte(`{"sku":"` + strings.Repeat(string(c), n) + `","qty":1}`)
}

// relayWeGO starts inventory and orders as two WeGO servers on loopback
// and returns the URL of orders' relaying endpoint.
func relayWeGO(b *testing.B) string {
	inv := catalog.New()
	if _, err := catalog.RegisterIn(inv, "inventory.Reserve", func(_ context.Context, r relayReq) (relayResp, error) {
		return relayResp{ID: fmt.Sprint(len(r.SKU))}, nil
	}); err != nil {
		b.Fatal(err)
	}
	invSrv := startBenchServer(b, mustHandler(b, transport.Host{Catalog: inv}))

	ord := catalog.New()
	reserve, err := catalog.DeclareIn[relayReq, relayResp](ord, "inventory.Reserve")
	if err != nil {
		b.Fatal(err)
	}
	client := httptransport.NewClient()
	b.Cleanup(client.CloseIdleConnections)
	if err := ord.SetRoute("inventory.*", client.Route(invSrv.URL)); err != nil {
		b.Fatal(err)
	}
	if _, err := catalog.RegisterIn(ord, "orders.Place", func(ctx context.Context, r relayReq) (relayResp, error) {
		return reserve.Call(ctx, r)
	}); err != nil {
		b.Fatal(err)
	}
	ordSrv := startBenchServer(b, mustHandler(b, transport.Host{Catalog: ord}))
	return ordSrv.URL + "/orders/place"
}

func mustHandler(b *testing.B, host transport.Host) http.Handler {
	h, err := httptransport.NewHandler(host, httptransport.MaxBodyBytes(8*relayPayload))
	if err != nil {
		b.Fatal(err)
	}
	return h
}

// relayBare is the same relay in plain net/http and encoding/json.
func relayBare(b *testing.B) string {
	invSrv := startBenchServer(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req relayReq
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 8*relayPayload)).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(relayResp{ID: fmt.Sprint(len(req.SKU))})
	}))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.Cleanup(client.CloseIdleConnections)
	ordSrv := startBenchServer(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req relayReq
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 8*relayPayload)).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		data, err := json.Marshal(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		out, err := http.NewRequestWithContext(r.Context(), http.MethodPost, invSrv.URL+"/inventory/reserve", bytes.NewReader(data))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		out.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		var res relayResp
		if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(res)
	}))
	return ordSrv.URL + "/orders/place"
}

// BenchmarkRelay1MiB posts 1 MiB orders through orders to inventory and
// reports MiB allocated per request. "letters" is a SKU of plain letters;
// "markup" a SKU of '<', which encoding/json escapes to six bytes by
// default.
func BenchmarkRelay1MiB(b *testing.B) {
	for _, payload := range []struct {
		name string
		c    byte
	}{{"letters", 'a'}, {"markup", '<'}} {
		body := relayBody(payload.c, relayPayload-len(`{"sku":"","qty":1}`))
		for _, impl := range []struct {
			name  string
			start func(*testing.B) string
		}{{"bare", relayBare}, {"wego", relayWeGO}} {
			b.Run(payload.name+"/"+impl.name, func(b *testing.B) {
				url := impl.start(b)
				client := loadClient()
				defer client.CloseIdleConnections()
				want := fmt.Sprintf(`{"id":"%d"}`, relayPayload-len(`{"sku":"","qty":1}`))
				post := func() {
					resp, err := client.Post(url, "application/json", bytes.NewReader(body))
					if err != nil {
						b.Fatal(err)
					}
					got, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(got)) != want {
						b.Fatalf("%d %.200s", resp.StatusCode, got)
					}
				}
				post() // warm up the connections
				b.SetBytes(int64(len(body)))
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					post()
				}
			})
		}
	}
}

// BenchmarkGuard measures what the connection guard adds to a request:
// the same handler served by httptest's server (no guard) and by a
// Server (guarded), one keep-alive connection, requests one at a time.
func BenchmarkGuard(b *testing.B) {
	cat := catalog.New()
	if _, err := catalog.RegisterIn(cat, "inventory.Reserve", reserveBench); err != nil {
		b.Fatal(err)
	}
	host := transport.Host{Catalog: cat}
	h, err := httptransport.NewHandler(host)
	if err != nil {
		b.Fatal(err)
	}
	plain := startBenchServer(b, h)
	guarded := httptransport.NewServer(httptransport.Addr("127.0.0.1:0"))
	if err := guarded.Start(context.Background(), host); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = guarded.Stop(context.Background()) })
	for _, s := range []struct{ name, url string }{{"unguarded", plain.URL}, {"guarded", guarded.URL()}} {
		b.Run(s.name, func(b *testing.B) {
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			defer client.CloseIdleConnections()
			url := s.url + "/inventory/reserve"
			b.ReportAllocs()
			for b.Loop() {
				resp, err := client.Post(url, "application/json", bytes.NewReader(benchBody))
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
		})
	}
}
