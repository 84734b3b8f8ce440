package reliability

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// Regressions of the bugs this suite found; docs/reliability.md tells
// their story.

// Server.Stop used to turn /readyz to 503 and close the listener in the
// same instant, so a load balancer polling /readyz never saw the 503. With
// http.drain_delay it keeps serving for that long after readiness turns
// false.
func TestReadinessDrainWindow(t *testing.T) {
	t.Parallel()
	inv := start(t, nodeOpts{yaml: inventoryYAML(""), stock: catalogue(1, 1)})
	stop := make(chan struct{})
	probes := pollReadiness(inv.url, stop)
	time.Sleep(50 * time.Millisecond)
	if err := inv.stop(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	close(stop)
	_, notReady, _ := checkReadiness(t, probes())
	if notReady == 0 {
		t.Errorf("/readyz never answered 503 while inventory stopped: it went from 200 to connection refused")
	}
}

// A request whose path is not canonical ("/orders/../x", "//orders",
// "/orders/./x") used to get ServeMux's redirect with an HTML body; it is
// a 404 WeGO JSON error with a request id.
func TestNonCanonicalPathsAreJSON404(t *testing.T) {
	t.Parallel()
	inv := start(t, nodeOpts{yaml: inventoryYAML(""), stock: catalogue(1, 1)})
	for _, target := range []string{"/orders/../../etc/passwd", "//orders", "/orders/./x", "/inventory/stock/../../x"} {
		r := sendRaw(t, inv.addr, request("GET", target, nil, nil))
		if r.status != http.StatusNotFound || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") ||
			r.header.Get("X-Request-Id") == "" {
			t.Errorf("GET %s -> %d %s %q, want a 404 JSON error body with X-Request-Id", target, r.status, r.header.Get("Content-Type"), r.body)
		}
	}
}

// net/http reads 4096 bytes beyond http.Server.MaxHeaderBytes before it
// answers 431; the transport subtracts that slack, so headers just over
// max_header_bytes are refused.
func TestMaxHeaderBytesIsTheLimit(t *testing.T) {
	t.Parallel()
	inv := start(t, nodeOpts{yaml: inventoryYAML(""), stock: catalogue(1, 1)})
	ord := start(t, nodeOpts{yaml: ordersYAML(inv.url, "", hostileHTTP)})
	r := sendRaw(t, ord.addr, post(`{"sku":"plenty-0","qty":1}`, "X-Pad: "+strings.Repeat("a", maxHeader+100)))
	if r.status != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("headers of more than max_header_bytes (%d) -> %d, want 431", maxHeader, r.status)
	}
}
