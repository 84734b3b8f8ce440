package events_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/wegomesh/wego/auth"
	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/events"
)

// stamp is a propagator that attaches a credential and an account to
// each event published, and puts what each delivery carries in its
// context.
type stamp struct{ acct *auth.Account }

type seenKey struct{}

type seen struct {
	authorization string
	acct          *auth.Account
	stored        time.Time
}

func (s stamp) Inject(_ context.Context, msg *events.Message) {
	msg.Authorization, msg.Account = "Bearer t0k3n", s.acct
}

func (s stamp) Extract(ctx context.Context, d *events.Delivery) context.Context {
	return context.WithValue(ctx, seenKey{}, seen{d.Authorization, d.Account, d.Stored})
}

// Propagators write the publisher's credential and account into each
// event, and each delivery's context gets what it carries: in process,
// the account too.
func TestPropagators(t *testing.T) {
	t.Parallel()
	for name, backend := range map[string]func() events.Backend{
		"synchronous": func() events.Backend { return syncMemory() },
		"queued":      func() events.Backend { return events.NewMemory(events.MemoryConfig{}) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cat := catalog.New()
			tp := topicIn[placed](t, cat, "orders.Placed")
			got := make(chan seen, 1)
			subscribeIn(t, cat, "shipping.OnPlaced", tp, func(ctx context.Context, _ placed) error {
				got <- ctx.Value(seenKey{}).(seen)
				return nil
			})
			orders := &auth.Account{ID: "orders", Type: auth.Service}
			_, ctx := start(t, cat, backend(), events.WithPropagators(nil, stamp{orders}))
			if err := tp.Publish(ctx, placed{OrderID: "o1"}); err != nil {
				t.Fatal(err)
			}
			select {
			case s := <-got:
				if s.authorization != "Bearer t0k3n" || s.acct != orders || !s.stored.IsZero() {
					t.Errorf("delivered %+v", s)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("nothing delivered")
			}
		})
	}
	fake := &recorder{}
	cat := catalog.New()
	tp := topicIn[placed](t, cat, "orders.Placed")
	_, ctx := start(t, cat, fake, events.WithPropagators(stamp{}))
	if err := tp.Publish(ctx, placed{OrderID: "o1"}); err != nil {
		t.Fatal(err)
	}
	if m := fake.msgs[0]; m.Authorization != "Bearer t0k3n" {
		t.Errorf("the backend got %+v", m)
	}
}

// final is an error that says it is permanent, as the auth middleware's
// refusals of a delivery do.
type final struct{ permanent bool }

func (f final) Error() string   { return fmt.Sprintf("final %v", f.permanent) }
func (f final) Permanent() bool { return f.permanent }

// An error that says it is permanent is not retried, whatever its kind.
func TestPermanentErrors(t *testing.T) {
	t.Parallel()
	for err, want := range map[error]events.Outcome{
		final{true}:  events.Terminate,
		final{false}: events.Retry,
		errs.PermissionDenied().WithCause(final{true}): events.Terminate,
		errs.PermissionDenied():                        events.Retry,
		fmt.Errorf("wrapped: %w", final{true}):         events.Terminate,
		errors.Join(errors.New("other"), final{true}):  events.Terminate,
		errs.Unauthenticated().WithCause(final{false}): events.Retry,
	} {
		if got := events.OutcomeOf(err); got != want {
			t.Errorf("OutcomeOf(%v) = %v, want %v", err, got, want)
		}
	}
	// A permanent failure is dead-lettered after one delivery.
	cat := catalog.New()
	tp := topicIn[placed](t, cat, "orders.Placed")
	calls := 0
	subscribeIn(t, cat, "shipping.OnPlaced", tp, func(context.Context, placed) error {
		calls++
		return errs.PermissionDenied().WithCause(final{true})
	}, events.MaxDeliveries(5))
	dead := newLetters()
	_, ctx := start(t, cat, syncMemory(), events.OnDeadLetter(dead.hook))
	if err := tp.Publish(ctx, placed{OrderID: "o1"}); err != nil {
		t.Fatal(err)
	}
	if dl := dead.next(t); calls != 1 || dl.Reason != events.ReasonTerminated || dl.Code != "permission_denied" || dl.Deliveries != 1 {
		t.Errorf("%d deliveries, dead letter %+v", calls, dl)
	}
}
