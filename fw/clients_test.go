package fw_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	httptransport "github.com/wegomesh/wego/transport/http"
)

type slowRequest struct{}

type slowResponse struct {
	OK bool `json:"ok"`
}

// Each App owns the client of its routes, made from its own http_client
// section and closed when it stops: two Apps in one process, one with a
// response header timeout shorter than a slow server takes, the other
// with a longer one, get different outcomes, and stopping an App closes
// its idle connections.
func TestEachAppOwnsItsClient(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	closed := map[string]bool{} // remote address -> closed
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(300 * time.Millisecond)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"ok":true}`))
	}))
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		mu.Lock()
		defer mu.Unlock()
		closed[c.RemoteAddr().String()] = s == http.StateClosed
	}
	srv.Start()
	defer srv.Close()

	app := func(timeout string) (*catalog.Catalog, func(context.Context) (slowResponse, error), func()) {
		cat := catalog.New()
		h, err := catalog.DeclareIn[slowRequest, slowResponse](cat, "slow.Get", httptransport.GET("/slow"))
		if err != nil {
			t.Fatal(err)
		}
		a, err := appWithConfig(t, cat, "http_client: {response_header_timeout: "+timeout+"}\nroutes:\n  slow.Get: "+srv.URL+"\n")
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		call := func(ctx context.Context) (slowResponse, error) { return h.Call(ctx, slowRequest{}) }
		return cat, call, func() {
			if err := a.Stop(context.Background()); err != nil {
				t.Error(err)
			}
		}
	}
	_, short, stopShort := app("50ms")
	defer stopShort()
	_, long, stopLong := app("5s")

	if _, err := short(context.Background()); errs.KindOf(err) != errs.KindUnavailable {
		t.Fatalf("the App with a 50ms response header timeout: %v, want unavailable", err)
	}
	if resp, err := long(context.Background()); err != nil || !resp.OK {
		t.Fatalf("the App with a 5s response header timeout: %+v, %v", resp, err)
	}
	// The long App's call left an idle keep-alive connection: its Stop
	// closes it.
	stopLong()
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		idle := 0
		for _, c := range closed {
			if !c {
				idle++
			}
		}
		mu.Unlock()
		if idle == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d connections still open after the App stopped", idle)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
