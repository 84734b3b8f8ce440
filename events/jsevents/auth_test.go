package jsevents_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"go.uber.org/zap"

	"github.com/wegomesh/wego/auth"
	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/config"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/events"
	"github.com/wegomesh/wego/events/jsevents"
	"github.com/wegomesh/wego/fw"
)

// The publisher's credential is stored in the Authorization header and
// delivered; its account stays in the publishing process. Each delivery
// says when the server stored the event, redeliveries included.
func TestCredentialAndStoredTime(t *testing.T) {
	eng := embedded(t)
	b := jsevents.New(eng, testConfig(), zap.NewNop())
	ctx := context.Background()
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	type got struct {
		authorization string
		acct          *auth.Account
		stored        time.Time
	}
	ch := make(chan got, 2)
	var n atomic.Int32
	sub := events.Subscription{Name: "shipping.OnPlaced", Topic: "orders.Placed", Group: "shipping.OnPlaced", Concurrency: 1,
		Retry:      events.RetryPolicy{MaxDeliveries: 3, MinBackoff: 10 * time.Millisecond, MaxBackoff: 10 * time.Millisecond},
		DeadLetter: func(context.Context, *events.DeadLetter) {}}
	if err := b.Subscribe(ctx, sub, func(_ context.Context, d *events.Delivery) error {
		ch <- got{d.Authorization, d.Account, d.Stored}
		if n.Add(1) == 1 {
			return errs.Unavailable() // delivered again
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	msg := events.Message{Topic: "orders.Placed", ContentType: events.ContentTypeJSON, Data: []byte(`{}`),
		Authorization: "Bearer t0k3n", Account: &auth.Account{ID: "orders"}}
	if _, err := b.PublishAck(ctx, msg); err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	first, again := receive(t, ch), receive(t, ch)
	if first.authorization != "Bearer t0k3n" || first.acct != nil {
		t.Errorf("delivered %q, account %v; want the credential and no account", first.authorization, first.acct)
	}
	if first.stored.Before(before.Add(-time.Second)) || first.stored.After(after.Add(time.Second)) || !again.stored.Equal(first.stored) {
		t.Errorf("stored at %v, then %v; published between %v and %v", first.stored, again.stored, before, after)
	}
	s, err := js(t, eng).Stream(t.Context(), topicStream)
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.GetMsg(t.Context(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if m.Header.Get(events.HeaderAuthorization) != "Bearer t0k3n" {
		t.Errorf("stored headers %v", m.Header)
	}
}

// An event that waits in its stream is judged by its publisher's
// credential as it was when the event was stored: a redelivery after the
// token expired is delivered, with the publisher's account.
func TestRedeliveryAfterTheTokenExpired(t *testing.T) {
	const secret = "a development secret of at least 32 bytes"
	cfg := auth.DefaultConfig()
	cfg.DevKey.Secret = secret
	signer, err := cfg.DevSigner()
	if err != nil {
		t.Fatal(err)
	}
	token, err := signer.Sign(auth.Claims{Subject: "orders", Type: auth.Service, TTL: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	cat := catalog.New()
	tp, _ := events.NewTopicIn[placed](cat, "orders.Placed")
	var deliveries atomic.Int32
	got := make(chan string, 1)
	if _, err := events.SubscribeIn(cat, "shipping.OnPlaced", tp, func(ctx context.Context, _ placed) error {
		if deliveries.Add(1) == 1 {
			return errs.Unavailable() // again after the back-off, once the token has expired
		}
		acct, _ := auth.FromContext(ctx)
		got <- fmt.Sprint(acct.ID)
		return nil
	}, events.Backoff(4*time.Second, 4*time.Second)); err != nil {
		t.Fatal(err)
	}
	yaml := fmt.Sprintf(`
events: {backend: jetstream}
nats:
  server: {listen: "127.0.0.1:-1", store_dir: %q}
auth:
  enabled: true
  dev_key: {secret: %q}
  jwt: {clock_skew: 0s}
  identity: {account: orders, token: %q}
  rules:
    - {resource: "publish:orders.Placed", who: ["account:orders"], access: allow}
    - {resource: "subscribe:shipping.OnPlaced", who: ["account:orders"], access: allow}
`, t.TempDir(), secret, token)
	var dead atomic.Pointer[events.DeadLetter]
	a, err := fw.New(fw.Catalog(cat), fw.Logger(zap.NewNop()), fw.OnDeadLetter(func(_ context.Context, dl *events.DeadLetter) { dead.Store(dl) }),
		fw.ConfigOptions(config.FS(fstest.MapFS{"dev.yaml": {Data: []byte(yaml)}}), config.Env("dev"), config.Dir(t.TempDir())))
	if err != nil {
		t.Fatal(err)
	}
	ctx := catalog.NewContext(context.Background(), cat)
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = a.Stop(context.Background()) }()
	if err := tp.Publish(ctx, placed{OrderID: "o1"}); err != nil {
		t.Fatal(err)
	}
	select {
	case id := <-got:
		if id != "orders" {
			t.Errorf("delivered with the account %q, want orders", id)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("not delivered again (%d deliveries); dead letter %+v", deliveries.Load(), dead.Load())
	}
	// The token has expired now: a publish is refused by the deliveries.
	if err := tp.Publish(ctx, placed{OrderID: "o2"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the dead letter of an event stored after its token expired", func() bool {
		dl := dead.Load()
		return dl != nil && dl.Code == auth.ErrTokenExpired.Code() && dl.Reason == events.ReasonTerminated
	})
}
