package fw

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/config"
	"github.com/wegomesh/wego/store"
)

// defaultStore is what [StoreDep] resolves to until an application
// provides its own: a store in memory, so that a command called without
// an application (in a test, say) still has one.
var defaultStore store.Store = store.NewMemory()

// StoreDep is the dependency through which commands reach the
// application's store, the one the store section configures (see
// [App.Store]):
//
//	func reserve(ctx context.Context, req Request) (Response, error) {
//		s, err := fw.StoreDep.Get(ctx)
//		...
//	}
//
// [New] provides the application's store under it in the application's
// catalog, and Stop puts back the default, a store in memory shared by
// the process. Tests give each test its own store:
//
//	cat, ctx := catalogtest.New(t)
//	catalogtest.ReplaceDep(t, cat, fw.StoreDep, store.Store(store.NewMemory()))
var StoreDep = catalog.Provide("wego.store", defaultStore)

// ErrStoreNotLinked is wrapped by the error of [New] when store.kind names
// a backend whose package the program does not import; the message names
// the import to add.
var ErrStoreNotLinked = errors.New("store kind not linked into this program")

// storeKinds names the packages that register the store kinds fw does
// not link itself.
var storeKinds = linkable{key: "store.kind", noun: "store", err: ErrStoreNotLinked, linked: store.Kinds,
	packages: map[string]string{
		"bbolt":    "github.com/wegomesh/wego/store/boltstore",
		"sqlite":   "github.com/wegomesh/wego/store/sqlstore",
		"postgres": "github.com/wegomesh/wego/store/sqlstore",
		"nats":     "github.com/wegomesh/wego/store/natsstore",
	}}

// Store returns the application's store: the backend that the store
// section names (kind memory by default). It is open from [New] on, works
// once [App.Start] has started it (a NATS store needs the engine), and is
// closed by Stop after the transports.
func (a *App) Store() store.Store { return a.store }

// makeStore opens, without starting it, the store of the store section,
// and provides it as StoreDep in the application's catalog.
func (a *App) makeStore() error {
	cfg, err := config.GetWithDefaults(a.cfg, "store", store.DefaultConfig())
	if err != nil {
		return err
	}
	f, ok := store.FactoryOf(cfg.Kind)
	if !ok {
		return a.notLinked(storeKinds, cfg.Kind)
	}
	var engine any
	if a.engine != nil {
		engine = a.engine
	}
	s, err := f(cfg, engine, a.logger)
	if err != nil {
		if _, ok := errors.AsType[*config.Error](err); ok {
			return config.Under("store", err)
		}
		return &config.Error{Key: "store.kind", File: a.cfg.File(), Err: err}
	}
	a.store, a.storeKind = s, cfg.Kind
	if _, err := catalog.ReplaceDep(a.cat, StoreDep, s); err != nil {
		if _, err := catalog.ProvideIn(a.cat, StoreDep.Name(), s); err != nil {
			_ = s.Close()
			return fmt.Errorf("fw: provide the store as %s: %w", StoreDep.Name(), err)
		}
	}
	return nil
}

// startStore starts the store, after the engine and before the
// transports, when it needs starting.
func (a *App) startStore(ctx context.Context) error {
	if s, ok := a.store.(store.Starter); ok {
		if err := s.Start(ctx); err != nil {
			return fmt.Errorf("fw: start the %s store: %w", a.storeKind, err)
		}
	}
	return nil
}

// closeStore closes the store, after the transports and before the
// engine, and gives StoreDep back its default unless another application
// has provided its own since.
func (a *App) closeStore() error {
	if a.store == nil {
		return nil
	}
	if cur, err := StoreDep.From(a.cat); err == nil && sameStore(cur, a.store) {
		_, _ = catalog.ReplaceDep(a.cat, StoreDep, defaultStore)
	}
	if err := a.store.Close(); err != nil {
		return fmt.Errorf("fw: close the %s store: %w", a.storeKind, err)
	}
	return nil
}

// sameStore reports whether x and y are the same store, without the panic
// of == on values of a type that is not comparable.
func sameStore(x, y store.Store) bool {
	if t := reflect.TypeOf(x); t != reflect.TypeOf(y) || !t.Comparable() {
		return false
	}
	return x == y
}
