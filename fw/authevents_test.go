package fw_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/wegomesh/wego/auth"
	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/events"
	"github.com/wegomesh/wego/fw"
)

// sent records what the application's bus hands its backend, by
// events.memory.queue_size: one per test, and one backend per test.
var (
	sentMu sync.Mutex
	sent   = map[int]*[]events.Message{}
)

type sendingBackend struct {
	*events.Memory
	msgs *[]events.Message
}

func (b sendingBackend) Publish(ctx context.Context, m events.Message) error {
	sentMu.Lock()
	*b.msgs = append(*b.msgs, m)
	sentMu.Unlock()
	return b.Memory.Publish(ctx, m)
}

func init() {
	events.RegisterKind("fwauthtest", func(cfg events.Config, _ any, _ *zap.Logger) (events.Backend, error) {
		sentMu.Lock()
		defer sentMu.Unlock()
		// A new record for each backend built, so that a test run again
		// (go test -count) starts empty.
		msgs := new([]events.Message)
		sent[cfg.Memory.QueueSize] = msgs
		return sendingBackend{Memory: events.NewMemory(events.MemoryConfig{Synchronous: true}), msgs: msgs}, nil
	})
}

func sentMessages(queue int) []events.Message {
	sentMu.Lock()
	defer sentMu.Unlock()
	if m := sent[queue]; m != nil {
		return append([]events.Message(nil), *m...)
	}
	return nil
}

// eventsAuthYAML is auth on, the service account orders, and the rules
// that let it publish orders.Placed and subscribe shipping.OnPlaced; the
// events in process, through fwauthtest with queue size queue.
func eventsAuthYAML(queue int, identity string) string {
	return fmt.Sprintf(`app: {name: orders}
events: {backend: fwauthtest, memory: {queue_size: %d}}
auth:
  enabled: true
  dev_key: {secret: %q}
  identity: %s
  rules:
    - {resource: "publish:orders.Placed", who: ["account:orders"], access: allow}
    - {resource: "subscribe:shipping.OnPlaced", who: ["account:orders"], access: allow}
`, queue, devSecret, identity)
}

// eventsApp makes an application on a catalog with the topic
// orders.Placed, registers the subscriber shipping.OnPlaced after fw.New
// (as a deployable does), and starts it. The subscriber sends the
// account of each delivery to got.
func eventsApp(t *testing.T, yaml string) (*fw.App, *events.Topic[order], chan string, *observer.ObservedLogs, error) {
	t.Helper()
	cat := catalog.New()
	tp, err := events.NewTopicIn[order](cat, "orders.Placed")
	if err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zapcore.DebugLevel)
	a, err := appWithConfig(t, cat, yaml, fw.Logger(zap.New(core)))
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 10)
	if _, err := events.SubscribeIn(cat, "shipping.OnPlaced", tp, func(ctx context.Context, _ order) error {
		acct, _ := auth.FromContext(ctx)
		got <- fmt.Sprint(acct)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	err = a.Start(context.Background())
	if err == nil {
		t.Cleanup(func() { a.Stop(context.Background()) })
	}
	return a, tp, got, logs, err
}

// With auth on, events carry the service identity: its credential, and
// its account in process. A delivery runs with the publisher's account;
// a publish that the rules do not allow is refused with auth.denied, and
// nothing is sent.
func TestEventsWithAuth(t *testing.T) {
	t.Parallel()
	a, tp, got, logs, err := eventsApp(t, eventsAuthYAML(101, "{account: orders, use_dev_key: true}"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := catalog.NewContext(context.Background(), a.Catalog())
	if err := tp.Publish(ctx, order{ID: "o1"}); err != nil {
		t.Fatal(err)
	}
	if acct := <-got; !strings.Contains(acct, "orders") {
		t.Errorf("delivered with the account %s, want orders", acct)
	}
	msgs := sentMessages(101)
	if len(msgs) != 1 || !strings.HasPrefix(msgs[0].Authorization, "Bearer ") || msgs[0].Account == nil || msgs[0].Account.ID != "orders" {
		t.Fatalf("sent %+v", msgs)
	}
	line := logs.FilterMessageSnippet("auth: on").All()
	if len(line) != 1 || line[0].ContextMap()["events"] != int64(2) || line[0].ContextMap()["service_account"] != "orders" {
		t.Errorf("start-up line %v", line)
	}

	// Another service account may not publish.
	a, tp, got, _, err = eventsApp(t, eventsAuthYAML(102, "{account: billing}")+
		`    - {resource: "subscribe:shipping.OnPlaced", who: ["account:billing"], access: allow}`+"\n")
	if err != nil {
		t.Fatal(err)
	}
	err = tp.Publish(catalog.NewContext(context.Background(), a.Catalog()), order{ID: "o2"})
	if !errors.Is(err, auth.ErrDenied) {
		t.Fatalf("billing publishes: %v, want auth.denied", err)
	}
	if n := len(sentMessages(102)); n != 0 || len(got) != 0 {
		t.Errorf("a refused publish was sent (%d) or delivered (%d)", n, len(got))
	}
}

// The rules on events are checked when the application starts, once its
// subscribers are registered: a subscriber that the service account may
// not subscribe, or a rule that reaches no topic or subscriber, fails the
// start with the rule's file; the topics no rule reaches are listed.
func TestEventsAuthStartUp(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct{ yaml, want string }{
		"a subscriber not allowed": {strings.Replace(eventsAuthYAML(103, "{account: orders}"), `who: ["account:orders"], access: allow}`+"\n", `who: ["account:billing"], access: allow}`+"\n", 2),
			`auth.rules in embed:dev.yaml: subscriber shipping.OnPlaced: no rule lets the service account "orders" subscribe`},
		"no service account": {eventsAuthYAML(104, "{}"), "auth.identity.account in embed:dev.yaml: subscriber shipping.OnPlaced"},
		"a rule on no topic": {eventsAuthYAML(105, "{account: orders}") + `    - {resource: "publish:billing.*", who: ["anyone"], access: allow}` + "\n",
			`auth.rules[2].resource in embed:dev.yaml: "publish:billing.*" matches no resource`},
	} {
		_, _, _, _, err := eventsApp(t, c.yaml)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
	cat := catalog.New()
	if _, err := events.NewTopicIn[order](cat, "orders.Other"); err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zapcore.DebugLevel)
	a, err := appWithConfig(t, cat, "auth: {enabled: true, dev_key: {secret: \""+devSecret+"\"}}\n", fw.Logger(zap.New(core)))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer a.Stop(context.Background())
	lines := logs.FilterMessageSnippet("no rule reaches").All()
	if len(lines) != 1 || fmt.Sprint(lines[0].ContextMap()["unreached"]) != "[publish:orders.Other]" {
		t.Errorf("start-up line %v", lines)
	}
}

// With auth off and no service identity, events carry nothing more than
// before.
func TestEventsWithoutAuth(t *testing.T) {
	t.Parallel()
	a, tp, got, _, err := eventsApp(t, "events: {backend: fwauthtest, memory: {queue_size: 106}}\n")
	if err != nil {
		t.Fatal(err)
	}
	if err := tp.Publish(catalog.NewContext(context.Background(), a.Catalog()), order{ID: "o1"}); err != nil {
		t.Fatal(err)
	}
	if acct := <-got; acct != "<nil>" {
		t.Errorf("delivered with the account %s", acct)
	}
	if m := sentMessages(106); len(m) != 1 || m[0].Authorization != "" || m[0].Account != nil {
		t.Errorf("sent %+v", m)
	}
}
