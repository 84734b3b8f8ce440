package httptransport_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/transport"
	httptransport "github.com/wegomesh/wego/transport/http"
	"github.com/wegomesh/wego/transport/transporttest"
)

// TestContract runs the contract of every transport against the HTTP
// transport: a real server on loopback, real clients.
func TestContract(t *testing.T) { transporttest.Run(t, httpHarness{}) }

type httpHarness struct{}

func (httpHarness) Serve(t *testing.T, host transport.Host, maxBody int64) transporttest.Server {
	s := httptransport.NewServer(httptransport.Addr("127.0.0.1:0"), httptransport.MaxBodyBytes(maxBody))
	if err := s.Start(context.Background(), host); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Stop(ctx)
	})
	return &httpServer{s: s, cat: host.Catalog, client: &http.Client{Timeout: 10 * time.Second}}
}

func (httpHarness) BadPeer(t *testing.T, body []byte) catalog.Route {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return httptransport.NewClient().Route(srv.URL)
}

type httpServer struct {
	s      *httptransport.Server
	cat    *catalog.Catalog
	client *http.Client
}

func (s *httpServer) Do(ctx context.Context, command string, md transport.MD, body []byte) (transporttest.Answer, error) {
	e, ok := s.cat.Entry(command)
	if !ok {
		return transporttest.Answer{}, catalog.ErrUnknownCommand.New()
	}
	ep, _ := httptransport.EndpointOf(e.Spec())
	req, err := http.NewRequestWithContext(ctx, ep.Method, s.s.URL()+ep.Path, bytes.NewReader(body))
	if err != nil {
		return transporttest.Answer{}, err
	}
	for k, v := range md {
		req.Header[k] = v
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return transporttest.Answer{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return transporttest.Answer{}, err
	}
	return transporttest.Answer{Failed: resp.StatusCode >= 300, Status: resp.StatusCode,
		Metadata: transport.MD(resp.Header), Body: data}, nil
}

func (s *httpServer) Route(t *testing.T) catalog.Route {
	r, err := transport.NewRoute(transport.Host{}, []string{s.s.URL()})
	if err != nil {
		t.Fatal(err)
	}
	return r
}
