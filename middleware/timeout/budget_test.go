package timeout_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/wegomesh/wego/log"
	"github.com/wegomesh/wego/middleware/timeout"
)

func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// TestServerBudgetEnds: the budget ends at the earlier of the server's and
// the caller's deadline, Err says so with or without Done asked for, and
// Done is then closed.
func TestServerBudgetEnds(t *testing.T) {
	t.Parallel()
	const soon, late = 30 * time.Millisecond, time.Hour
	for _, tt := range []struct {
		name           string
		server, caller time.Duration // from now; 0: none
	}{
		{"caller sooner", late, soon},
		{"server sooner", soon, late},
		{"server only", soon, 0},
		{"caller only", 0, soon},
	} {
		for _, askDone := range []bool{true, false} {
			at := func(d time.Duration, now time.Time) time.Time {
				if d == 0 {
					return time.Time{}
				}
				return now.Add(d)
			}
			now := time.Now()
			tt := struct {
				name                 string
				server, caller, want time.Time
			}{tt.name, at(tt.server, now), at(tt.caller, now), now.Add(soon)}
			ctx, cancel := timeout.WithServerBudget(context.Background(), tt.server, tt.caller)
			if dl, ok := ctx.Deadline(); !ok || !dl.Equal(tt.want) {
				t.Errorf("%s: Deadline = %v, %v; want %v", tt.name, dl, ok, tt.want)
			}
			if err := ctx.Err(); err != nil {
				t.Errorf("%s: Err before the deadline = %v", tt.name, err)
			}
			if askDone {
				select {
				case <-ctx.Done():
				case <-time.After(5 * time.Second):
					t.Fatalf("%s: Done not closed at the deadline", tt.name)
				}
			} else {
				time.Sleep(time.Until(tt.want) + time.Millisecond)
			}
			if err := ctx.Err(); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("%s (Done asked %v): Err = %v, want DeadlineExceeded", tt.name, askDone, err)
			}
			if !closed(ctx.Done()) {
				t.Errorf("%s: Err reports the deadline but Done is open", tt.name)
			}
			if sd, ok := timeout.ServerDeadline(ctx); ok != !tt.server.IsZero() || ok && !sd.Equal(tt.server) {
				t.Errorf("%s: ServerDeadline = %v, %v", tt.name, sd, ok)
			}
			cancel()
		}
	}
	ctx, cancel := timeout.WithServerBudget(context.Background(), time.Time{}, time.Time{})
	defer cancel()
	if _, ok := ctx.Deadline(); ok || ctx.Done() != nil {
		t.Error("no deadline: want the parent itself")
	}
}

// TestServerBudgetCancel: cancel, before or after Done was asked for, and
// the parent's cancellation, end the budget with Canceled.
func TestServerBudgetCancel(t *testing.T) {
	t.Parallel()
	far := time.Now().Add(time.Hour)
	for _, askFirst := range []bool{true, false} {
		ctx, cancel := timeout.WithServerBudget(context.Background(), far, time.Time{})
		if askFirst {
			_ = ctx.Done()
		}
		cancel()
		if err := ctx.Err(); !errors.Is(err, context.Canceled) || !closed(ctx.Done()) {
			t.Errorf("cancel (Done asked first %v): Err = %v, Done closed %v", askFirst, err, closed(ctx.Done()))
		}
	}
	for _, askFirst := range []bool{true, false} {
		parent, cancelParent := context.WithCancel(context.Background())
		ctx, cancel := timeout.WithServerBudget(parent, far, time.Time{})
		if askFirst {
			_ = ctx.Done()
		}
		cancelParent()
		if !askFirst {
			if err := ctx.Err(); !errors.Is(err, context.Canceled) {
				t.Errorf("parent canceled: Err = %v", err)
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
			t.Fatalf("parent canceled (Done asked first %v): Done open", askFirst)
		}
		cancel()
	}
}

// TestServerBudgetDerived: contexts derived from the budget end with it,
// context.AfterFunc fires, values pass through, and a nested budget keeps
// the earlier server deadline.
func TestServerBudgetDerived(t *testing.T) {
	t.Parallel()
	id := log.NewRequestID()
	parent := log.ContextWithRequestID(context.Background(), id)
	server := time.Now().Add(40 * time.Millisecond)
	ctx, cancel := timeout.WithServerBudget(parent, server, time.Time{})
	defer cancel()
	child, cancelChild := context.WithCancel(ctx)
	defer cancelChild()
	fired := make(chan struct{})
	context.AfterFunc(ctx, func() { close(fired) })
	select {
	case <-child.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("a derived context did not end with the budget")
	}
	select {
	case <-fired:
	case <-time.After(5 * time.Second):
		t.Fatal("context.AfterFunc did not fire")
	}
	if got, _ := log.RequestIDFrom(child); got != id {
		t.Errorf("request id through the budget %v, want %v", got, id)
	}
	inner, cancelInner := timeout.WithServerBudget(ctx, server.Add(time.Hour), time.Time{})
	defer cancelInner()
	if sd, _ := timeout.ServerDeadline(inner); !sd.Equal(server) {
		t.Errorf("nested: server deadline %v, want the earlier %v", sd, server)
	}
	if sd, _ := timeout.ServerDeadline(context.WithoutCancel(child)); !sd.Equal(server) {
		t.Errorf("through WithoutCancel: server deadline %v", sd)
	}
}

// TestServerBudgetConcurrent: Done, Err, Value and cancel from many
// goroutines (run with -race).
func TestServerBudgetConcurrent(t *testing.T) {
	t.Parallel()
	ctx, cancel := timeout.WithServerBudget(context.Background(), time.Now().Add(20*time.Millisecond), time.Time{})
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			switch i % 4 {
			case 0:
				<-ctx.Done()
			case 1:
				for ctx.Err() == nil {
					time.Sleep(time.Millisecond)
				}
			case 2:
				_, _ = timeout.ServerDeadline(ctx)
				<-ctx.Done()
			case 3:
				time.Sleep(5 * time.Millisecond)
				cancel()
			}
		})
	}
	wg.Wait()
	if ctx.Err() == nil || !closed(ctx.Done()) {
		t.Fatal("not ended")
	}
}

// TestServerBudgetIsLazy: a budget whose Done nobody asks for costs two
// allocations, the context and its cancel function (context.WithDeadline
// costs more, and a timer).
func TestServerBudgetIsLazy(t *testing.T) {
	parent, cancelParent := context.WithCancel(context.Background())
	defer cancelParent()
	server := time.Now().Add(time.Hour)
	lazy := testing.AllocsPerRun(1000, func() {
		ctx, cancel := timeout.WithServerBudget(parent, server, time.Time{})
		_ = ctx.Err()
		_, _ = ctx.Deadline()
		_ = ctx.Value("x")
		cancel()
	})
	timed := testing.AllocsPerRun(1000, func() {
		ctx, cancel := context.WithDeadline(parent, server)
		_ = ctx.Err()
		cancel()
	})
	if lazy > 2 || lazy >= timed {
		t.Errorf("WithServerBudget without Done: %v allocations; context.WithDeadline: %v", lazy, timed)
	}
}
