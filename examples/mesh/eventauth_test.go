package mesh_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"go.yaml.in/yaml/v3"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/catalog/catalogtest"
	"github.com/wegomesh/wego/config"
	"github.com/wegomesh/wego/engine"
	"github.com/wegomesh/wego/events"
	_ "github.com/wegomesh/wego/events/jsevents" // events.backend jetstream
	"github.com/wegomesh/wego/examples/mesh/inventory"
	"github.com/wegomesh/wego/examples/mesh/orders"
	shippingsvc "github.com/wegomesh/wego/examples/mesh/shipping/service"
	"github.com/wegomesh/wego/fw"
	"github.com/wegomesh/wego/transport"
	httptransport "github.com/wegomesh/wego/transport/http"
	natstransport "github.com/wegomesh/wego/transport/nats"
)

// securedApp starts an application of the mesh on cat with the
// configuration doc, serving HTTP (and extra), logging to core; before
// starts it, when given, after fw.New and before Start, as a deployable
// registers its subscribers (shippingsvc.Setup). It returns the HTTP base
// URL and the application.
func securedApp(t *testing.T, core zapcore.Core, cat *catalog.Catalog, doc map[string]any, before func(*fw.App), opts []fw.Option, extra ...transport.Transport) (string, *fw.App) {
	t.Helper()
	b, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	server := httptransport.NewServer(httptransport.Addr("127.0.0.1:0"), httptransport.Timeouts(5*time.Second, 0, 0, 0))
	app, err := fw.New(append([]fw.Option{
		fw.Catalog(cat),
		fw.Logger(zap.New(core)),
		fw.ConfigOptions(config.FS(fstest.MapFS{"test.yaml": {Data: b}}), config.Env("test"), config.Dir(t.TempDir())),
		fw.Sections("inventory"),
		fw.Messages(inventory.Messages, "locales/*.toml"),
		fw.Messages(orders.Messages, "locales/*.toml"),
		fw.Transports(append([]transport.Transport{server}, extra...)...),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	if before != nil {
		before(app)
	}
	if err := app.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Stop(context.Background()) })
	return "http://" + server.Addr(), app
}

// deadLetters collects the dead letters of an application.
type deadLetters struct {
	mu  sync.Mutex
	all []*events.DeadLetter
}

func (d *deadLetters) add(_ context.Context, dl *events.DeadLetter) {
	d.mu.Lock()
	d.all = append(d.all, dl)
	d.mu.Unlock()
}

// byOrder returns the dead letters by the order id of their event.
func (d *deadLetters) byOrder() map[string]*events.DeadLetter {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[string]*events.DeadLetter{}
	for _, dl := range d.all {
		var e orders.OrderPlaced
		_ = json.Unmarshal(dl.Data, &e)
		out[e.OrderID] = dl
	}
	return out
}

// Events are checked on the way in: anyone who reaches the NATS server
// can publish an orders.OrderPlaced into its stream, but shipping makes a
// shipment only for an event whose credential is the orders service's.
// Forged events — without a credential, with a user's token, another
// service's, an expired one, or the orders service's meant for another
// audience — make no shipment and are dead-lettered at once with their
// reason and an audit record, nothing of their credential logged; an
// order placed through orders still ships.
func TestForgedEventsAreRefused(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zapcore.DebugLevel)
	audited := map[string]any{"audit": map[string]any{"all": true}}

	invCat, _ := catalogtest.New(t)
	fresh(t, invCat)
	invAuth := shippedAuth(t, "inventory/cmd/inventory/config/dev.yaml")
	_, invApp := securedApp(t, core, invCat, map[string]any{"app": map[string]any{"name": "inventory"}, "auth": invAuth,
		"nats": map[string]any{"server": map[string]any{"listen": "127.0.0.1:-1", "store_dir": t.TempDir()}}}, nil, nil,
		natstransport.NewServer())
	natsURL := invApp.Host().Engine.(*engine.Engine).ClientURL()
	m := &securedMesh{devKey: invAuth["dev_key"].(map[string]any)["secret"].(string)}
	js := map[string]any{"backend": "jetstream", "jetstream": map[string]any{"storage": "memory"}}

	shipCat, _ := catalogtest.New(t)
	var dead deadLetters
	var ships *shippingsvc.Store
	ship, _ := securedApp(t, core, shipCat, map[string]any{"app": map[string]any{"name": "shipping"}, "middleware": audited,
		"auth": shippedAuth(t, "shipping/cmd/shipping/config/dev.yaml"), "nats": map[string]any{"urls": []any{natsURL}}, "events": js},
		func(*fw.App) { ships = withShipping(t, shipCat) }, // after fw.New, as shippingsvc.Setup
		[]fw.Option{fw.OnDeadLetter(dead.add)})

	ordCat, _ := catalogtest.New(t)
	fresh(t, ordCat)
	ord, _ := securedApp(t, core, ordCat, map[string]any{"app": map[string]any{"name": "orders"},
		"auth": shippedAuth(t, "orders/cmd/orders/config/dev.yaml"), "nats": map[string]any{"urls": []any{natsURL}}, "events": js,
		"routes": map[string]any{"inventory.*": "nats://inventory"}}, nil, nil)

	// The forgeries, straight into the topic's stream.
	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	jsc, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	service := func(sub, aud string, exp time.Time) string {
		return m.token(t, jwt.MapClaims{"sub": sub, "account_type": "service", "aud": aud, "exp": exp.Unix()})
	}
	hour := time.Now().Add(time.Hour)
	forged := []struct{ id, authorization, code string }{
		{"forged-none", "", "auth.missing_credential"},
		{"forged-user", "Bearer " + m.token(t, jwt.MapClaims{"sub": "alice", "aud": "shipping", "scope": "orders"}), "auth.denied"},
		{"forged-billing", "Bearer " + service("billing", "shipping", hour), "auth.denied"},
		{"forged-expired", "Bearer " + service("orders", "shipping", time.Now().Add(-time.Hour)), "auth.token_expired"},
		{"forged-audience", "Bearer " + service("orders", "inventory", hour), "auth.wrong_audience"},
		{"forged-garbage", "Bearer " + sentinel, "auth.malformed_credential"},
	}
	for _, f := range forged {
		data, _ := json.Marshal(orders.OrderPlaced{OrderID: f.id, SKU: "apple", Qty: 1, ReservationID: "r-forged", PlacedAt: time.Now()})
		msg := nats.NewMsg(orders.Placed.Name())
		msg.Data = data
		if f.authorization != "" {
			msg.Header.Set("Authorization", f.authorization)
		}
		if _, err := jsc.PublishMsg(t.Context(), msg); err != nil {
			t.Fatalf("publishing %s: %v", f.id, err)
		}
	}

	// A genuine order ships.
	user := "Bearer " + m.token(t, jwt.MapClaims{"sub": "alice", "aud": "orders", "scope": "orders"})
	placed := m.do(t, ord, "POST", "/orders", `{"sku":"apple","qty":2}`, user)
	id, _ := placed.body["order_id"].(string)
	if placed.status != http.StatusCreated || id == "" {
		t.Fatalf("POST /orders: %d %v", placed.status, placed.body)
	}
	reader := "Bearer " + m.token(t, jwt.MapClaims{"sub": "alice", "aud": "shipping", "scope": "orders"})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if a := m.do(t, ship, "GET", "/shipments/"+id, "", reader); a.status == http.StatusOK {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("no shipment of the genuine order %s: %d %v", id, a.status, a.body)
		}
		time.Sleep(10 * time.Millisecond)
	}

	// Each forgery is dead-lettered, with its reason, after one delivery.
	var byOrder map[string]*events.DeadLetter
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if byOrder = dead.byOrder(); len(byOrder) >= len(forged) || time.Now().After(deadline) {
			break
		}
	}
	for _, f := range forged {
		dl := byOrder[f.id]
		switch {
		case dl == nil:
			t.Errorf("%s: not dead-lettered", f.id)
		case dl.Reason != events.ReasonTerminated || dl.Code != f.code || dl.Deliveries != 1 || dl.Subscriber != shippingsvc.SubscriberName:
			t.Errorf("%s: dead letter %s %s after %d deliveries to %s, want terminated %s after 1 to %s",
				f.id, dl.Reason, dl.Code, dl.Deliveries, dl.Subscriber, f.code, shippingsvc.SubscriberName)
		}
	}
	if len(byOrder) != len(forged) {
		t.Errorf("%d dead letters, want %d: %v", len(byOrder), len(forged), byOrder)
	}
	if n := ships.Len(); n != 1 {
		t.Errorf("%d shipments, want the genuine order's only", n)
	}

	// Each refusal is audited, and logged without its credential.
	audit := logs.FilterLoggerName("audit").FilterField(zap.String("command", shippingsvc.SubscriberName))
	for _, f := range forged {
		if audit.FilterField(zap.String("outcome", f.code)).Len() == 0 {
			t.Errorf("%s: no audit record with outcome %s", f.id, f.code)
		}
	}
	if n := logs.FilterMessage("auth: delivery refused").Len(); n != len(forged) {
		t.Errorf("%d refusals logged, want %d", n, len(forged))
	}
	var all strings.Builder
	for _, e := range logs.All() {
		fmt.Fprintf(&all, "%s %s %v\n", e.LoggerName, e.Message, e.ContextMap())
	}
	for _, f := range forged {
		if f.authorization != "" && strings.Contains(all.String(), strings.TrimPrefix(f.authorization, "Bearer ")) {
			t.Errorf("%s: the logs hold its credential", f.id)
		}
	}
	if strings.Contains(all.String(), sentinel) {
		t.Error("the logs hold a credential")
	}
}

// With WEGO_ENV=single, shipping runs in the orders process, on the
// in-process backend: orders' events carry the orders service's account,
// which the rules of single.yaml let publish, and shipping's subscriber
// is allowed to the same account.
func TestSingleProcessEventsWithAuth(t *testing.T) {
	t.Parallel()
	core, _ := observer.New(zapcore.InfoLevel)
	cat, _ := catalogtest.New(t)
	fresh(t, cat)
	var ships *shippingsvc.Store
	base, _ := securedApp(t, core, cat, map[string]any{"app": map[string]any{"name": "orders"},
		"auth": shippedAuth(t, "orders/cmd/orders/config/single.yaml"), "events": map[string]any{"backend": "memory"}},
		func(*fw.App) { ships = withShipping(t, cat) }, nil)
	m := &securedMesh{devKey: "wego-example-mesh-development-key-not-a-secret"}
	user := "Bearer " + m.token(t, jwt.MapClaims{"sub": "alice", "aud": "orders", "scope": "orders"})
	a := m.do(t, base, "POST", "/orders", `{"sku":"apple","qty":2}`, user)
	if a.status != http.StatusCreated {
		t.Fatalf("POST /orders: %d %v", a.status, a.body)
	}
	for deadline := time.Now().Add(5 * time.Second); ships.Len() != 1; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the order was not shipped")
		}
	}
}

// When orders calls inventory as itself and inventory refuses it, the
// fault is the services' configuration, not the caller's: orders answers
// 500 auth.service_refused, which tells nothing of inventory, and logs
// inventory's refusal with the command and its route. A route that acts
// on the caller's behalf (identity.on_behalf) relays the refusal as it
// is: it is the caller's. Over HTTP and over NATS.
func TestServiceRefusal(t *testing.T) {
	t.Parallel()
	for _, overNATS := range []bool{false, true} {
		t.Run(map[bool]string{false: "http", true: "nats"}[overNATS], func(t *testing.T) {
			t.Parallel()
			core, logs := observer.New(zapcore.DebugLevel)
			invCat, _ := catalogtest.New(t)
			fresh(t, invCat)
			invAuth := shippedAuth(t, "inventory/cmd/inventory/config/dev.yaml")
			invAuth["rules"] = []any{ // a misconfiguration: the orders service may not reserve
				map[string]any{"resource": "inventory.*", "who": []any{"scope:inventory.admin"}, "access": "allow"},
			}
			m := &securedMesh{devKey: invAuth["dev_key"].(map[string]any)["secret"].(string)}
			inv, invApp := securedApp(t, core, invCat, map[string]any{"app": map[string]any{"name": "inventory"}, "auth": invAuth,
				"nats": map[string]any{"server": map[string]any{"listen": "127.0.0.1:-1", "jetstream": false}}}, nil, nil,
				natstransport.NewServer())
			natsURL := invApp.Host().Engine.(*engine.Engine).ClientURL()

			orders := func(onBehalf bool) string {
				cat, _ := catalogtest.New(t)
				fresh(t, cat)
				ordAuth := shippedAuth(t, "orders/cmd/orders/config/dev.yaml")
				if onBehalf {
					ordAuth["identity"].(map[string]any)["on_behalf"] = []any{"inventory.*"}
				}
				doc := map[string]any{"app": map[string]any{"name": "orders"}, "auth": ordAuth, "routes": map[string]any{"inventory.*": inv}}
				if overNATS {
					doc["nats"] = map[string]any{"urls": []any{natsURL}}
					doc["routes"] = map[string]any{"inventory.*": "nats://inventory"}
				}
				base, _ := securedApp(t, core, cat, doc, nil, nil)
				return base
			}
			// alice's token is meant for orders and inventory, so that a
			// call on her behalf reaches inventory's rules.
			alice := "Bearer " + m.token(t, jwt.MapClaims{"sub": "alice", "aud": []any{"orders", "inventory"}, "scope": "orders"})

			a := m.do(t, orders(false), "POST", "/orders", `{"sku":"apple","qty":1}`, alice)
			if code, _ := a.body["code"].(string); a.status != http.StatusInternalServerError || code != "auth.service_refused" || a.body["kind"] != "internal" {
				t.Fatalf("orders calling inventory as itself, refused: %d %v; want 500 auth.service_refused", a.status, a.body)
			}
			if strings.Contains(string(a.raw), "inventory") || strings.Contains(string(a.raw), "auth.denied") {
				t.Errorf("the answer tells of inventory's refusal: %s", a.raw)
			}
			lines := logs.FilterMessageSnippet("the service's own call was refused").All()
			if len(lines) != 1 {
				t.Fatalf("%d log lines of the refusal, want 1", len(lines))
			}
			route := map[bool]string{false: inv, true: "nats://inventory"}[overNATS]
			if f := lines[0].ContextMap(); f["called"] != "inventory.Reserve" || f["route"] != route || f["code"] != "auth.denied" || f["service_account"] != "orders" {
				t.Errorf("the refusal's log line: %v", f)
			}

			a = m.do(t, orders(true), "POST", "/orders", `{"sku":"apple","qty":1}`, alice)
			if code, _ := a.body["code"].(string); a.status != http.StatusForbidden || code != "auth.denied" {
				t.Fatalf("orders calling inventory on alice's behalf, refused: %d %v; want 403 auth.denied", a.status, a.body)
			}
		})
	}
}
