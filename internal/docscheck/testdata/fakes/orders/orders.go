// Package orders is the API package of the orders service that the
// documentation's snippets call (a fake for the snippet check).
package orders

import (
	"github.com/wegomesh/wego/catalog"
	httptransport "github.com/wegomesh/wego/transport/http"
)

// PlaceRequest orders Qty units of SKU.
type PlaceRequest struct {
	SKU string `json:"sku"`
	Qty int    `json:"qty"`
}

// Order is a placed order.
type Order struct {
	ID            string `json:"order_id"`
	SKU           string `json:"sku"`
	Qty           int    `json:"qty"`
	ReservationID string `json:"reservation_id"`
}

// Place places an order.
var Place = catalog.Declare[PlaceRequest, Order]("orders.Place", httptransport.POST("/orders"))
