package httptransport_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"

	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/transport"
	httptransport "github.com/wegomesh/wego/transport/http"
)

type StockRequest struct {
	SKU string `path:"sku" json:"-"`
}

type StockResponse struct {
	SKU       string `json:"sku"`
	Available int    `json:"available"`
}

var ErrNoSuchSKU = errs.Define("example.no_such_sku", errs.KindNotFound, "SKU {{.sku}} does not exist.")

// A command served over HTTP in one catalog, and called through a remote
// route from another catalog that only declares it.
func Example() {
	// The service's process: register the function, serve the catalog.
	server := catalog.New()
	_, _ = catalog.RegisterIn(server, "inventory.Stock", func(_ context.Context, r StockRequest) (StockResponse, error) {
		if r.SKU != "apple" {
			return StockResponse{}, ErrNoSuchSKU.New(errs.P("sku", r.SKU))
		}
		return StockResponse{SKU: r.SKU, Available: 7}, nil
	}, httptransport.GET("/stock/{sku}"))
	h, err := httptransport.NewHandler(transport.Host{Catalog: server})
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	// The caller's process: declare the command (an API package does this)
	// and route it to the service.
	caller := catalog.New()
	stock, _ := catalog.DeclareIn[StockRequest, StockResponse](caller, "inventory.Stock", httptransport.GET("/stock/{sku}"))
	if err := caller.SetRoute("inventory.*", httptransport.NewClient().Route(srv.URL)); err != nil {
		fmt.Println(err)
		return
	}

	resp, err := stock.Call(context.Background(), StockRequest{SKU: "apple"})
	fmt.Println(resp.Available, err)

	_, err = stock.Call(context.Background(), StockRequest{SKU: "pear"})
	e, _ := errs.As(err)
	fmt.Println(errors.Is(err, ErrNoSuchSKU), e.Status(), e.Message())
	// Output:
	// 7 <nil>
	// true 404 SKU pear does not exist.
}
