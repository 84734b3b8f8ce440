// Package service implements the example inventory service: it registers
// the functions of the commands that package inventory declares, and
// keeps stock and reservations in the application's store (package
// store), so that stock survives a restart (a bbolt file under make run)
// and replicas that share a store (a NATS key-value bucket) never sell
// more than there is. Link it into a deployable to run inventory there.
package service

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/config"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/examples/mesh/inventory"
	"github.com/wegomesh/wego/fw"
	"github.com/wegomesh/wego/middleware/timeout"
	"github.com/wegomesh/wego/store"
)

// Config is the inventory section of the configuration.
type Config struct {
	// Stock is the initial stock, by SKU: a SKU that the store does not
	// hold yet starts with it; one it holds keeps what it has, so that
	// stock survives a restart.
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

// The records of inventory in the store. Each SKU is one record holding
// its stock and its open reservations, so that a reservation changes
// both in one compare-and-set: two replicas that reserve at once never
// both take the last unit. Two small index records find a reservation's
// SKU by its id and by its key.
//
//	stock.<sku>          stockRecord
//	reservation.<id>     the reservation's SKU (an index)
//	reservekey.<digest>  the reservation made with a key (an index)
type stockRecord struct {
	Available    int                     `json:"available"`
	Reservations map[string]reservedUnit `json:"reservations,omitempty"`
}

// reservedUnit is what a reservation holds back, and the digest of the
// key it was made with.
type reservedUnit struct {
	Qty int    `json:"qty"`
	Key string `json:"key,omitempty"`
}

// keyRecord is the reservation made with a key.
type keyRecord struct {
	ID  string `json:"id"`
	SKU string `json:"sku"`
	Qty int    `json:"qty"`
}

// Store is inventory's view of a store: stock and reservations. It is
// safe for concurrent use, and so are several Stores, in one process or
// many, over one shared store.
type Store struct {
	s     store.Store
	stock *store.Typed[stockRecord]
	ids   *store.Typed[string]
	keys  *store.Typed[keyRecord]

	seed   map[string]int
	mu     sync.Mutex // held while seeding
	seeded bool
}

// NewStore returns a Store over a new store in memory, holding stock.
func NewStore(stock map[string]int) *Store {
	s := Open(store.NewMemory(), stock)
	if err := s.ensureSeeded(context.Background()); err != nil {
		panic("inventory: seeding a store in memory: " + err.Error()) // a memory store cannot fail
	}
	return s
}

// Open returns a Store over s. Before its first command it gives each SKU
// of stock that s does not hold yet its initial stock; SKUs that s holds
// keep theirs.
func Open(s store.Store, stock map[string]int) *Store {
	return &Store{
		s:     s,
		stock: store.NewTyped[stockRecord](s).WithUpdateAttempts(1000),
		ids:   store.NewTyped[string](s),
		keys:  store.NewTyped[keyRecord](s),
		seed:  stock,
	}
}

// ensureSeeded creates the stock records of the initial stock that the
// store lacks, once: Create leaves a record that exists alone, so that
// replicas starting at once, and restarts, keep the stock they share.
func (s *Store) ensureSeeded(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seeded {
		return nil
	}
	for sku, n := range s.seed {
		_, err := s.stock.Put(ctx, stockKey(sku), stockRecord{Available: n}, store.PutOptions{Create: true})
		if err != nil && !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	s.seeded = true
	return nil
}

// stockKey is the key of sku's record: the SKU itself when it is made of
// up to 256 letters, digits, - and _; otherwise its base64url form behind
// "b64=", or, for SKUs too long for a key, its SHA-256 behind "sha256=".
func stockKey(sku string) string {
	plain := len(sku) <= 256
	for i := 0; plain && i < len(sku); i++ {
		c := sku[i]
		plain = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_'
	}
	switch {
	case plain:
		return "stock." + sku
	case base64.RawURLEncoding.EncodedLen(len(sku)) <= 256:
		return "stock.b64=" + base64.RawURLEncoding.EncodeToString([]byte(sku))
	}
	return "stock.sha256=" + keyDigest(sku)
}

// keyDigest is the store's name of a reservation key: its SHA-256, so
// that any key the API accepts is a valid store key.
func keyDigest(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// Available returns the stock of sku and whether it is stocked.
func (s *Store) Available(sku string) (int, bool) {
	ctx := context.Background()
	if s.ensureSeeded(ctx) != nil {
		return 0, false
	}
	r, _, err := s.stock.Get(ctx, stockKey(sku))
	if err != nil {
		return 0, false
	}
	return r.Available, true
}

// Reservations returns the number of reservations held: made and not
// released.
func (s *Store) Reservations() int {
	items, err := s.stock.List(context.Background(), "stock.", store.ListOptions{})
	if err != nil {
		return 0
	}
	n := 0
	for _, it := range items {
		n += len(it.Value.Reservations)
	}
	return n
}

// errUnknownSKU marks an Update of a SKU the store does not hold.
var errUnknownSKU = errors.New("unknown sku")

func (s *Store) reserve(ctx context.Context, sku string, qty int, key string) (inventory.ReserveResponse, error) {
	if err := s.ensureSeeded(ctx); err != nil {
		return inventory.ReserveResponse{}, err
	}
	digest := ""
	if key != "" {
		digest = keyDigest(key)
		// A retry, or a copy that arrived late: the reservation made for it.
		if k, _, err := s.keys.Get(ctx, "reservekey."+digest); err == nil {
			return s.existing(ctx, k, sku, qty)
		} else if !errors.Is(err, store.ErrNotFound) {
			return inventory.ReserveResponse{}, err
		}
	}
	id := uuid.NewString()
	var answer inventory.ReserveResponse
	_, _, err := s.stock.Update(ctx, stockKey(sku), func(r *stockRecord) error {
		if r.Reservations == nil && r.Available == 0 && !s.known(ctx, sku) {
			return errUnknownSKU
		}
		if digest != "" {
			for rid, u := range r.Reservations {
				if u.Key == digest { // a concurrent copy with the same key won
					answer = inventory.ReserveResponse{ReservationID: rid, SKU: sku, Remaining: r.Available}
					if u.Qty != qty {
						return inventory.ErrKeyConflict.New()
					}
					return errKept
				}
			}
		}
		if r.Available < qty {
			return inventory.ErrInsufficientStock.New(errs.P("sku", sku), errs.P("available", r.Available), errs.P("requested", qty))
		}
		r.Available -= qty
		if r.Reservations == nil {
			r.Reservations = map[string]reservedUnit{}
		}
		r.Reservations[id] = reservedUnit{Qty: qty, Key: digest}
		answer = inventory.ReserveResponse{ReservationID: id, SKU: sku, Remaining: r.Available}
		return nil
	})
	switch {
	case errors.Is(err, errKept):
		return answer, nil
	case errors.Is(err, errUnknownSKU):
		return inventory.ReserveResponse{}, inventory.ErrUnknownSKU.New(errs.P("sku", sku))
	case err != nil:
		return inventory.ReserveResponse{}, err
	}
	// The indexes. A reservation whose index writes fail still exists:
	// release finds it by scanning the SKUs.
	if _, err := s.ids.Put(ctx, "reservation."+id, sku, store.PutOptions{Create: true}); err != nil {
		return answer, nil
	}
	if digest != "" {
		_, err := s.keys.Put(ctx, "reservekey."+digest, keyRecord{ID: id, SKU: sku, Qty: qty}, store.PutOptions{Create: true})
		if errors.Is(err, store.ErrConflict) {
			// The same key reserved another SKU at the same moment: that
			// one stands, this one is given back.
			s.release(ctx, id)
			k, _, gerr := s.keys.Get(ctx, "reservekey."+digest)
			if gerr != nil {
				return inventory.ReserveResponse{}, gerr
			}
			return s.existing(ctx, k, sku, qty)
		}
	}
	return answer, nil
}

// errKept ends an Update that found the reservation of its key already
// made: nothing is written.
var errKept = errors.New("reservation kept")

// known reports whether sku has a record: an Update of a missing key sees
// the zero record, which an out-of-stock SKU with no reservations has too.
func (s *Store) known(ctx context.Context, sku string) bool {
	_, err := s.s.Get(ctx, stockKey(sku))
	return err == nil
}

// existing answers a Reserve whose key holds reservation k.
func (s *Store) existing(ctx context.Context, k keyRecord, sku string, qty int) (inventory.ReserveResponse, error) {
	if k.SKU != sku || k.Qty != qty {
		return inventory.ReserveResponse{}, inventory.ErrKeyConflict.New()
	}
	r, _, err := s.stock.Get(ctx, stockKey(sku))
	if err != nil {
		return inventory.ReserveResponse{}, err
	}
	return inventory.ReserveResponse{ReservationID: k.ID, SKU: sku, Remaining: r.Available}, nil
}

// release gives back the units of reservation id, once, and frees its
// key: it reports whether this call did. An unknown id, or one released
// already, changes nothing.
func (s *Store) release(ctx context.Context, id string) (bool, error) {
	if err := s.ensureSeeded(ctx); err != nil {
		return false, err
	}
	skus := []string{}
	if sku, _, err := s.ids.Get(ctx, "reservation."+id); err == nil {
		skus = append(skus, stockKey(sku))
	} else if errors.Is(err, store.ErrNotFound) {
		// Released already, or its index was never written: look for it.
		keys, err := s.s.Keys(ctx, "stock.", store.ListOptions{})
		if err != nil {
			return false, err
		}
		skus = keys
	} else {
		return false, err
	}
	for _, key := range skus {
		released, digest := false, ""
		_, _, err := s.stock.Update(ctx, key, func(r *stockRecord) error {
			u, ok := r.Reservations[id]
			if !ok {
				return errKept
			}
			delete(r.Reservations, id)
			r.Available += u.Qty
			released, digest = true, u.Key
			return nil
		})
		if errors.Is(err, errKept) {
			continue
		}
		if err != nil {
			return false, err
		}
		if released {
			// Best effort: a stale index is harmless (it names a
			// reservation that no SKU holds any more).
			_ = s.s.Delete(ctx, "reservation."+id, store.DeleteOptions{})
			if digest != "" {
				_ = s.s.Delete(ctx, "reservekey."+digest, store.DeleteOptions{})
			}
			return true, nil
		}
	}
	return false, nil
}

// StoreDep is inventory's store that the commands use; [Setup] binds it
// to the application's store, and tests replace it with a fresh one per
// test.
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
	return s.reserve(ctx, req.SKU, req.Qty, req.Key)
}

func release(ctx context.Context, req inventory.ReleaseRequest) (inventory.ReleaseResponse, error) {
	if err := req.Validate(); err != nil {
		return inventory.ReleaseResponse{}, err
	}
	s, err := StoreDep.Get(ctx)
	if err != nil {
		return inventory.ReleaseResponse{}, err
	}
	released, err := s.release(ctx, req.ReservationID)
	if err != nil {
		return inventory.ReleaseResponse{}, err
	}
	return inventory.ReleaseResponse{ReservationID: req.ReservationID, Released: released}, nil
}

func stock(ctx context.Context, req inventory.StockRequest) (inventory.StockResponse, error) {
	s, err := StoreDep.Get(ctx)
	if err != nil {
		return inventory.StockResponse{}, err
	}
	if err := s.ensureSeeded(ctx); err != nil {
		return inventory.StockResponse{}, err
	}
	r, _, err := s.stock.Get(ctx, stockKey(req.SKU))
	if errors.Is(err, store.ErrNotFound) {
		return inventory.StockResponse{}, inventory.ErrUnknownSKU.New(errs.P("sku", req.SKU))
	}
	if err != nil {
		return inventory.StockResponse{}, err
	}
	return inventory.StockResponse{SKU: req.SKU, Available: r.Available}, nil
}

// Setup binds inventory's commands in cat to the application's store
// (fw.StoreDep, which the store section configures), with the initial
// stock of the inventory section of cfg. A deployable that runs inventory
// calls it after fw.New.
func Setup(cat *catalog.Catalog, cfg *config.Config) error {
	c, err := config.Get[Config](cfg, "inventory")
	if err != nil {
		return err
	}
	st, err := fw.StoreDep.From(cat)
	if err != nil {
		return err
	}
	_, err = catalog.ReplaceDep(cat, StoreDep, Open(st, c.Stock))
	return err
}
