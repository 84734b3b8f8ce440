package httptransport_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"golang.org/x/text/language"

	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/i18n"
	"github.com/wegomesh/wego/log"
	"github.com/wegomesh/wego/transport"
	httptransport "github.com/wegomesh/wego/transport/http"
)

// The API of a small inventory service, as an API package would declare it.

type ReserveRequest struct {
	SKU   string `json:"sku"`
	Qty   int    `json:"qty"`
	Notes []Note `json:"notes,omitempty"`
}

type Note struct {
	Text string `json:"text"`
}

type ReserveResponse struct {
	ID        string `json:"id"`
	Remaining int    `json:"remaining"`
	RequestID string `json:"request_id"`
}

type GetOrder struct {
	ID      string        `path:"id" json:"-"`
	Limit   int           `query:"limit" json:"-"`
	Tags    []string      `query:"tag" json:"-"`
	Verbose *bool         `query:"verbose" json:"-"`
	Wait    time.Duration `query:"wait" json:"-"`
	Ratio   float64       `query:"ratio" json:"-"`
	Tenant  string        `header:"X-Tenant" json:"-"`
}

type Order struct {
	ID      string   `json:"id"`
	Limit   int      `json:"limit"`
	Tags    []string `json:"tags"`
	Verbose *bool    `json:"verbose,omitempty"`
	Wait    string   `json:"wait"`
	Ratio   float64  `json:"ratio"`
	Tenant  string   `json:"tenant"`
}

type CreateOrder struct {
	Tenant string `header:"X-Tenant" json:"-"`
	Item   string `json:"item"`
}

type DeleteOrder struct {
	ID int64 `path:"id" json:"-"`
}

type Empty struct{}

type SlowRequest struct {
	Millis int `json:"millis"`
}

type SlowResponse struct {
	HadDeadline bool  `json:"had_deadline"`
	DeadlineMs  int64 `json:"deadline_ms"`
}

var ErrUnknownSKU = errs.Define("testinv.unknown_sku", errs.KindNotFound, "SKU {{.sku}} is unknown.")

// sentinel must never reach a client.
const sentinel = "SENTINEL-d41d8cd9 at /srv/app/internal/db.go:42 (*pq.Error)"

// fixture is one served catalog with hooks to observe what commands saw.
type fixture struct {
	cat      *catalog.Catalog
	logs     *observer.ObservedLogs
	host     transport.Host
	started  chan struct{} // Slow started
	release  chan struct{} // closing it ends Slow
	canceled chan struct{} // Slow saw its context end
	calls    atomic.Int64
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{cat: catalog.New(), started: make(chan struct{}, 16), release: make(chan struct{}),
		canceled: make(chan struct{}, 16)}
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(catalog.RegisterIn(f.cat, "inventory.Reserve", func(ctx context.Context, r ReserveRequest) (ReserveResponse, error) {
		f.calls.Add(1)
		id, _ := log.RequestIDFrom(ctx)
		if r.SKU == "unknown" {
			return ReserveResponse{}, ErrUnknownSKU.New(errs.P("sku", r.SKU))
		}
		if r.Qty < 1 {
			return ReserveResponse{}, errs.InvalidArgument(errs.Field("qty", "must be at least 1"))
		}
		return ReserveResponse{ID: "r-" + r.SKU, Remaining: 10 - r.Qty, RequestID: id.String()}, nil
	}, catalog.Doc("Reserves stock.")))
	must(catalog.RegisterIn(f.cat, "orders.Get", func(_ context.Context, r GetOrder) (Order, error) {
		return Order{ID: r.ID, Limit: r.Limit, Tags: r.Tags, Verbose: r.Verbose, Wait: r.Wait.String(), Ratio: r.Ratio, Tenant: r.Tenant}, nil
	}, httptransport.GET("/orders/{id}")))
	must(catalog.RegisterIn(f.cat, "orders.Create", func(_ context.Context, r CreateOrder) (Order, error) {
		return Order{ID: "o-" + r.Item, Tenant: r.Tenant}, nil
	}, httptransport.POST("/orders"), httptransport.SuccessStatus(http.StatusCreated)))
	must(catalog.RegisterIn(f.cat, "orders.Delete", func(_ context.Context, r DeleteOrder) (struct{}, error) {
		if r.ID == 0 {
			return struct{}{}, errs.NotFound()
		}
		return struct{}{}, nil
	}, httptransport.DELETE("/orders/{id}")))
	must(catalog.RegisterIn(f.cat, "orders.Touch", func(_ context.Context, r DeleteOrder) (Empty, error) {
		return Empty{}, nil
	}, httptransport.PUT("/orders/{id}/touch")))
	must(catalog.RegisterIn(f.cat, "faulty.Fail", func(context.Context, Empty) (Empty, error) {
		return Empty{}, errs.Internal().WithCause(errors.New(sentinel))
	}))
	must(catalog.RegisterIn(f.cat, "faulty.Plain", func(context.Context, Empty) (Empty, error) {
		return Empty{}, errors.New(sentinel)
	}))
	must(catalog.RegisterIn(f.cat, "faulty.Panic", func(context.Context, Empty) (Empty, error) {
		panic(sentinel)
	}))
	must(catalog.RegisterIn(f.cat, "faulty.Slow", func(ctx context.Context, r SlowRequest) (SlowResponse, error) {
		var resp SlowResponse
		if dl, ok := ctx.Deadline(); ok {
			resp.HadDeadline, resp.DeadlineMs = true, time.Until(dl).Milliseconds()
		}
		f.started <- struct{}{}
		var timer <-chan time.Time
		if r.Millis > 0 {
			timer = time.After(time.Duration(r.Millis) * time.Millisecond)
		}
		select {
		case <-f.release:
		case <-timer:
		case <-ctx.Done():
			f.canceled <- struct{}{}
			return resp, ctx.Err()
		}
		return resp, nil
	}))
	must(catalog.RegisterIn(f.cat, "internal.Hidden", func(context.Context, Empty) (Empty, error) {
		return Empty{}, nil
	}, httptransport.NoHTTP()))

	core, logs := observer.New(zap.DebugLevel)
	f.logs = logs
	bundle, err := i18n.New(i18n.Messages(language.Spanish, map[string]string{
		"testinv.unknown_sku": "El SKU {{.sku}} no existe.",
	}), i18n.Messages(language.English, map[string]string{
		"testinv.unknown_sku": "SKU {{.sku}} is unknown.",
	}))
	if err != nil {
		t.Fatal(err)
	}
	f.host = transport.Host{Name: "test", Catalog: f.cat, Logger: zap.New(core), I18n: bundle}
	return f
}

// serve serves the fixture with httptest and returns the server.
func (f *fixture) serve(t testing.TB, opts ...httptransport.ServerOption) *httptest.Server {
	t.Helper()
	h, err := httptransport.NewHandler(f.host, opts...)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}
