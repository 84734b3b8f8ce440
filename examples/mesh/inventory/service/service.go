// Package service implements the example inventory service: it registers
// the functions of the commands that package inventory declares, and keeps
// stock in memory. Link it into a deployable to run inventory there.
package service

import (
	"context"
	"maps"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/config"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/examples/mesh/inventory"
	"github.com/wegomesh/wego/middleware/timeout"
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
			return config.Errorf("stock."+sku, "negative stock %d", n)
		}
	}
	return nil
}

// Store is the in-memory stock. It is safe for concurrent use.
type Store struct {
	mu           sync.Mutex
	stock        map[string]int
	reservations map[string]reservation // by id
	keys         map[string]string      // reservation id by key
}

// reservation is what a reservation holds back, and the key it was made
// with.
type reservation struct {
	sku string
	qty int
	key string
}

// NewStore returns a store holding a copy of stock.
func NewStore(stock map[string]int) *Store {
	return &Store{stock: maps.Clone(stock), reservations: map[string]reservation{}, keys: map[string]string{}}
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

// Reservations returns the number of reservations held: made and not
// released.
func (s *Store) Reservations() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reservations)
}

func (s *Store) reserve(sku string, qty int, key string) (inventory.ReserveResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.keys[key]; ok && key != "" {
		// A retry, or a copy that arrived late: the reservation made for it.
		r := s.reservations[id]
		if r.sku != sku || r.qty != qty {
			return inventory.ReserveResponse{}, inventory.ErrKeyConflict.New()
		}
		return inventory.ReserveResponse{ReservationID: id, SKU: sku, Remaining: s.stock[sku]}, nil
	}
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
	s.reservations[r.ReservationID] = reservation{sku: sku, qty: qty, key: key}
	if key != "" {
		s.keys[key] = r.ReservationID
	}
	return r, nil
}

// release gives back the units of reservation id, once, and frees its
// key: it reports whether this call did. An unknown id, or one released
// already, changes nothing.
func (s *Store) release(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.reservations[id]
	if !ok {
		return false
	}
	delete(s.reservations, id)
	if r.key != "" {
		delete(s.keys, r.key)
	}
	s.stock[r.sku] += r.qty
	return true
}

// StoreDep is the store the commands use; tests replace it with a fresh
// one per test.
var StoreDep = catalog.Provide("inventory.store", NewStore(nil))

// Budget is how long Reserve and Release may run once started. They change
// stock, so they run to completion: a caller that goes away does not cut
// them half-way (timeout.RunToCompletion).
const Budget = 5 * time.Second

func init() {
	catalog.Register("inventory.Reserve", reserve, catalog.With(timeout.RunToCompletion(Budget)))
	catalog.Register("inventory.Release", release, catalog.With(timeout.RunToCompletion(Budget)))
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
	return s.reserve(req.SKU, req.Qty, req.Key)
}

func release(ctx context.Context, req inventory.ReleaseRequest) (inventory.ReleaseResponse, error) {
	if err := req.Validate(); err != nil {
		return inventory.ReleaseResponse{}, err
	}
	s, err := StoreDep.Get(ctx)
	if err != nil {
		return inventory.ReleaseResponse{}, err
	}
	return inventory.ReleaseResponse{ReservationID: req.ReservationID, Released: s.release(req.ReservationID)}, nil
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
