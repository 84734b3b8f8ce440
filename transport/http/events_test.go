package httptransport_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/wegomesh/wego/events"
	httptransport "github.com/wegomesh/wego/transport/http"
)

type parcel struct {
	OrderID string `json:"order_id"`
}

// The server serves the AsyncAPI document of the deployable's events
// next to its OpenAPI document, and never serves a topic or a subscriber
// as an endpoint, not even one given an endpoint attribute.
func TestEventsAreDocumentedNotServed(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tp, err := events.NewTopicIn[parcel](f.cat, "orders.Shipped", events.CatalogOptions(httptransport.POST("/orders/shipped")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := events.SubscribeIn(f.cat, "orders.OnShipped", tp, func(context.Context, parcel) error { return nil }); err != nil {
		t.Fatal(err)
	}
	srv := f.serve(t)
	r := do(t, nil, "GET", srv.URL+"/asyncapi.json", nil, "")
	var doc map[string]any
	if err := json.Unmarshal(r.body, &doc); err != nil || r.status != 200 {
		t.Fatalf("GET /asyncapi.json: %d %s", r.status, r.body)
	}
	ops, _ := doc["operations"].(map[string]any)
	if doc["asyncapi"] != "3.0.0" || ops["orders.Shipped"] == nil || ops["orders.OnShipped"] == nil {
		t.Errorf("AsyncAPI document %s", r.body)
	}
	for _, path := range []string{"/orders/shipped", "/orders/onshipped"} {
		if r := do(t, nil, "POST", srv.URL+path, nil, `{"order_id":"o1"}`); r.status != 404 && r.status != 405 {
			t.Errorf("POST %s: %d %s", path, r.status, r.body)
		}
	}
	r = do(t, nil, "GET", srv.URL+"/", nil, "")
	if strings.Contains(string(r.body), "Shipped") {
		t.Errorf("listing %s", r.body)
	}
	r = do(t, nil, "GET", srv.URL+"/openapi.json", nil, "")
	if strings.Contains(string(r.body), "Shipped") {
		t.Error("the OpenAPI document has an event")
	}
	if b, err := httptransport.OpenAPI(f.cat, "t"); err != nil || strings.Contains(string(b), "Shipped") {
		t.Errorf("OpenAPI: %v", err)
	}
}
