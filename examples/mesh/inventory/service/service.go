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
	"sync/atomic"
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

// The records of inventory in the store. Each SKU's stock is one small
// record that a reservation decrements with a compare-and-set, so that
// two replicas that reserve at once never both take the last unit; each
// reservation is a record of its own, and a key's claim another:
//
//	stock.<sku>          stockRecord
//	reservation.<id>     reservedUnit
//	reservekey.<digest>  the reservation made with a key
//
// A reservation claims its key first (Create), then takes the units,
// then writes its record; a reservation that fails gives its claim up. A
// reservation that finds the key claimed waits for the record of the
// reservation that claimed it, and answers with it, or claims the key
// itself once it is given up. A release deletes the record (only one
// release wins the delete) before it gives the units back and frees the
// key. A process that dies between two steps leaves units held back,
// never units sold twice; a claim it leaves without a record is taken
// over by the next reservation with the key once it is older than
// [StaleClaim], so that the key does not fail forever.
type stockRecord struct {
	Available int `json:"available"`
}

// reservedUnit is a reservation: what it holds back, and the digest of
// the key it was made with.
type reservedUnit struct {
	SKU string `json:"sku"`
	Qty int    `json:"qty"`
	Key string `json:"key,omitempty"`
}

// keyRecord is the reservation made with a key, and when it claimed
// the key (Unix milliseconds; 0 in records of earlier versions).
type keyRecord struct {
	ID      string `json:"id"`
	SKU     string `json:"sku"`
	Qty     int    `json:"qty"`
	Claimed int64  `json:"claimed,omitempty"`
}

// StaleClaim is how long a claim of a key may go without its
// reservation's record before another reservation with the key takes
// it over: six times a reservation's [Budget], so that only the claim of
// a process that died between the claim and the record is taken over.
const StaleClaim = 6 * Budget

// Store is inventory's view of a store: stock and reservations. It is
// safe for concurrent use, and so are several Stores, in one process or
// many, over one shared store.
type Store struct {
	s     store.Store
	stock *store.Typed[stockRecord]
	res   *store.Typed[reservedUnit]
	keys  *store.Typed[keyRecord]

	seed   map[string]int
	mu     sync.Mutex  // held while seeding
	seeded atomic.Bool // set once seeding succeeded

	staleClaim time.Duration // StaleClaim; shorter in tests
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
		res:   store.NewTyped[reservedUnit](s),
		keys:  store.NewTyped[keyRecord](s),
		seed:  stock,

		staleClaim: StaleClaim,
	}
}

// ensureSeeded creates the stock records of the initial stock that the
// store lacks, once: Create leaves a record that exists alone, so that
// replicas starting at once, and restarts, keep the stock they share.
// Calls during the first wait for it; once it has succeeded, a call costs
// an atomic load. After a failure, the next call tries again.
func (s *Store) ensureSeeded(ctx context.Context) error {
	if s.seeded.Load() {
		return nil
	}
	return s.seedOnce(ctx)
}

// seedOnce seeds the store unless a call that held mu before did.
func (s *Store) seedOnce(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seeded.Load() {
		return nil
	}
	for sku, n := range s.seed {
		_, err := s.stock.Put(ctx, stockKey(sku), stockRecord{Available: n}, store.PutOptions{Create: true})
		if err != nil && !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	s.seeded.Store(true)
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
	keys, err := s.s.Keys(context.Background(), "reservation.", store.ListOptions{})
	if err != nil {
		return 0
	}
	return len(keys)
}

func (s *Store) reserve(ctx context.Context, sku string, qty int, key string) (inventory.ReserveResponse, error) {
	if err := s.ensureSeeded(ctx); err != nil {
		return inventory.ReserveResponse{}, err
	}
	id := uuid.NewString()
	digest := ""
	var claimRev uint64
	if key != "" {
		// Claim the key: a retry, or a copy that arrived late, finds the
		// reservation made for it.
		digest = keyDigest(key)
		resp, rev, err := s.claim(ctx, digest, keyRecord{ID: id, SKU: sku, Qty: qty})
		if rev == 0 {
			return resp, err
		}
		claimRev = rev
	}
	unclaim := func() {
		if digest != "" {
			s.unclaim(context.WithoutCancel(ctx), digest, claimRev)
		}
	}
	r, _, err := s.stock.UpdateExisting(ctx, stockKey(sku), func(r *stockRecord) error {
		if r.Available < qty {
			return inventory.ErrInsufficientStock.New(errs.P("sku", sku), errs.P("available", r.Available), errs.P("requested", qty))
		}
		r.Available -= qty
		return nil
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		unclaim()
		return inventory.ReserveResponse{}, inventory.ErrUnknownSKU.New(errs.P("sku", sku))
	case err != nil:
		unclaim()
		return inventory.ReserveResponse{}, err
	}
	if _, err := s.res.Put(context.WithoutCancel(ctx), "reservation."+id, reservedUnit{SKU: sku, Qty: qty, Key: digest}, store.PutOptions{Create: true}); err != nil {
		// Give the units back: without its record the reservation could
		// never be released.
		s.giveBack(context.WithoutCancel(ctx), sku, qty)
		unclaim()
		return inventory.ReserveResponse{}, err
	}
	return inventory.ReserveResponse{ReservationID: id, SKU: sku, Remaining: r.Available}, nil
}

// giveBack adds qty units of sku back to its stock.
func (s *Store) giveBack(ctx context.Context, sku string, qty int) error {
	_, _, err := s.stock.Update(ctx, stockKey(sku), func(r *stockRecord) error {
		r.Available += qty
		return nil
	})
	return err
}

// claim claims the key of digest for the reservation want, and returns
// the revision of its claim, or 0 when it did not claim it. When another
// reservation holds the key, claim waits until that reservation has its
// record, and returns the answer with it, or until the claim is given up
// (the reservation failed, or was released), and tries again; it gives up when ctx ends. A claim older
// than staleClaim whose reservation has no record is a dead process's:
// claim takes it over, with a write conditional on its revision, so that
// of several reservations that find it one takes it. The claim's age is
// measured with the claimant's clock against the reader's: the hosts'
// clocks must agree to well within staleClaim (30 s by default), as NTP
// keeps them.
func (s *Store) claim(ctx context.Context, digest string, want keyRecord) (resp inventory.ReserveResponse, claimRev uint64, err error) {
	key := "reservekey." + digest
	for {
		want.Claimed = time.Now().UnixMilli()
		rev, err := s.keys.Put(ctx, key, want, store.PutOptions{Create: true})
		if err == nil {
			return resp, rev, nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return resp, 0, err
		}
		k, rec, err := s.keys.Get(ctx, key)
		if errors.Is(err, store.ErrNotFound) {
			continue // given up since: claim it
		}
		if err != nil {
			return resp, 0, err
		}
		if k.SKU != want.SKU || k.Qty != want.Qty {
			return resp, 0, inventory.ErrKeyConflict.New()
		}
		outcome, err := s.awaitRecord(ctx, key, rec.Revision, k)
		if err != nil {
			return resp, 0, err
		}
		switch outcome {
		case recordMade:
			resp, err := s.existing(ctx, k)
			return resp, 0, err
		case claimStale:
			want.Claimed = time.Now().UnixMilli()
			rev, err := s.keys.Put(ctx, key, want, store.PutOptions{IfRevision: rec.Revision})
			if err == nil {
				return resp, rev, nil
			}
			if !errors.Is(err, store.ErrConflict) {
				return resp, 0, err
			}
			// Another reservation took it over first, or it changed:
			// look again.
		}
	}
}

// The outcomes of awaitRecord.
const (
	claimGivenUp = iota // the claim was given up, or changed hands
	recordMade          // the reservation that claimed the key has its record
	claimStale          // the claim is older than staleClaim, without a record
)

// awaitRecord waits until reservation k, which holds the claim of key at
// revision rev, has its record, or until the claim is given up or found
// stale, or ctx ends.
func (s *Store) awaitRecord(ctx context.Context, key string, rev uint64, k keyRecord) (int, error) {
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		_, err := s.s.Get(ctx, "reservation."+k.ID)
		if err == nil {
			return recordMade, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return claimGivenUp, err
		}
		rec, err := s.s.Get(ctx, key)
		if errors.Is(err, store.ErrNotFound) || err == nil && rec.Revision != rev {
			return claimGivenUp, nil
		}
		if err != nil {
			return claimGivenUp, err
		}
		if k.Claimed != 0 && time.Since(time.UnixMilli(k.Claimed)) > s.staleClaim {
			return claimStale, nil
		}
		timer := time.NewTimer(wait)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return claimGivenUp, ctx.Err()
		}
	}
}

// existing answers a Reserve whose key holds reservation k.
func (s *Store) existing(ctx context.Context, k keyRecord) (inventory.ReserveResponse, error) {
	r, _, err := s.stock.Get(ctx, stockKey(k.SKU))
	if err != nil {
		return inventory.ReserveResponse{}, err
	}
	return inventory.ReserveResponse{ReservationID: k.ID, SKU: k.SKU, Remaining: r.Available}, nil
}

// release gives back the units of reservation id, once, and frees its
// key: it reports whether this call did. An unknown id, or one released
// already, changes nothing.
func (s *Store) release(ctx context.Context, id string) (bool, error) {
	if err := s.ensureSeeded(ctx); err != nil {
		return false, err
	}
	key := "reservation." + id
	if !store.ValidKey(key) {
		return false, nil
	}
	u, rec, err := s.res.Get(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	// Only one release deletes the record at this revision: it alone
	// gives the units back.
	err = s.s.Delete(ctx, key, store.DeleteOptions{IfRevision: rec.Revision})
	if errors.Is(err, store.ErrConflict) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := s.giveBack(context.WithoutCancel(ctx), u.SKU, u.Qty); err != nil {
		return false, err
	}
	if u.Key != "" {
		s.freeKey(context.WithoutCancel(ctx), "reservekey."+u.Key, id)
	}
	return true, nil
}

// unclaim gives up the claim of the key of digest that a reservation made
// at revision rev, and only that claim: if another reservation has taken
// it over since (this one stalled past staleClaim), the key is that
// one's.
func (s *Store) unclaim(ctx context.Context, digest string, rev uint64) {
	_ = s.s.Delete(ctx, "reservekey."+digest, store.DeleteOptions{IfRevision: rev})
}

// freeKey deletes the reservation key key if it still holds reservation
// id: a key that another reservation has taken over (id's claim had gone
// stale) is that one's.
func (s *Store) freeKey(ctx context.Context, key, id string) {
	k, rec, err := s.keys.Get(ctx, key)
	if err != nil || k.ID != id {
		return
	}
	_ = s.s.Delete(ctx, key, store.DeleteOptions{IfRevision: rec.Revision})
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
