package jsevents_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/wegomesh/wego/events"
	"github.com/wegomesh/wego/events/jsevents"
)

var msg = events.Message{Topic: "orders.Placed", ContentType: events.ContentTypeJSON, Data: []byte(`{}`)}

func newBackend(t *testing.T, eng jsevents.Engine, cfg events.JetStreamConfig) *jsevents.Backend {
	t.Helper()
	b := jsevents.New(eng, cfg, zap.NewNop())
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	return b
}

func subscription(group string) events.Subscription {
	return events.Subscription{Name: group, Topic: "orders.Placed", Group: group, Concurrency: 1,
		Retry: events.RetryPolicy{MaxDeliveries: 3, MinBackoff: time.Second, MaxBackoff: time.Minute}}
}

func nop(context.Context, *events.Delivery) error { return nil }

// A stream of the topic's name is brought to the configuration where a
// stream may change (max age, max bytes, duplicate window, replicas); a
// storage or a retention that differs, or subjects without the topic,
// fail with a ConflictError naming the stream and the setting.
func TestExistingStreams(t *testing.T) {
	eng := embedded(t)
	j := js(t, eng)
	if _, err := j.CreateStream(t.Context(), jetstream.StreamConfig{Name: topicStream, Subjects: []string{"orders.Placed"},
		MaxAge: time.Hour, Duplicates: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if _, err := newBackend(t, eng, testConfig()).PublishAck(t.Context(), msg); err != nil {
		t.Fatal(err)
	}
	s, err := j.Stream(t.Context(), topicStream)
	if err != nil {
		t.Fatal(err)
	}
	if c := s.CachedInfo().Config; c.MaxAge != 7*24*time.Hour || c.Duplicates != 2*time.Minute || c.Metadata["wego.topic"] != "orders.Placed" {
		t.Errorf("not updated: %+v", c)
	}

	for _, c := range []struct {
		name    string
		cfg     jetstream.StreamConfig
		setting string
	}{
		{"storage", jetstream.StreamConfig{Name: topicStream, Subjects: []string{"orders.Placed"}, Storage: jetstream.MemoryStorage}, "storage"},
		{"retention", jetstream.StreamConfig{Name: topicStream, Subjects: []string{"orders.Placed"}, Retention: jetstream.WorkQueuePolicy}, "retention"},
		{"subjects", jetstream.StreamConfig{Name: topicStream, Subjects: []string{"orders.Other"}}, "subjects"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := j.DeleteStream(t.Context(), topicStream); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
				t.Fatal(err)
			}
			if _, err := j.CreateStream(t.Context(), c.cfg); err != nil {
				t.Fatal(err)
			}
			_, err := newBackend(t, eng, testConfig()).PublishAck(t.Context(), msg)
			ce, ok := errors.AsType[*jsevents.ConflictError](err)
			if !ok || ce.Stream != topicStream || ce.Setting != c.setting || !strings.Contains(err.Error(), "stream "+topicStream) {
				t.Fatalf("got %v", err)
			}
		})
	}
}

// A stream made elsewhere whose subjects take the topic's is used as it
// is; the backend makes no stream of its own for the topic.
func TestStreamMadeElsewhere(t *testing.T) {
	eng := embedded(t)
	j := js(t, eng)
	if _, err := j.CreateStream(t.Context(), jetstream.StreamConfig{Name: "ORDERS", Subjects: []string{"orders.Placed", "orders.Shipped"},
		Storage: jetstream.MemoryStorage}); err != nil {
		t.Fatal(err)
	}
	b := newBackend(t, eng, testConfig())
	ack, err := b.PublishAck(t.Context(), msg)
	if err != nil || ack.Stream != "ORDERS" {
		t.Fatalf("ack %+v, %v", ack, err)
	}
	if err := b.Subscribe(t.Context(), subscription("shipping.OnPlaced"), nop); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Consumer(t.Context(), "ORDERS", "shipping_OnPlaced"); err != nil {
		t.Error(err)
	}
	if _, err := j.Stream(t.Context(), topicStream); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Errorf("the backend's own stream: %v", err)
	}
}

// A group's consumer is brought to the configuration where a consumer may
// change (ack wait, deliveries, pending, back-off), keeping where it
// started; a consumer that reads another subject, acknowledges otherwise
// or is a push consumer fails with a ConflictError naming it.
func TestExistingConsumers(t *testing.T) {
	eng := embedded(t)
	j := js(t, eng)
	b := newBackend(t, eng, testConfig())
	if _, err := b.PublishAck(t.Context(), msg); err != nil {
		t.Fatal(err)
	}
	if _, err := j.CreateConsumer(t.Context(), topicStream, jetstream.ConsumerConfig{Durable: "shipping_OnPlaced", FilterSubject: "orders.Placed",
		AckPolicy: jetstream.AckExplicitPolicy, AckWait: 5 * time.Second, MaxDeliver: 3, MaxAckPending: 10, DeliverPolicy: jetstream.DeliverAllPolicy}); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.AckBackoff = []time.Duration{time.Second, 3 * time.Second}
	b = newBackend(t, eng, cfg)
	if err := b.Subscribe(t.Context(), subscription("shipping.OnPlaced"), nop); err != nil {
		t.Fatal(err)
	}
	c, err := j.Consumer(t.Context(), topicStream, "shipping_OnPlaced")
	if err != nil {
		t.Fatal(err)
	}
	if cc := c.CachedInfo().Config; cc.AckWait != time.Second || cc.MaxDeliver != -1 || cc.MaxAckPending != 1000 || len(cc.BackOff) != 2 ||
		cc.DeliverPolicy != jetstream.DeliverAllPolicy || cc.Metadata["wego.group"] != "shipping.OnPlaced" {
		t.Errorf("not updated: %+v", cc)
	}

	for _, c := range []struct {
		name    string
		cfg     jetstream.ConsumerConfig
		setting string
	}{
		{"filter", jetstream.ConsumerConfig{FilterSubject: "orders.Other", AckPolicy: jetstream.AckExplicitPolicy}, "filter subjects"},
		{"ack", jetstream.ConsumerConfig{FilterSubject: "orders.Placed", AckPolicy: jetstream.AckNonePolicy}, "ack policy"},
		{"push", jetstream.ConsumerConfig{FilterSubject: "orders.Placed", AckPolicy: jetstream.AckExplicitPolicy, DeliverSubject: "somewhere"}, "deliver subject"},
		{"group", jetstream.ConsumerConfig{FilterSubject: "orders.Placed", AckPolicy: jetstream.AckExplicitPolicy,
			Metadata: map[string]string{"wego.group": "billing_x.y"}}, "group"},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.cfg.Durable = "billing_x_y"
			if _, err := js(t, eng).CreateConsumer(t.Context(), topicStream, c.cfg); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = js(t, eng).DeleteConsumer(context.Background(), topicStream, "billing_x_y") }()
			err := newBackend(t, eng, testConfig()).Subscribe(t.Context(), subscription("billing.x.y"), nop)
			ce, ok := errors.AsType[*jsevents.ConflictError](err)
			if !ok || ce.Consumer != "billing_x_y" || ce.Stream != topicStream || ce.Setting != c.setting {
				t.Fatalf("got %v", err)
			}
		})
	}
}

// A consumer deleted while its group runs is made again, and the
// subscription pulls from it.
func TestConsumerMadeAgain(t *testing.T) {
	eng := embedded(t)
	s := newService(t, eng, serviceOpts{name: "shipping.OnPlaced"})
	if err := s.topic.Publish(s.ctx, placed{OrderID: "1"}); err != nil {
		t.Fatal(err)
	}
	receive(t, s.got)
	if err := js(t, eng).DeleteConsumer(t.Context(), topicStream, "shipping_OnPlaced"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	deadline := time.Now().Add(10 * time.Second)
	for i := 2; ; i++ {
		if err := s.topic.Publish(s.ctx, placed{OrderID: "2"}); err != nil {
			t.Fatal(err)
		}
		select {
		case d := <-s.got:
			if d.p.OrderID != "2" {
				t.Fatalf("received %+v", d)
			}
			return
		case <-time.After(500 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("the subscription did not resume")
		}
	}
}

// The stream's refusal of a publish reaches the publisher as nats.go
// reports it, a *jetstream.APIError that names the reason, under an
// unavailable error naming the topic.
func TestStreamRefusal(t *testing.T) {
	eng := embedded(t)
	if _, err := js(t, eng).CreateStream(t.Context(), jetstream.StreamConfig{Name: "ORDERS", Subjects: []string{"orders.Placed"},
		Storage: jetstream.MemoryStorage, MaxMsgSize: 8}); err != nil {
		t.Fatal(err)
	}
	b := newBackend(t, eng, testConfig())
	big := msg
	big.Data = []byte(`{"order_id":"o-1234567"}`)
	_, err := b.PublishAck(t.Context(), big)
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode != jetstream.JSErrCodeStreamMessageExceedsMaximum ||
		!errors.Is(err, jetstream.ErrStreamMessageExceedsMaximum) || !strings.Contains(err.Error(), "orders.Placed") {
		t.Errorf("a message over the stream's limit: %v", err)
	}
	if err := b.Publish(t.Context(), big); !errors.Is(err, jetstream.ErrStreamMessageExceedsMaximum) {
		t.Errorf("Publish: %v", err)
	}
}
