package natsstore

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const (
	// heartbeat is how often an idle consumer of the store says it is
	// alive; a feed that hears nothing for three of them (a consumer
	// lost with its stream) fails.
	heartbeat = 2 * time.Second
	// inactive is how long the server keeps a consumer nobody listens
	// to: a feed that is stopped without deleting its consumer (the
	// connection was down) leaves it for that long.
	inactive = 30 * time.Second
)

var (
	errGap         = errors.New("the consumer skipped messages")
	errNoHeartbeat = errors.New("no heartbeat from the consumer")
	errGone        = errors.New("the consumer was deleted")
)

// delivery is what the reply subject of a consumer's message tells.
type delivery struct {
	sseq    uint64 // the message's sequence in the stream: its revision
	cseq    uint64 // its sequence among the consumer's messages
	pending uint64 // the messages the consumer has left to deliver
	ts      int64  // when it was stored, in Unix nanoseconds
}

// feedFuncs are what a feed calls, on its subscription's goroutine.
type feedFuncs struct {
	// setup is called with the feed before it can deliver anything.
	setup func(f *feed)
	// msg is called with each message, in stream order, none missed.
	msg func(f *feed, m *nats.Msg, d delivery)
	// idle is called when the consumer has delivered everything it has.
	idle func(f *feed)
}

// feed is an ephemeral push consumer of the bucket's stream and the
// subscription it delivers to, with flow control and heartbeats. It
// checks that it misses no message; when it does, or goes quiet, it
// fails, sending the reason on failed, and calls nothing more.
type feed struct {
	c       *conn
	fn      feedFuncs
	sub     *nats.Subscription
	name    string
	pending uint64      // the messages the consumer had to deliver when made
	failed  chan error  // receives the first failure
	dead    atomic.Bool // delivers no more
	stopped atomic.Bool
	hb      *time.Timer
	cseq    uint64 // the last consumer sequence handled; the subscription's goroutine only
}

// follow starts a feed of the keys under prefix: the last record of each
// key and the changes after them when start is 0, or every message from
// the stream sequence start.
func (c *conn) follow(ctx context.Context, prefix string, start uint64, headersOnly bool, fn feedFuncs) (*feed, error) {
	f := &feed{c: c, fn: fn, failed: make(chan error, 1)}
	if fn.setup != nil {
		fn.setup(f)
	}
	f.hb = time.AfterFunc(time.Hour, func() { f.fail(errNoHeartbeat) })
	inbox := c.nc.NewInbox()
	sub, err := c.nc.Subscribe(inbox, f.handle)
	if err != nil {
		f.dead.Store(true)
		f.hb.Stop()
		return nil, err
	}
	f.sub = sub
	cfg := jetstream.ConsumerConfig{
		DeliverSubject:    inbox,
		FilterSubject:     c.filter(prefix),
		AckPolicy:         jetstream.AckNonePolicy,
		FlowControl:       true,
		IdleHeartbeat:     heartbeat,
		HeadersOnly:       headersOnly,
		MemoryStorage:     true,
		Replicas:          1,
		InactiveThreshold: inactive,
	}
	if start == 0 {
		cfg.DeliverPolicy = jetstream.DeliverLastPerSubjectPolicy
	} else {
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = start
	}
	f.hb.Reset(3 * heartbeat)
	cons, err := c.js.CreatePushConsumer(ctx, c.stream, cfg)
	if err != nil {
		f.dead.Store(true)
		f.hb.Stop()
		_ = sub.Unsubscribe()
		return nil, err
	}
	info := cons.CachedInfo()
	f.name, f.pending = info.Name, info.NumPending
	return f, nil
}

// stop ends the feed: its subscription, and its consumer, which it asks
// the server to delete without waiting for the answer.
func (f *feed) stop() {
	if f.stopped.Swap(true) {
		return
	}
	f.dead.Store(true)
	f.hb.Stop()
	_ = f.sub.Unsubscribe()
	if f.name != "" && f.c.nc.IsConnected() {
		_ = f.c.nc.Publish(f.c.delCons+f.name, nil)
	}
}

// fail ends the feed's deliveries with err, which its owner receives on
// failed.
func (f *feed) fail(err error) {
	if f.dead.Swap(true) {
		return
	}
	f.hb.Stop()
	f.failed <- err
}

// handle is the subscription's handler.
func (f *feed) handle(m *nats.Msg) {
	if f.dead.Load() {
		return
	}
	f.hb.Reset(3 * heartbeat)
	if len(m.Data) == 0 && !strings.HasPrefix(m.Reply, "$JS.ACK.") {
		if status := m.Header.Get(hdrStatus); status != "" {
			f.status(m, status)
			return
		}
	}
	d, ok := parseDelivery(m.Reply)
	if !ok {
		return
	}
	if d.cseq != f.cseq+1 {
		f.fail(errGap)
		return
	}
	f.cseq = d.cseq
	f.fn.msg(f, m, d)
}

// status handles a status message of the consumer: heartbeats, flow
// control, and the end of the consumer.
func (f *feed) status(m *nats.Msg, status string) {
	switch status {
	case "100":
		if m.Reply != "" { // flow control
			_ = m.Respond(nil)
			return
		}
		if stalled := m.Header.Get("Nats-Consumer-Stalled"); stalled != "" {
			_ = f.c.nc.Publish(stalled, nil)
			return
		}
		// An idle heartbeat: the consumer has delivered everything, up
		// to the consumer sequence it names.
		if last, err := strconv.ParseUint(m.Header.Get("Nats-Last-Consumer"), 10, 64); err == nil && last > f.cseq {
			f.fail(errGap)
			return
		}
		if f.fn.idle != nil {
			f.fn.idle(f)
		}
	case "409":
		f.fail(errGone)
	}
}

// parseDelivery parses the reply subject of a consumer's message:
// $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<time>.<pending>,
// or the same with a domain and an account hash after ACK and a token at
// the end.
func parseDelivery(reply string) (delivery, bool) {
	var tok [12]string
	n := 0
	for n < len(tok) {
		i := strings.IndexByte(reply, '.')
		if i < 0 {
			tok[n] = reply
			n++
			break
		}
		tok[n] = reply[:i]
		reply = reply[i+1:]
		n++
	}
	var t []string
	switch {
	case n == 9:
		t = tok[4:9] // delivered, sseq, cseq, time, pending
	case n >= 11:
		t = tok[6:11]
	default:
		return delivery{}, false
	}
	if tok[0] != "$JS" || tok[1] != "ACK" {
		return delivery{}, false
	}
	sseq, err1 := strconv.ParseUint(t[1], 10, 64)
	cseq, err2 := strconv.ParseUint(t[2], 10, 64)
	ts, err3 := strconv.ParseInt(t[3], 10, 64)
	pending, err4 := strconv.ParseUint(t[4], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
		return delivery{}, false
	}
	return delivery{sseq: sseq, cseq: cseq, pending: pending, ts: ts}, true
}
