// Package service implements the example inventory service: it registers
// the functions of the commands that package inventory declares, and keeps
// stock in memory. Link it into a deployable to run inventory there.
package service

import (
	"context"
	"fmt"
	"maps"
	"sync"

	"github.com/google/uuid"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/config"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/examples/mesh/inventory"
)

// Config is the inventory section of the configuration.
type Config struct {
	// Stock is the initial stock, by SKU.
	Stock map[string]int `mapstructure:"stock"`
}

// Validate rejects negative stock.
func (c *Config) Validate() error {
	for sku, n := range c.Stock {
		if n < 0 {
			return &config.Error{Key: "stock." + sku, Err: fmt.Errorf("negative stock %d", n)}
		}
	}
	return nil
}

// Store is the in-memory stock. It is safe for concurrent use.
type Store struct {
	mu           sync.Mutex
	stock        map[string]int
	reservations map[string]inventory.ReserveResponse
}

// NewStore returns a store holding a copy of stock.
func NewStore(stock map[string]int) *Store {
	return &Store{stock: maps.Clone(stock), reservations: map[string]inventory.ReserveResponse{}}
}

// Seed replaces the stock with a copy of stock.
func (s *Store) Seed(stock map[string]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stock = maps.Clone(stock)
	if s.stock == nil {
		s.stock = map[string]int{}
	}
}

// Available returns the stock of sku and whether it is stocked.
func (s *Store) Available(sku string) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.stock[sku]
	return n, ok
}

// Reservations returns the number of reservations made.
func (s *Store) Reservations() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reservations)
}

func (s *Store) reserve(sku string, qty int) (inventory.ReserveResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.stock[sku]
	if !ok {
		return inventory.ReserveResponse{}, inventory.ErrUnknownSKU.New(errs.P("sku", sku))
	}
	if n < qty {
		return inventory.ReserveResponse{}, inventory.ErrInsufficientStock.New(
			errs.P("sku", sku), errs.P("available", n), errs.P("requested", qty))
	}
	s.stock[sku] = n - qty
	r := inventory.ReserveResponse{ReservationID: uuid.NewString(), SKU: sku, Remaining: n - qty}
	s.reservations[r.ReservationID] = r
	return r, nil
}

// StoreDep is the store the commands use; tests replace it with a fresh
// one per test.
var StoreDep = catalog.Provide("inventory.store", NewStore(nil))

func init() {
	catalog.Register("inventory.Reserve", reserve)
	catalog.Register("inventory.Stock", stock)
}

func reserve(ctx context.Context, req inventory.ReserveRequest) (inventory.ReserveResponse, error) {
	if err := req.Validate(); err != nil {
		return inventory.ReserveResponse{}, err
	}
	s, err := StoreDep.Get(ctx)
	if err != nil {
		return inventory.ReserveResponse{}, err
	}
	return s.reserve(req.SKU, req.Qty)
}

func stock(ctx context.Context, req inventory.StockRequest) (inventory.StockResponse, error) {
	s, err := StoreDep.Get(ctx)
	if err != nil {
		return inventory.StockResponse{}, err
	}
	n, ok := s.Available(req.SKU)
	if !ok {
		return inventory.StockResponse{}, inventory.ErrUnknownSKU.New(errs.P("sku", req.SKU))
	}
	return inventory.StockResponse{SKU: req.SKU, Available: n}, nil
}

// Setup seeds the store of cat from the inventory section of cfg. A
// deployable that runs inventory calls it after fw.New.
func Setup(cat *catalog.Catalog, cfg *config.Config) error {
	c, err := config.Get[Config](cfg, "inventory")
	if err != nil {
		return err
	}
	s, err := StoreDep.From(cat)
	if err != nil {
		return err
	}
	s.Seed(c.Stock)
	return nil
}
