package jsevents_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/wegomesh/wego/engine"
	"github.com/wegomesh/wego/engine/enginetest"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/events"
	"github.com/wegomesh/wego/events/jsevents"
	"github.com/wegomesh/wego/log"
)

// An event is stored in the stream of its topic, made from the
// configuration, with the headers that carry information — its
// correlation id and message id when it has them, never a content type —
// and the subscriber's durable consumer delivers it with the publisher's
// request id (or a new one), and acknowledges it.
func TestPublishAndDeliver(t *testing.T) {
	eng := embedded(t)
	sub := newService(t, eng, serviceOpts{name: "shipping.OnPlaced"})
	pub := newService(t, client(t, eng.ClientURL()), serviceOpts{})

	id := log.NewRequestID()
	if err := pub.topic.Publish(log.ContextWithRequestID(pub.ctx, id), placed{OrderID: "o1", Qty: 2}, events.MessageID("o1-placed")); err != nil {
		t.Fatal(err)
	}
	if d := receive(t, sub.got); d.p != (placed{OrderID: "o1", Qty: 2}) || d.rid != id.String() {
		t.Errorf("delivered %+v", d)
	}

	j := js(t, eng)
	s, err := j.Stream(t.Context(), topicStream)
	if err != nil {
		t.Fatal(err)
	}
	sc := s.CachedInfo().Config
	if fmt.Sprint(sc.Subjects) != "[orders.Placed]" || sc.Storage != jetstream.FileStorage || sc.Retention != jetstream.LimitsPolicy ||
		sc.Replicas != 1 || sc.MaxAge != 7*24*time.Hour || sc.Duplicates != 2*time.Minute {
		t.Errorf("stream config %+v", sc)
	}
	m, err := s.GetMsg(t.Context(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Header) != 2 || m.Header.Get("X-Correlation-Id") != id.String() ||
		m.Header.Get("Nats-Msg-Id") != "o1-placed" || string(m.Data) != `{"order_id":"o1","qty":2}` {
		t.Errorf("stored %v %s", m.Header, m.Data)
	}
	if err := pub.topic.Publish(pub.ctx, placed{OrderID: "o2", Qty: 1}); err != nil {
		t.Fatal(err)
	}
	if d := receive(t, sub.got); d.p.OrderID != "o2" || d.rid == "" || d.rid == id.String() {
		t.Errorf("delivered without a correlation id: %+v", d)
	}
	if m, err := s.GetMsg(t.Context(), 2); err != nil || len(m.Header) != 0 {
		t.Errorf("stored without a request id or a message id: %v (%v)", m, err)
	}
	c, err := s.Consumer(t.Context(), "shipping_OnPlaced")
	if err != nil {
		t.Fatal(err)
	}
	cc := c.CachedInfo().Config
	if cc.FilterSubject != "orders.Placed" || cc.AckPolicy != jetstream.AckExplicitPolicy || cc.AckWait != 2*time.Second ||
		cc.MaxDeliver != -1 || cc.MaxAckPending != 1000 || cc.DeliverPolicy != jetstream.DeliverNewPolicy {
		t.Errorf("consumer config %+v", cc)
	}
	waitFor(t, "the acknowledgement", func() bool {
		info, err := c.Info(t.Context())
		return err == nil && info.NumAckPending == 0 && info.AckFloor.Stream == 2
	})
	if d, err := j.Stream(t.Context(), "WEGO_DLQ"); err != nil || fmt.Sprint(d.CachedInfo().Config.Subjects) != "[$WEGO.DLQ.>]" {
		t.Errorf("dead-letter stream: %v", err)
	}
}

func waitFor(t testing.TB, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s in 30s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A publish retried with the same message id within the duplicate window
// is stored once, and its acknowledgement says Duplicate.
func TestPublishDeduplicates(t *testing.T) {
	eng := embedded(t)
	s := newService(t, eng, serviceOpts{name: "shipping.OnPlaced"})
	msg := events.Message{Topic: "orders.Placed", ID: "order-7-placed", ContentType: events.ContentTypeJSON, Data: []byte(`{"order_id":"7"}`)}
	first, err := s.backend.PublishAck(t.Context(), msg)
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.backend.PublishAck(t.Context(), msg)
	if err != nil {
		t.Fatal(err)
	}
	if first.Duplicate || !again.Duplicate || again.Sequence != first.Sequence || first.Stream != topicStream {
		t.Errorf("acks %+v then %+v", first, again)
	}
	for range 3 {
		if err := s.topic.Publish(s.ctx, placed{OrderID: "7"}, events.MessageID("order-7-placed")); err != nil {
			t.Fatal(err)
		}
	}
	if d := receive(t, s.got); d.p.OrderID != "7" {
		t.Errorf("delivered %+v", d)
	}
	none(t, s.got, 300*time.Millisecond)
	info, err := js(t, eng).Stream(t.Context(), topicStream)
	if err != nil || info.CachedInfo().State.Msgs != 1 {
		t.Errorf("stream holds %d messages (%v), want 1", info.CachedInfo().State.Msgs, err)
	}
	// Without an id, each publish is stored.
	msg.ID = ""
	a, _ := s.backend.PublishAck(t.Context(), msg)
	b, _ := s.backend.PublishAck(t.Context(), msg)
	if a == nil || b == nil || a.Duplicate || b.Duplicate || b.Sequence != a.Sequence+1 {
		t.Errorf("acks without id: %+v %+v", a, b)
	}
}

// acks records the outcomes the consumers send for a stream, as the
// server receives them (not the progress reports of events that wait for
// a worker).
func acks(t *testing.T, eng *engine.Engine, stream string) <-chan string {
	t.Helper()
	ch := make(chan string, 1000)
	sub, err := eng.Conn().Subscribe("$JS.ACK."+stream+".>", func(m *nats.Msg) {
		if string(m.Data) != "+WPI" { // the progress of an event that waits for a worker: no outcome
			ch <- string(m.Data)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	if err := eng.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
	return ch
}

// A retryable failure is negatively acknowledged with the back-off as its
// delay — the first wait, doubled each time, moved by at most 20 % —
// never redelivered at once; after the last delivery the event is
// dead-lettered and terminated.
func TestNegativeAcknowledgementsWaitTheBackoff(t *testing.T) {
	eng := embedded(t)
	ackCh := acks(t, eng, topicStream)
	var calls atomic.Int64
	var times []time.Time
	s := newService(t, eng, serviceOpts{name: "shipping.OnPlaced", fn: func(context.Context, placed) error {
		calls.Add(1)
		times = append(times, time.Now())
		return errs.Unavailable()
	}, opts: []events.SubscriberOption{events.MaxDeliveries(4), events.Backoff(100*time.Millisecond, 300*time.Millisecond), events.Concurrency(1)}})
	if err := s.topic.Publish(s.ctx, placed{OrderID: "down"}); err != nil {
		t.Fatal(err)
	}
	dl := receive(t, s.dead)
	if dl.Reason != events.ReasonMaxDeliveries || dl.Deliveries != 4 || dl.Code != "unavailable" || dl.Sequence != 1 {
		t.Errorf("dead letter %+v", dl)
	}
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond}
	for i, w := range want {
		a := receive(t, ackCh)
		var nak struct {
			Delay time.Duration `json:"delay"`
		}
		if !strings.HasPrefix(a, "-NAK ") || json.Unmarshal([]byte(strings.TrimPrefix(a, "-NAK ")), &nak) != nil {
			t.Fatalf("outcome %d: %q, want a delayed -NAK", i+1, a)
		}
		if lo, hi := w*8/10, w*12/10; nak.Delay < lo || nak.Delay > hi {
			t.Errorf("NAK %d delays %v, want %v ±20%% [%v, %v]", i+1, nak.Delay, w, lo, hi)
		}
		if gap := times[i+1].Sub(times[i]); gap < w*8/10 {
			t.Errorf("delivery %d came %v after the previous, before its back-off of %v -20%%", i+2, gap, w)
		}
	}
	if a := receive(t, ackCh); !strings.HasPrefix(a, "+TERM") {
		t.Errorf("the last outcome is %q, want +TERM", a)
	}
	if calls.Load() != 4 {
		t.Errorf("%d deliveries, want 4", calls.Load())
	}
}

// A permanent error — the subscriber's invalid_argument, a payload that
// does not decode, a content type other than JSON — terminates the event
// at once, dead-lettered after one delivery, and the events behind it are
// delivered.
func TestPermanentErrorsTerminate(t *testing.T) {
	eng := embedded(t)
	ackCh := acks(t, eng, topicStream)
	s := newService(t, eng, serviceOpts{name: "shipping.OnPlaced", fn: func(_ context.Context, p placed) error {
		if p.Qty < 0 {
			return errs.InvalidArgument(errs.Field("qty", "must not be negative")).WithParams(errs.InternalParam("secret", "s3cr3t"))
		}
		return nil
	}, opts: []events.SubscriberOption{events.Concurrency(1)}})
	if err := s.topic.Publish(s.ctx, placed{OrderID: "bad", Qty: -1}); err != nil {
		t.Fatal(err)
	}
	if _, err := js(t, eng).Publish(t.Context(), "orders.Placed", []byte(`{"order_id":`)); err != nil {
		t.Fatal(err)
	}
	m := nats.NewMsg("orders.Placed")
	m.Header.Set("Content-Type", "text/plain")
	m.Data = []byte("hello")
	if _, err := js(t, eng).PublishMsg(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	if err := s.topic.Publish(s.ctx, placed{OrderID: "good", Qty: 1}); err != nil {
		t.Fatal(err)
	}
	for i, code := range []string{"invalid_argument", "events.undecodable", "events.unsupported_content_type"} {
		dl := receive(t, s.dead)
		if dl.Reason != events.ReasonTerminated || dl.Deliveries != 1 || dl.Code != code || dl.Sequence != uint64(i+1) {
			t.Errorf("dead letter %d: %+v", i+1, dl)
		}
		if a := receive(t, ackCh); !strings.HasPrefix(a, "+TERM") {
			t.Errorf("outcome %d: %q, want +TERM", i+1, a)
		}
	}
	if d := receive(t, s.got); d.p.OrderID != "good" {
		t.Errorf("delivered %+v", d)
	}
}

// A dead letter is stored in the dead-letter stream on the subject of its
// group, once, as the JSON of events.DeadLetter with the payload as
// received and the error's code and client-safe message only; the bus's
// hook receives it too.
func TestDeadLetterRecord(t *testing.T) {
	eng := embedded(t)
	s := newService(t, eng, serviceOpts{name: "shipping.OnPlaced", fn: func(context.Context, placed) error {
		return errs.InvalidArgument(errs.Field("qty", "must not be negative")).WithParams(errs.InternalParam("secret", "s3cr3t")).
			WithCause(errors.New("internal detail"))
	}})
	id := log.NewRequestID()
	if err := s.topic.Publish(log.ContextWithRequestID(s.ctx, id), placed{OrderID: "o9", Qty: -1}, events.MessageID("o9")); err != nil {
		t.Fatal(err)
	}
	hooked := receive(t, s.dead)
	if !strings.Contains(hooked.Error, "s3cr3t") {
		t.Errorf("the hook's record has the error for logs: %q", hooked.Error)
	}
	dlq, err := js(t, eng).Stream(t.Context(), "WEGO_DLQ")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := dlq.GetLastMsgForSubject(t.Context(), "$WEGO.DLQ.shipping.OnPlaced")
	if err != nil {
		t.Fatal(err)
	}
	var dl events.DeadLetter
	if err := json.Unmarshal(raw.Data, &dl); err != nil {
		t.Fatal(err)
	}
	if dl.Topic != "orders.Placed" || dl.Subscriber != "shipping.OnPlaced" || dl.Group != "shipping.OnPlaced" ||
		dl.Reason != events.ReasonTerminated || dl.Code != "invalid_argument" || dl.Deliveries != 1 || dl.Sequence != 1 ||
		dl.MessageID != "o9" || dl.CorrelationID != id.String() || dl.ContentType != "" ||
		string(dl.Data) != `{"order_id":"o9","qty":-1}` {
		t.Errorf("record %+v", dl)
	}
	if strings.Contains(dl.Error, "s3cr3t") || strings.Contains(dl.Error, "internal detail") || dl.Error == "" {
		t.Errorf("the stored error %q has internal detail, or nothing", dl.Error)
	}
	if raw.Header.Get("Nats-Msg-Id") != "dlq:"+topicStream+":shipping_OnPlaced:1" || raw.Header.Get("X-Correlation-Id") != id.String() ||
		raw.Header.Get("Content-Type") != "application/json" {
		t.Errorf("record headers %v", raw.Header)
	}
	none(t, s.dead, 200*time.Millisecond)
}

// A process that stored a dead letter and died before it terminated the
// event leaves it to the next delivery, over the maximum: the event is
// dead-lettered without running the subscriber, and the record, already
// stored, is neither stored nor handed to the hook again.
func TestDeadLetteredOnceAcrossACrash(t *testing.T) {
	eng := embedded(t)
	ackCh := acks(t, eng, topicStream)
	cfg := testConfig()
	cfg.AckWait = 300 * time.Millisecond
	var ran atomic.Int64
	fail := func(context.Context, placed) error { ran.Add(1); return errs.Unavailable() }
	opts := []events.SubscriberOption{events.MaxDeliveries(1)}
	victimEng := client(t, eng.ClientURL())
	crashed := make(chan *events.DeadLetter, 1)
	// The victim's hook, which runs once the record is stored, cuts its
	// connection: the termination is never sent.
	victim := newService(t, victimEng, serviceOpts{cfg: &cfg, name: "shipping.OnPlaced", fn: fail, opts: opts,
		onDead: func(dl *events.DeadLetter) { victimEng.Conn().Close(); crashed <- dl }})
	if err := victim.topic.Publish(victim.ctx, placed{OrderID: "poison"}); err != nil {
		t.Fatal(err)
	}
	if dl := receive(t, crashed); dl.Deliveries != 1 || dl.Reason != events.ReasonMaxDeliveries {
		t.Errorf("the victim's dead letter %+v", dl)
	}
	rescuer := newService(t, eng, serviceOpts{cfg: &cfg, name: "shipping.OnPlaced", fn: fail, opts: opts})
	for a := range ackCh {
		if strings.HasPrefix(a, "+TERM") {
			break
		}
	}
	none(t, rescuer.dead, 200*time.Millisecond)
	if ran.Load() != 1 {
		t.Errorf("the subscriber ran %d times, want once", ran.Load())
	}
	dlq, err := js(t, eng).Stream(t.Context(), "WEGO_DLQ")
	if err != nil || dlq.CachedInfo().State.Msgs != 1 {
		t.Errorf("the dead-letter stream holds %d records (%v), want 1", dlq.CachedInfo().State.Msgs, err)
	}
	c, err := js(t, eng).Consumer(t.Context(), topicStream, "shipping_OnPlaced")
	if err != nil {
		t.Fatal(err)
	}
	if info, err := c.Info(t.Context()); err != nil || info.NumAckPending != 0 || info.NumRedelivered != 0 && info.NumPending != 0 {
		t.Errorf("consumer after the rescue: %+v %v", info, err)
	}
}

// A new group starts where its start option says: every event the stream
// has, from a sequence, from a time, or (the default) from the next one;
// a group that exists resumes where it stopped.
func TestReplay(t *testing.T) {
	eng := embedded(t)
	pub := newService(t, eng, serviceOpts{})
	for i := 1; i <= 5; i++ {
		if i == 4 {
			time.Sleep(50 * time.Millisecond)
		}
		if err := pub.topic.Publish(pub.ctx, placed{OrderID: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	s, err := js(t, eng).Stream(t.Context(), topicStream)
	if err != nil {
		t.Fatal(err)
	}
	m4, err := s.GetMsg(t.Context(), 4)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		opt  events.SubscriberOption
		want string
	}{
		{"all", events.ReplayAll(), "1 2 3 4 5 6"},
		{"from3", events.ReplayFrom(3), "3 4 5 6"},
		{"since", events.ReplaySince(m4.Time), "4 5 6"},
		{"new", nil, "new"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var opts []events.SubscriberOption
			if c.opt != nil {
				opts = append(opts, c.opt)
			}
			sub := newService(t, eng, serviceOpts{name: "replay." + c.name, opts: append(opts, events.Concurrency(1))})
			// The first subtest stores it; the others' publishes are
			// duplicates.
			if err := pub.topic.Publish(pub.ctx, placed{OrderID: "6"}, events.MessageID("six")); err != nil {
				t.Fatal(err)
			}
			if c.name == "new" {
				if err := pub.topic.Publish(pub.ctx, placed{OrderID: "new"}); err != nil {
					t.Fatal(err)
				}
			}
			var got []string
			for len(got) < len(strings.Fields(c.want)) {
				got = append(got, receive(t, sub.got).p.OrderID)
			}
			if strings.Join(got, " ") != c.want {
				t.Errorf("received %v, want %s", got, c.want)
			}
			none(t, sub.got, 100*time.Millisecond)
		})
	}
	// A group that exists resumes where it stopped (after 6, before
	// "new", published while it was away): ReplayAll does not apply
	// again.
	sub := newService(t, eng, serviceOpts{name: "replay.all", opts: []events.SubscriberOption{events.ReplayAll(), events.Concurrency(1)}})
	if err := pub.topic.Publish(pub.ctx, placed{OrderID: "7"}); err != nil {
		t.Fatal(err)
	}
	if a, b := receive(t, sub.got), receive(t, sub.got); a.p.OrderID != "new" || b.p.OrderID != "7" {
		t.Errorf("the resumed group received %+v then %+v", a, b)
	}
}

// Replicas of a group share its durable consumer: each event reaches one
// of them; another group receives every event.
func TestReplicasShareAConsumer(t *testing.T) {
	eng := embedded(t)
	var a, b atomic.Int64
	count := func(n *atomic.Int64) func(context.Context, placed) error {
		return func(context.Context, placed) error { n.Add(1); return nil }
	}
	r1 := newService(t, eng, serviceOpts{name: "shipping.OnPlaced", fn: count(&a)})
	newService(t, client(t, eng.ClientURL()), serviceOpts{name: "shipping.OnPlaced", fn: count(&b)})
	audit := newService(t, client(t, eng.ClientURL()), serviceOpts{name: "audit.OnPlaced"})
	const n = 200
	for i := range n {
		if err := r1.topic.Publish(r1.ctx, placed{OrderID: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	for range n {
		receive(t, audit.got)
	}
	waitFor(t, "every delivery", func() bool { return a.Load()+b.Load() >= n })
	time.Sleep(50 * time.Millisecond) // none more
	if a.Load()+b.Load() != n || a.Load() == 0 || b.Load() == 0 {
		t.Errorf("replicas received %d and %d of %d", a.Load(), b.Load(), n)
	}
}

// Asynchronous publishing returns before the acknowledgement; Flush and
// Close wait for the acknowledgements, and every event is stored, with
// its own headers and nothing of another's.
func TestAsyncPublish(t *testing.T) {
	eng := embedded(t)
	cfg := testConfig()
	cfg.Async = true
	cfg.AsyncMaxPending = 64
	s := newService(t, eng, serviceOpts{cfg: &cfg, name: "shipping.OnPlaced"})
	const n = 500
	ids := make([]string, n) // the request ids of the even events
	for i := range n {
		ctx, opts := s.ctx, []events.PublishOption(nil)
		if i%2 == 0 {
			id := log.NewRequestID()
			ids[i], ctx = id.String(), log.ContextWithRequestID(s.ctx, id)
		}
		if i%3 == 0 {
			opts = append(opts, events.MessageID(fmt.Sprint("m", i)))
		}
		if err := s.topic.Publish(ctx, placed{OrderID: fmt.Sprint(i)}, opts...); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.backend.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	st, err := js(t, eng).Stream(t.Context(), topicStream)
	if err != nil || st.CachedInfo().State.Msgs != n {
		t.Fatalf("stored %d of %d (%v)", st.CachedInfo().State.Msgs, n, err)
	}
	for seq := uint64(1); seq <= n; seq++ {
		m, err := st.GetMsg(t.Context(), seq)
		if err != nil {
			t.Fatal(err)
		}
		var p placed
		if err := json.Unmarshal(m.Data, &p); err != nil {
			t.Fatalf("stored %q: %v", m.Data, err)
		}
		i, _ := strconv.Atoi(p.OrderID)
		want := map[string]string{}
		if ids[i] != "" {
			want["X-Correlation-Id"] = ids[i]
		}
		if i%3 == 0 {
			want["Nats-Msg-Id"] = fmt.Sprint("m", i)
		}
		if len(m.Header) != len(want) {
			t.Errorf("event %d stored with headers %v, want %v", i, m.Header, want)
			continue
		}
		for k, v := range want {
			if m.Header.Get(k) != v {
				t.Errorf("event %d stored with headers %v, want %v", i, m.Header, want)
			}
		}
	}
	seen := map[string]bool{}
	for len(seen) < n {
		select {
		case d := <-s.got:
			seen[d.p.OrderID] = true
		case <-time.After(30 * time.Second):
			c, _ := js(t, eng).Consumer(t.Context(), topicStream, "shipping_OnPlaced")
			info, err := c.Info(t.Context())
			t.Fatalf("%d of %d delivered; consumer %+v %v", len(seen), n, info, err)
		}
	}
}

// The backend says what is missing: a started engine, JetStream.
func TestNotReady(t *testing.T) {
	eng, err := engine.New(engine.DefaultConfig(), zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	b := jsevents.New(eng, testConfig(), zap.NewNop())
	err = b.Publish(context.Background(), events.Message{Topic: "orders.Placed"})
	if errs.KindOf(err) != errs.KindUnavailable || !strings.Contains(err.Error(), "not started") {
		t.Errorf("publish before the engine: %v", err)
	}
	noJS := enginetest.Start(t, enginetest.NoJetStream())
	b = jsevents.New(noJS, testConfig(), zap.NewNop())
	if err := b.Start(t.Context()); err == nil || !strings.Contains(err.Error(), "JetStream is off") {
		t.Errorf("start without JetStream: %v", err)
	}
	if err := b.Close(t.Context()); err != nil {
		t.Error(err)
	}
	if err := b.Publish(context.Background(), events.Message{Topic: "orders.Placed"}); !errors.Is(err, events.ErrClosed) {
		t.Errorf("publish after close: %v", err)
	}
}

// Stop delivers the events pulled, and leaves the engine's connection
// open; what was not delivered stays in the consumer for the next start.
func TestStopDrains(t *testing.T) {
	eng := embedded(t)
	release := make(chan struct{})
	s := newService(t, eng, serviceOpts{name: "shipping.OnPlaced", fn: func(context.Context, placed) error {
		<-release
		return nil
	}, opts: []events.SubscriberOption{events.Concurrency(2)}})
	for i := range 10 {
		if err := s.topic.Publish(s.ctx, placed{OrderID: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(100 * time.Millisecond) // pulled
	time.AfterFunc(50*time.Millisecond, func() { close(release) })
	s.stop(t)
	if !eng.Ready() {
		t.Error("closing the backend closed the engine's connection")
	}
	n := len(s.got)
	again := newService(t, eng, serviceOpts{name: "shipping.OnPlaced"})
	for range 10 - n {
		receive(t, again.got)
	}
}

// TestWaitingForAWorkerIsNoFailedDelivery: events pulled ahead of one
// busy worker wait for it longer than ack_wait in all, yet each is
// delivered once, as its first delivery, and none is dead-lettered,
// though the subscriber allows a single delivery.
func TestWaitingForAWorkerIsNoFailedDelivery(t *testing.T) {
	eng := embedded(t)
	cfg := testConfig()
	cfg.AckWait = time.Second
	var mu sync.Mutex
	runs := map[string]int{}
	s := newService(t, eng, serviceOpts{cfg: &cfg, name: "shipping.OnPlaced",
		opts: []events.SubscriberOption{events.Concurrency(1), events.MaxDeliveries(1)},
		fn: func(ctx context.Context, p placed) error {
			mu.Lock()
			runs[p.OrderID]++
			mu.Unlock()
			time.Sleep(300 * time.Millisecond)
			return nil
		}})
	const n = 8 // 2.4 s of deliveries, one at a time
	for i := range n {
		if err := s.topic.Publish(s.ctx, placed{OrderID: fmt.Sprint("o", i), Qty: 1}); err != nil {
			t.Fatal(err)
		}
	}
	for range n {
		receive(t, s.got)
	}
	none(t, s.dead, 1500*time.Millisecond)
	none(t, s.got, 0)
	mu.Lock()
	defer mu.Unlock()
	for id, c := range runs {
		if c != 1 {
			t.Errorf("event %s delivered %d times", id, c)
		}
	}
	if len(runs) != n {
		t.Errorf("%d events delivered, want %d", len(runs), n)
	}
}

// TestStuckReplicaGivesEventsBack: a replica whose only worker is stuck
// does not keep the events it pulled by reporting them in progress: the
// one its worker holds, the one that waits for the worker and the ones
// pulled ahead all reach the other replica, within about twice ack_wait.
func TestStuckReplicaGivesEventsBack(t *testing.T) {
	eng := embedded(t)
	cfg := testConfig()
	cfg.AckWait = time.Second
	stuck := make(chan struct{})
	var once sync.Once
	unstick := func() { once.Do(func() { close(stuck) }) }
	defer unstick()
	a := newService(t, eng, serviceOpts{cfg: &cfg, name: "shipping.OnPlaced", opts: []events.SubscriberOption{events.Concurrency(1)},
		fn: func(ctx context.Context, p placed) error {
			<-stuck
			return errors.New("stuck")
		}})
	t.Cleanup(unstick) // before a stops
	const n = 4
	for i := range n { // a pulls them all: the other replica is not there yet
		if err := a.topic.Publish(a.ctx, placed{OrderID: fmt.Sprint("o", i)}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(200 * time.Millisecond)
	b := newService(t, client(t, eng.ClientURL()), serviceOpts{cfg: &cfg, name: "shipping.OnPlaced"})
	start := time.Now()
	got := map[string]bool{}
	for len(got) < n {
		got[receive(t, b.got).p.OrderID] = true
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the other replica had every event after %v, want about 2 s (twice ack_wait)", d)
	}
}
