package events_test

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/events"
	"github.com/wegomesh/wego/middleware/validate"
)

type shipped struct {
	OrderID string `json:"order_id"`
	Carrier string `json:"carrier"`
}

func (s *shipped) Validate() error {
	return validate.Checker{}.NotEmpty("order_id", s.OrderID).Err()
}

// The AsyncAPI document has what AsyncAPI 3.0 requires, its references
// resolve, a deployable sends on the topics of the services it runs and
// receives for its subscribers, and payload schemas carry the types'
// rules.
func TestAsyncAPIDocument(t *testing.T) {
	t.Parallel()
	cat := catalog.New()
	tp := topicIn[placed](t, cat, "orders.Placed", events.Doc("An order was placed."))
	topicIn[shipped](t, cat, "shipping.Shipped")
	if _, err := catalog.RegisterIn(cat, "orders.Place", func(context.Context, placed) (placed, error) { return placed{}, nil }); err != nil {
		t.Fatal(err)
	}
	subscribeIn(t, cat, "shipping.OnPlaced", tp, func(context.Context, placed) error { return nil }, events.Group("shipping"),
		events.Doc("Ships the order."))
	other := topicIn[shipped](t, catalog.New(), "billing.Invoiced") // declared in another catalog
	subscribeIn(t, cat, "shipping.OnInvoiced", other, func(context.Context, shipped) error { return nil })

	b, err := events.AsyncAPI(cat, "shop")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc["asyncapi"] != "3.0.0" {
		t.Errorf("asyncapi %v", doc["asyncapi"])
	}
	info := object(t, doc, "info")
	if info["title"] != "shop" || info["version"] == "" {
		t.Errorf("info %v", info)
	}
	channels, ops := object(t, doc, "channels"), object(t, doc, "operations")
	comps := object(t, doc, "components")
	msgs, schemas := object(t, comps, "messages"), object(t, comps, "schemas")
	key := regexp.MustCompile(`^[\w\d.\-_]+$`)
	for name := range msgs {
		if !key.MatchString(name) {
			t.Errorf("component message key %q", name)
		}
	}
	for name := range schemas {
		if !key.MatchString(name) {
			t.Errorf("component schema key %q", name)
		}
	}
	for _, name := range []string{"orders.Placed", "shipping.Shipped", "billing.Invoiced"} {
		ch := object(t, channels, name)
		if ch["address"] != name {
			t.Errorf("channel %s: address %v", name, ch["address"])
		}
		for _, m := range object(t, ch, "messages") {
			msg := resolve(t, doc, m.(map[string]any)["$ref"].(string))
			if msg["contentType"] != "application/json" || msg["payload"] == nil || msg["headers"] == nil {
				t.Errorf("message of %s: %v", name, msg)
			}
			if loc := msg["correlationId"].(map[string]any)["location"]; loc != "$message.header#/X-Correlation-Id" {
				t.Errorf("correlationId %v", loc)
			}
			if ref, ok := msg["payload"].(map[string]any)["$ref"].(string); ok {
				resolve(t, doc, ref)
			}
		}
	}
	want := map[string]string{"orders.Placed": "send", "shipping.Shipped": "send", "shipping.OnPlaced": "receive", "shipping.OnInvoiced": "receive"}
	if len(ops) != len(want) {
		t.Errorf("operations %v", keys(ops))
	}
	for name, action := range want {
		op := object(t, ops, name)
		if op["action"] != action {
			t.Errorf("operation %s: action %v, want %s", name, op["action"], action)
		}
		ch := resolve(t, doc, op["channel"].(map[string]any)["$ref"].(string))
		for _, m := range op["messages"].([]any) {
			ref := m.(map[string]any)["$ref"].(string)
			if !strings.HasPrefix(ref, op["channel"].(map[string]any)["$ref"].(string)+"/messages/") {
				t.Errorf("operation %s: message %s is not its channel's", name, ref)
			}
			resolve(t, doc, ref)
		}
		_ = ch
	}
	if g := object(t, ops, "shipping.OnPlaced")["x-wego-group"]; g != "shipping" {
		t.Errorf("group %v", g)
	}
	if s := object(t, ops, "shipping.OnPlaced")["summary"]; s != "Ships the order." {
		t.Errorf("summary %v", s)
	}
	var shippedSchema map[string]any
	for name, s := range schemas {
		if strings.HasSuffix(name, "shipped") {
			shippedSchema = s.(map[string]any)
		}
	}
	if req, _ := shippedSchema["required"].([]any); len(req) != 1 || req[0] != "order_id" {
		t.Errorf("the shipped schema does not require order_id: %v", shippedSchema)
	}
}

func object(t *testing.T, m map[string]any, key string) map[string]any {
	t.Helper()
	v, ok := m[key].(map[string]any)
	if !ok {
		t.Fatalf("%s is not an object: %v", key, m[key])
	}
	return v
}

// resolve follows a local reference ("#/a/b") in doc.
func resolve(t *testing.T, doc map[string]any, ref string) map[string]any {
	t.Helper()
	if !strings.HasPrefix(ref, "#/") {
		t.Fatalf("reference %q is not local", ref)
	}
	cur := doc
	for _, p := range strings.Split(ref[2:], "/") {
		p = strings.NewReplacer("~1", "/", "~0", "~").Replace(p)
		next, ok := cur[p].(map[string]any)
		if !ok {
			t.Fatalf("reference %q does not resolve at %q", ref, p)
		}
		cur = next
	}
	return cur
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
