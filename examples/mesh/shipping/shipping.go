// Package shipping is the API of the example shipping service: its types,
// error codes and declared commands. Shipping makes one shipment for each
// order that orders places, from the event orders.OrderPlaced.
package shipping

import (
	"embed"
	"time"

	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	httptransport "github.com/wegomesh/wego/transport/http"
)

// Shipment is the shipment of an order.
type Shipment struct {
	OrderID       string    `json:"order_id"`
	SKU           string    `json:"sku"`
	Qty           int       `json:"qty"`
	ReservationID string    `json:"reservation_id"`
	CreatedAt     time.Time `json:"created_at"`
}

// GetRequest names the order of a shipment.
type GetRequest struct {
	OrderID string `path:"order_id" json:"order_id"` // json too: the request crosses NATS as JSON
}

// ErrNotFound: no shipment exists for that order (404), yet or at all.
var ErrNotFound = errs.Define("shipping.not_found", errs.KindNotFound, "No shipment for order {{.order_id}}.")

// Get returns the shipment of an order: GET /shipments/{order_id}.
var Get = catalog.Declare[GetRequest, Shipment]("shipping.Get",
	httptransport.GET("/shipments/{order_id}"),
	catalog.Doc("Return the shipment of an order; 404 until its OrderPlaced event has arrived."))

// Messages holds the English and Spanish messages of the error codes.
//
//go:embed locales/*.toml
var Messages embed.FS
