package transport_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/log"
	"github.com/wegomesh/wego/transport"
)

// exchange is a request that a test hands the serving core.
type exchange struct {
	md       transport.Metadata
	admitted bool
	failed   *errs.Error
	replied  bool
}

func (x *exchange) Metadata() transport.Metadata { return x.md }
func (x *exchange) Admit() error                 { x.admitted = true; return nil }
func (x *exchange) Decode(any) error             { return nil }
func (x *exchange) Gone() bool                   { return false }
func (x *exchange) Reply([]byte)                 { x.replied = true }
func (x *exchange) Fail(e *errs.Error, _ []byte) { x.failed = e }

// An event entry (a subscriber of package events), which a transport that
// serves every command may have prepared, is refused as an unknown
// command, before anything runs.
func TestEventEntriesAreNotServed(t *testing.T) {
	t.Parallel()
	cat := catalog.New()
	ran := false
	sub, err := catalog.RegisterIn(cat, "shipping.OnPlaced", func(context.Context, struct{ ID string }) (struct{}, error) {
		ran = true
		return struct{}{}, nil
	}, catalog.AsEvent())
	if err != nil {
		t.Fatal(err)
	}
	core := transport.NewCore("test", transport.Host{Catalog: cat}, transport.CoreLimits{})
	x := &exchange{md: transport.MD(http.Header{})}
	err = core.Command(sub).Serve(context.Background(), log.NewRequestID(), x)
	if !errors.Is(err, catalog.ErrUnknownCommand) || x.failed == nil || x.failed.Code() != "wego.unknown_command" || x.admitted || x.replied || ran {
		t.Fatalf("Serve = %v; answered %v, admitted %v, ran %v", err, x.failed, x.admitted, ran)
	}
}
