// Package inventory is the API of the example inventory service: its
// request and response types, its error codes and its commands, declared
// without their functions. Other services import this package to call
// inventory — locally when the implementation (package service) is linked
// in and no route is configured, over HTTP when the configuration routes
// inventory.* to another deployable.
package inventory

import (
	"embed"

	"github.com/wegomesh/wego/catalog"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/middleware/auth"
	"github.com/wegomesh/wego/middleware/validate"
	httptransport "github.com/wegomesh/wego/transport/http"
)

// ReserveRequest asks to reserve Qty units of SKU.
type ReserveRequest struct {
	SKU string `json:"sku"`
	Qty int    `json:"qty"`
	// Key, when set, makes the request idempotent: while inventory holds
	// a reservation made with this key, a Reserve with it returns that
	// reservation instead of making another (the same SKU and quantity;
	// others are inventory.key_conflict). Releasing the reservation frees
	// the key. orders.Place derives it from its caller's Idempotency-Key.
	Key string `json:"key,omitempty"`
}

// MaxKeyLen is the longest ReserveRequest.Key, in bytes.
const MaxKeyLen = 64

// Validate reports the fields that can never be reserved. The rules'
// messages come in English and Spanish with the framework.
func (r ReserveRequest) Validate() error {
	return validate.Check().
		NotEmpty("sku", r.SKU).
		Min("qty", r.Qty, 1).
		MaxLen("key", r.Key, MaxKeyLen).
		Err()
}

// ReserveResponse is a reservation and the stock left after it.
type ReserveResponse struct {
	ReservationID string `json:"reservation_id"`
	SKU           string `json:"sku"`
	Remaining     int    `json:"remaining"`
}

// ReleaseRequest gives back the units of a reservation.
type ReleaseRequest struct {
	ReservationID string `json:"reservation_id"`
}

// Validate reports a missing reservation id.
func (r ReleaseRequest) Validate() error {
	return validate.Check().NotEmpty("reservation_id", r.ReservationID).Err()
}

// ReleaseResponse says what a release did: Released is true when this call
// gave the units back, false when the reservation was released already or
// is unknown — releasing is idempotent, it never gives units back twice.
type ReleaseResponse struct {
	ReservationID string `json:"reservation_id"`
	Released      bool   `json:"released"`
}

// StockRequest asks how many units of SKU are available.
type StockRequest struct {
	SKU string `path:"sku" json:"sku"`
}

// StockResponse is the stock of one SKU.
type StockResponse struct {
	SKU       string `json:"sku"`
	Available int    `json:"available"`
}

// Error codes of the inventory service.
var (
	// ErrUnknownSKU: the SKU is not stocked (404).
	ErrUnknownSKU = errs.Define("inventory.unknown_sku", errs.KindNotFound,
		"SKU {{.sku}} is unknown.")
	// ErrInsufficientStock: fewer units are left than requested (409).
	ErrInsufficientStock = errs.Define("inventory.insufficient_stock", errs.KindConflict,
		"Only {{.available}} of {{.sku}} left; {{.requested}} requested.")
	// ErrKeyConflict: the key of a Reserve holds a reservation of another
	// SKU or quantity (409).
	ErrKeyConflict = errs.Define("inventory.key_conflict", errs.KindConflict,
		"The key was used for another reservation.")
)

// The commands of the inventory service. Who may call Reserve and
// Release is configuration (the auth section of each deployable): the
// orders service, and operators with the scope inventory.admin.
var (
	// Reserve reserves stock: POST /inventory/reserve. With a key
	// (ReserveRequest.Key) it reserves once for all the requests that
	// carry it, even when an earlier one reached inventory after its
	// caller had given up on it.
	Reserve = catalog.Declare[ReserveRequest, ReserveResponse]("inventory.Reserve",
		httptransport.POST("/inventory/reserve"),
		catalog.Doc("Reserve units of a SKU; fails if fewer are left. A key makes it idempotent."))
	// Release gives back the units of a reservation that will not become
	// an order: POST /inventory/release. Releasing twice, or a reservation
	// inventory does not know, gives nothing back and is not an error.
	Release = catalog.Declare[ReleaseRequest, ReleaseResponse]("inventory.Release",
		httptransport.POST("/inventory/release"),
		catalog.Doc("Release a reservation; idempotent: units come back once."))
	// Stock reports the stock of a SKU: GET /inventory/stock/{sku}. It is
	// public: anyone may call it, with a credential or without.
	Stock = catalog.Declare[StockRequest, StockResponse]("inventory.Stock",
		httptransport.GET("/inventory/stock/{sku}"),
		catalog.With(auth.Public()),
		catalog.Doc("Report the units of a SKU still available."))
)

// Messages holds the English and Spanish messages of the error codes, for
// the i18n bundle of every deployable that may relay them.
//
//go:embed locales/*.toml
var Messages embed.FS
