package httptransport_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/transport"
	httptransport "github.com/wegomesh/wego/transport/http"
)

// The host's net/http middleware wrap the server's handler, and its header
// functions add headers to every request of a remote route: how New Relic
// continues a trace across processes.
func TestHostHTTPHooks(t *testing.T) {
	t.Parallel()
	server := catalog.New()
	catalog.RegisterIn(server, "inventory.Stock", func(_ context.Context, r StockRequest) (StockResponse, error) {
		return StockResponse{SKU: r.SKU, Available: 1}, nil
	}, httptransport.GET("/stock/{sku}"))

	var wrapped atomic.Int32
	var traced atomic.Value
	h, err := httptransport.NewHandler(transport.Host{Catalog: server,
		HTTPServerMiddleware: []func(http.Handler) http.Handler{func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				wrapped.Add(1)
				traced.Store(r.Header.Get("Traceparent"))
				next.ServeHTTP(w, r)
			})
		}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	client := catalog.New()
	stock, _ := catalog.DeclareIn[StockRequest, StockResponse](client, "inventory.Stock", httptransport.GET("/stock/{sku}"))
	route, err := transport.NewRoute(transport.Host{HTTPClientHeaders: []func(context.Context, http.Header){
		func(_ context.Context, h http.Header) { h.Set("Traceparent", "00-trace-span-01") },
	}}, []string{srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if err := client.SetRoute("inventory.*", route); err != nil {
		t.Fatal(err)
	}
	if resp, err := stock.Call(context.Background(), StockRequest{SKU: "apple"}); err != nil || resp.Available != 1 {
		t.Fatalf("%+v, %v", resp, err)
	}
	if wrapped.Load() != 1 || traced.Load() != "00-trace-span-01" {
		t.Fatalf("server middleware ran %d times, saw trace header %q", wrapped.Load(), traced.Load())
	}
}

func TestServerURL(t *testing.T) {
	t.Parallel()
	for addr, host := range map[string]string{"127.0.0.1:0": "127.0.0.1", ":0": "localhost", "[::1]:0": "[::1]"} {
		s := httptransport.NewServer(httptransport.Addr(addr))
		if s.URL() != "" {
			t.Fatal("URL before Start must be empty")
		}
		if err := s.Start(context.Background(), transport.Host{Catalog: catalog.New()}); err != nil {
			if addr == "[::1]:0" {
				continue // no IPv6 loopback on this machine
			}
			t.Fatal(err)
		}
		u := s.URL()
		s.Stop(context.Background())
		if !strings.HasPrefix(u, "http://"+host+":") || strings.HasSuffix(u, ":0") {
			t.Errorf("%s: URL = %q", addr, u)
		}
	}
}
