package middleware_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/wegomesh/wego/middleware"
)

// streamGuard can wrap streams: it counts the streams it sees.
type streamGuard struct{ n *int }

func (g streamGuard) Wrap(*middleware.Spec, middleware.Handler) middleware.Handler { return nil }

func (g streamGuard) WrapStream(_ *middleware.Spec, next middleware.StreamHandler) middleware.StreamHandler {
	return func(ctx context.Context, s middleware.Stream) error {
		*g.n++
		return next(ctx, s)
	}
}

// unaryCache has nothing to do for streams and says so.
type unaryCache struct{}

func (unaryCache) Wrap(*middleware.Spec, middleware.Handler) middleware.Handler { return nil }
func (unaryCache) UnaryOnly()                                                   {}

// A streaming chain takes stream middleware and leaves out the unary-only
// ones; any other middleware fails the composition, naming itself.
func TestBuildStreamFailsClosed(t *testing.T) {
	t.Parallel()
	spec := &middleware.Spec{Name: "feed.Watch", Side: middleware.ServerSide, Kind: middleware.ServerStream}
	var ran, guarded int
	terminal := func(context.Context, middleware.Stream) error { ran++; return nil }

	h, err := middleware.BuildStream(spec, terminal, streamGuard{&guarded}, nil, unaryCache{})
	if err != nil {
		t.Fatal(err)
	}
	if err := h(context.Background(), nil); err != nil || ran != 1 || guarded != 1 {
		t.Fatalf("err %v, ran %d, guarded %d; want the guard around the terminal", err, ran, guarded)
	}

	plain := middleware.Func(func(next middleware.Handler) middleware.Handler { return next })
	_, err = middleware.BuildStream(spec, terminal, streamGuard{&guarded}, plain)
	var se *middleware.StreamError
	if !errors.As(err, &se) || se.Command != "feed.Watch" || se.Side != middleware.ServerSide {
		t.Fatalf("err = %v; want a *StreamError for feed.Watch's server chain", err)
	}
	if !strings.Contains(err.Error(), "middleware.Func") {
		t.Fatalf("the error does not name the middleware: %v", err)
	}
}

func TestKind(t *testing.T) {
	t.Parallel()
	for k, want := range map[middleware.Kind]string{middleware.Unary: "unary", middleware.ClientStream: "client_stream",
		middleware.ServerStream: "server_stream", middleware.BidiStream: "bidi_stream", middleware.Event: "event", 9: "unknown"} {
		stream := k == middleware.ClientStream || k == middleware.ServerStream || k == middleware.BidiStream
		if k.String() != want || k.IsStream() != stream {
			t.Errorf("%d: %s, IsStream %v", k, k, k.IsStream())
		}
	}
	if (middleware.Spec{}).Kind != middleware.Unary {
		t.Error("the zero Kind must be Unary")
	}
}
