package auth_test

import (
	"context"
	"strings"
	"testing"

	"github.com/wegomesh/wego/auth"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/middleware"
	authmw "github.com/wegomesh/wego/middleware/auth"
)

// Whatever Authorization header a request carries, the middleware never
// panics, answers unauthenticated or permission denied or lets the call
// through, and never repeats the header in its error.
func FuzzAuthorizationHeader(f *testing.F) {
	cfg := baseConfig()
	m, err := authmw.New(cfg, resources)
	if err != nil {
		f.Fatal(err)
	}
	spec := &middleware.Spec{Name: "inventory.Reserve", Side: middleware.ServerSide}
	h := m.Wrap(spec, func(context.Context, *middleware.Call) error { return nil })
	f.Add("Bearer " + token(f, "orders", auth.Service))
	f.Add("Bearer " + token(f, "alice", auth.User))
	f.Add("ApiKey wego_abc")
	f.Add("Basic YWxpY2U6")
	f.Add("Bearer a.b.c")
	f.Add("bearer  \xff\x00")
	f.Add(strings.Repeat("A", 9000))
	f.Fuzz(func(t *testing.T, header string) {
		ctx := authmw.WithAuthorization(context.Background(), []string{header})
		err := h(ctx, &middleware.Call{Spec: spec})
		if err == nil {
			return
		}
		switch errs.KindOf(err) {
		case errs.KindUnauthenticated, errs.KindPermissionDenied:
		default:
			t.Fatalf("header %q: %v, of kind %s", header, err, errs.KindOf(err))
		}
		if len(header) > 16 && strings.Contains(err.Error(), header[7:]) {
			t.Fatalf("the error repeats the header: %v", err)
		}
	})
}
