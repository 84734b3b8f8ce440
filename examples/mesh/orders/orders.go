// Package orders is the API of the example orders service: its types,
// error codes and declared commands.
package orders

import (
	"embed"
	"net/http"
	"time"

	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/events"
	"github.com/wegomesh/wego/middleware/idempotency"
	httptransport "github.com/wegomesh/wego/transport/http"
)

// PlaceRequest places an order for Qty units of SKU.
type PlaceRequest struct {
	SKU string `json:"sku"`
	Qty int    `json:"qty"`
}

// Order is a placed order.
type Order struct {
	OrderID       string `json:"order_id"`
	SKU           string `json:"sku"`
	Qty           int    `json:"qty"`
	ReservationID string `json:"reservation_id"`
}

// GetRequest names an order.
type GetRequest struct {
	ID string `path:"id" json:"id"`
}

// ErrNotFound: no order has that id (404).
var ErrNotFound = errs.Define("orders.not_found", errs.KindNotFound, "Order {{.id}} does not exist.")

// The commands of the orders service.
var (
	// Place places an order, reserving its stock in inventory: POST /orders → 201.
	// It accepts an Idempotency-Key: a client that got no answer sends the
	// same request with the same key again and gets the same order, placed
	// and reserved once.
	Place = catalog.Declare[PlaceRequest, Order]("orders.Place",
		httptransport.POST("/orders"), httptransport.SuccessStatus(http.StatusCreated),
		catalog.With(idempotency.Enabled.Value(true)),
		catalog.Doc("Place an order; reserves the stock in inventory. Send an Idempotency-Key to retry it safely."))
	// Get returns an order: GET /orders/{id}.
	Get = catalog.Declare[GetRequest, Order]("orders.Get",
		httptransport.GET("/orders/{id}"),
		catalog.Doc("Return an order by id."))
)

// OrderPlaced is the event of a placed order: its stock is reserved and
// the order is stored. Its message id is the order's id, so that a
// backend that de-duplicates (JetStream) stores a republished event once.
type OrderPlaced struct {
	OrderID       string    `json:"order_id"`
	SKU           string    `json:"sku"`
	Qty           int       `json:"qty"`
	ReservationID string    `json:"reservation_id"`
	PlacedAt      time.Time `json:"placed_at"`
}

// Placed is the topic orders.OrderPlaced: orders publishes an OrderPlaced
// for every order it places, at least once.
var Placed = events.NewTopic[OrderPlaced]("orders.OrderPlaced",
	events.Doc("An order was placed and its stock reserved; published at least once, with the order id as message id."))

// Messages holds the English and Spanish messages of the error codes.
//
//go:embed locales/*.toml
var Messages embed.FS
