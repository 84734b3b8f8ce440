// Package inventory is the API package that the documentation's snippets
// call, shaped like examples/mesh/inventory (a fake for the snippet check).
package inventory

import (
	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	httptransport "github.com/wegomesh/wego/transport/http"

	"example.com/memory"
)

// ReserveRequest asks to reserve Qty units of SKU.
type ReserveRequest struct {
	SKU string `json:"sku"`
	Qty int    `json:"qty"`
}

// ReserveResponse is a reservation and the stock left after it.
type ReserveResponse struct {
	ReservationID string `json:"reservation_id"`
	SKU           string `json:"sku"`
	Remaining     int    `json:"remaining"`
}

// StockRequest asks for the units of SKU.
type StockRequest struct {
	SKU string `path:"sku" json:"-"`
}

// StockResponse is the stock of one SKU.
type StockResponse struct {
	SKU       string `json:"sku"`
	Available int    `json:"available"`
}

// Error codes.
var (
	ErrUnknownSKU = errs.Define("inventory.unknown_sku", errs.KindNotFound, "SKU {{.sku}} is unknown.")
	ErrOutOfStock = errs.Define("inventory.out_of_stock", errs.KindConflict, "SKU {{.sku}} is out of stock.")
)

// Commands.
var (
	Reserve = catalog.Declare[ReserveRequest, ReserveResponse]("inventory.Reserve",
		httptransport.POST("/inventory/reserve"))
	Stock = catalog.Declare[StockRequest, StockResponse]("inventory.Stock",
		httptransport.GET("/inventory/stock/{sku}"))
)

// Store is the stock the service keeps.
var Store = catalog.Provide("inventory.store", memory.New())
