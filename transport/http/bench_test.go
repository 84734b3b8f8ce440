package httptransport_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/transport"
	httptransport "github.com/wegomesh/wego/transport/http"
)

// The benchmarks compare the WeGO server and remote route with plain
// net/http code doing the same JSON work, on loopback, in one process: the
// allocations reported include the load generator's, which are the same
// on both sides of a comparison.

type benchReq struct {
	SKU string `json:"sku"`
	Qty int    `json:"qty"`
}

type benchResp struct {
	ID        string `json:"id"`
	Remaining int    `json:"remaining"`
}

func reserveBench(_ context.Context, r benchReq) (benchResp, error) {
	return benchResp{ID: r.SKU, Remaining: 100 - r.Qty}, nil
}

// bareHandler is what a hand-written net/http endpoint does.
func bareHandler(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	var req benchReq
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	resp, _ := reserveBench(r.Context(), req)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(resp)
}

func wegoHandler(b *testing.B) http.Handler {
	cat := catalog.New()
	if _, err := catalog.RegisterIn(cat, "inventory.Reserve", reserveBench); err != nil {
		b.Fatal(err)
	}
	h, err := httptransport.NewHandler(transport.Host{Catalog: cat})
	if err != nil {
		b.Fatal(err)
	}
	return h
}

type benchServer struct {
	*httptest.Server
	conns atomic.Int64
}

func startBenchServer(b *testing.B, h http.Handler) *benchServer {
	s := &benchServer{Server: httptest.NewUnstartedServer(h)}
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Start()
	b.Cleanup(s.Close)
	return s
}

func loadClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1024, MaxIdleConns: 1024}}
}

var benchBody = []byte(`{"sku":"apple-123","qty":3}`)

// loadServer sends POST requests from 16 goroutines per CPU over
// keep-alive connections and reports req/s, p50 and p99 latency.
func loadServer(b *testing.B, h http.Handler) {
	srv := startBenchServer(b, h)
	client := loadClient()
	defer client.CloseIdleConnections()
	url := srv.URL + "/inventory/reserve"
	var mu sync.Mutex
	var lat []time.Duration
	b.SetParallelism(16)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		local := make([]time.Duration, 0, 1024)
		for pb.Next() {
			start := time.Now()
			req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(benchBody))
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
			local = append(local, time.Since(start))
		}
		mu.Lock()
		lat = append(lat, local...)
		mu.Unlock()
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	if len(lat) > 0 {
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	}
}

func BenchmarkServerBare(b *testing.B) { loadServer(b, http.HandlerFunc(bareHandler)) }

func BenchmarkServerWeGO(b *testing.B) { loadServer(b, wegoHandler(b)) }

// BenchmarkServerHandlerBare and BenchmarkServerHandlerWeGO measure the
// handlers alone, without the network, for exact allocation counts.
func BenchmarkServerHandlerBare(b *testing.B) { serveDirect(b, http.HandlerFunc(bareHandler)) }

func BenchmarkServerHandlerWeGO(b *testing.B) { serveDirect(b, wegoHandler(b)) }

type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}

func serveDirect(b *testing.B, h http.Handler) {
	req := httptest.NewRequest(http.MethodPost, "/inventory/reserve", nil)
	req.Header.Set("Content-Type", "application/json")
	rd := bytes.NewReader(benchBody)
	body := io.NopCloser(rd)
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(benchBody)
		req.Body = body
		req.ContentLength = int64(len(benchBody))
		clear(w.h)
		h.ServeHTTP(w, req)
	}
}

// BenchmarkClientBare is a hand-written http.Client call of the command.
func BenchmarkClientBare(b *testing.B) {
	srv := startBenchServer(b, wegoHandler(b))
	client := loadClient()
	url := srv.URL + "/inventory/reserve"
	call := func(ctx context.Context, in benchReq) (benchResp, error) {
		var out benchResp
		data, err := json.Marshal(in)
		if err != nil {
			return out, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(data))
		if err != nil {
			return out, err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return out, err
		}
		defer resp.Body.Close()
		err = json.NewDecoder(resp.Body).Decode(&out)
		_, _ = io.Copy(io.Discard, resp.Body)
		return out, err
	}
	runClient(b, srv, call)
}

// BenchmarkClientRoute calls the same command through a remote route.
func BenchmarkClientRoute(b *testing.B) {
	srv := startBenchServer(b, wegoHandler(b))
	cat := catalog.New()
	cmd, err := catalog.DeclareIn[benchReq, benchResp](cat, "inventory.Reserve")
	if err != nil {
		b.Fatal(err)
	}
	if err := cat.SetRoute("inventory.*", httptransport.NewClient().Route(srv.URL)); err != nil {
		b.Fatal(err)
	}
	runClient(b, srv, cmd.Call)
}

// runClient calls sequentially and in parallel after a warm-up, and
// reports the connections opened during the measured calls.
func runClient(b *testing.B, srv *benchServer, call func(context.Context, benchReq) (benchResp, error)) {
	ctx := context.Background()
	in := benchReq{SKU: "apple-123", Qty: 3}
	b.Run("serial", func(b *testing.B) {
		if _, err := call(ctx, in); err != nil { // warm up: one connection
			b.Fatal(err)
		}
		before := srv.conns.Load()
		b.ReportAllocs()
		for b.Loop() {
			if out, err := call(ctx, in); err != nil || out.Remaining != 97 {
				b.Fatal(out, err)
			}
		}
		b.ReportMetric(float64(srv.conns.Load()-before), "new-conns")
	})
	b.Run("parallel", func(b *testing.B) {
		b.SetParallelism(16)
		b.ReportAllocs()
		before := srv.conns.Load()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := call(ctx, in); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(srv.conns.Load()-before), "new-conns")
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	})
}
