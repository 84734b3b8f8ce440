package natstransport_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/transport"
	natstransport "github.com/wegomesh/wego/transport/nats"
)

// counting is a catalog whose inventory.Reserve counts its calls.
func counting(t *testing.T, calls *atomic.Int64) *catalog.Catalog {
	t.Helper()
	cat := catalog.New()
	if _, err := catalog.RegisterIn(cat, "inventory.Reserve", func(_ context.Context, r ReserveRequest) (ReserveResponse, error) {
		calls.Add(1)
		return ReserveResponse{SKU: r.SKU}, nil
	}); err != nil {
		t.Fatal(err)
	}
	return cat
}

// A request whose absolute deadline (X-Wego-Deadline) passed more than
// clock_skew ago — held in transit, or by a replica that froze — is
// answered deadline_exceeded and never reaches the command, whatever
// time its relative X-Wego-Timeout leaves; within clock_skew, or with
// the check off, it runs.
func TestExpiredDeadlineNeverRuns(t *testing.T) {
	e := embedded(t)
	var calls, unchecked atomic.Int64
	serve(t, e, counting(t, &calls))
	nc := client(t, e).Conn()
	send := func(deadline string) *nats.Msg {
		t.Helper()
		msg := &nats.Msg{Subject: "inventory.Reserve", Data: []byte(`{"sku":"apple"}`), Header: nats.Header{
			transport.HeaderRequestID: {"stale-1"},
			transport.HeaderTimeout:   {"5000"},
		}}
		if deadline != "" {
			msg.Header[natstransport.HeaderDeadline] = []string{deadline}
		}
		resp, err := nc.RequestMsg(msg, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	ms := func(d time.Duration) string { return strconv.FormatInt(time.Now().Add(d).UnixMilli(), 10) }

	resp := send(ms(-time.Second))
	if got := resp.Header.Get(micro.ErrorHeader); got != "deadline_exceeded" {
		t.Errorf("a request 1s past its deadline: Nats-Service-Error %q, want deadline_exceeded", got)
	}
	if got := resp.Header.Get(transport.HeaderRequestID); got != "stale-1" {
		t.Errorf("the refusal echoes request id %q, want stale-1", got)
	}
	if n := calls.Load(); n != 0 {
		t.Fatalf("the command ran %d times for a request past its deadline", n)
	}
	for _, dl := range []string{ms(-100 * time.Millisecond), ms(time.Second), "", "soon"} {
		if resp := send(dl); resp.Header.Get(micro.ErrorHeader) != "" {
			t.Errorf("deadline %q (now %s): answered %v, want served", dl, ms(0), resp.Header)
		}
	}
	if n := calls.Load(); n != 4 {
		t.Errorf("the command ran %d times for 4 live requests", n)
	}

	// clock_skew 0 turns the check off.
	e2 := embedded(t)
	serve(t, e2, counting(t, &unchecked), natstransport.ClockSkew(0))
	nc = client(t, e2).Conn()
	if resp := send(ms(-time.Second)); resp.Header.Get(micro.ErrorHeader) != "" || unchecked.Load() != 1 {
		t.Errorf("with clock_skew 0: answered %v, %d calls; want served", resp.Header, unchecked.Load())
	}
}

// A route sends its call's deadline in X-Wego-Deadline, rounded up to the
// millisecond, and none for a call without one.
func TestRouteSendsDeadline(t *testing.T) {
	e := embedded(t)
	seen := make(chan nats.Header, 2)
	nc := client(t, e).Conn()
	if _, err := nc.Subscribe("inventory.Reserve", func(m *nats.Msg) {
		seen <- m.Header
		_ = m.Respond([]byte(`{}`))
	}); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	cmd := reserve(t, natstransport.NewRoute(client(t, e), "inventory"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	dl, _ := ctx.Deadline()
	if _, err := cmd.Call(ctx, ReserveRequest{SKU: "apple"}); err != nil {
		t.Fatal(err)
	}
	h := <-seen
	got, err := strconv.ParseInt(h.Get(natstransport.HeaderDeadline), 10, 64)
	if want := (dl.UnixNano() + 999_999) / 1e6; err != nil || got != want {
		t.Errorf("X-Wego-Deadline %q, want %d", h.Get(natstransport.HeaderDeadline), want)
	}
	if _, err := cmd.Call(context.Background(), ReserveRequest{SKU: "apple"}); err != nil {
		t.Fatal(err)
	}
	if h := <-seen; h.Get(natstransport.HeaderDeadline) != "" {
		t.Errorf("a call without a deadline sent X-Wego-Deadline %q", h.Get(natstransport.HeaderDeadline))
	}
}
