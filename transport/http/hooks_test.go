package httptransport_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"go.uber.org/zap"

	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/log"
	"github.com/wegomesh/wego/transport"
	httptransport "github.com/wegomesh/wego/transport/http"
)

// tracer is a propagator that sends a trace id from the context as the
// Traceparent header, and puts the header's value in the context.
type tracer struct{}

type traceKey struct{}

func (tracer) Inject(ctx context.Context, md transport.Metadata) {
	if v, ok := ctx.Value(traceKey{}).(string); ok {
		md.Set("traceparent", v)
	}
}

func (tracer) Extract(ctx context.Context, md transport.Metadata) context.Context {
	if v := md.Get("traceparent"); v != "" {
		return context.WithValue(ctx, traceKey{}, v)
	}
	return ctx
}

// The host's propagators carry context from a remote route to the server
// through headers, and its server hooks span each command's request, see
// the extracted context, and end with the error the client got: how New
// Relic continues a trace across processes.
func TestHostPropagatorsAndHooks(t *testing.T) {
	t.Parallel()
	server := catalog.New()
	catalog.RegisterIn(server, "inventory.Stock", func(ctx context.Context, r StockRequest) (StockResponse, error) {
		if r.SKU == "pear" {
			return StockResponse{}, errs.NotFound()
		}
		if r.SKU == "boom" {
			panic("boom")
		}
		if ctx.Value(hookKey{}) != "inventory.Stock" {
			return StockResponse{}, errs.Internal()
		}
		return StockResponse{SKU: r.SKU, Available: 1}, nil
	}, httptransport.GET("/stock/{sku}"))

	var mu sync.Mutex
	var seen []string
	hook := func(ctx context.Context, r transport.ServerRequest) (context.Context, func(error)) {
		trace, _ := ctx.Value(traceKey{}).(string)
		start := r.Transport + " " + r.Spec.Name + " " + trace + " " + r.Metadata.Get("X-Request-Id")
		return context.WithValue(ctx, hookKey{}, r.Spec.Name), func(err error) {
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, start+" -> "+errs.CodeOf(err))
		}
	}
	h, err := httptransport.NewHandler(transport.Host{Catalog: server, Logger: zap.NewNop(),
		Propagators: []transport.Propagator{tracer{}}, ServerHooks: []transport.ServerHook{hook}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	client := catalog.New()
	stock, _ := catalog.DeclareIn[StockRequest, StockResponse](client, "inventory.Stock", httptransport.GET("/stock/{sku}"))
	route, err := transport.NewRoute(transport.Host{Propagators: []transport.Propagator{tracer{}}}, []string{srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if err := client.SetRoute("inventory.*", route); err != nil {
		t.Fatal(err)
	}
	id, err := log.ParseRequestID("req-1")
	if err != nil {
		t.Fatal(err)
	}
	ctx := log.ContextWithRequestID(context.WithValue(context.Background(), traceKey{}, "00-trace-span-01"), id)
	if resp, err := stock.Call(ctx, StockRequest{SKU: "apple"}); err != nil || resp.Available != 1 {
		t.Fatalf("%+v, %v", resp, err)
	}
	if _, err := stock.Call(ctx, StockRequest{SKU: "pear"}); errs.KindOf(err) != errs.KindNotFound {
		t.Fatalf("pear: %v", err)
	}
	if _, err := stock.Call(ctx, StockRequest{SKU: "boom"}); errs.CodeOf(err) != errs.Internal().Code() {
		t.Fatalf("boom: %v", err)
	}
	// Requests that reach no command start no hook.
	if resp, err := http.Get(srv.URL + "/healthz"); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{
		"http inventory.Stock 00-trace-span-01 req-1 -> ",
		"http inventory.Stock 00-trace-span-01 req-1 -> " + errs.NotFound().Code(),
		"http inventory.Stock 00-trace-span-01 req-1 -> " + errs.Internal().Code(),
	}
	if !slices.Equal(seen, want) {
		t.Fatalf("hooks saw\n%q\nwant\n%q", seen, want)
	}
}

type hookKey struct{}

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
