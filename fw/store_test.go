package fw_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"go.uber.org/zap"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/catalog/catalogtest"
	"github.com/wegomesh/wego/config"
	"github.com/wegomesh/wego/fw"
	"github.com/wegomesh/wego/store"
)

// lifeStore is a store in memory that records when it starts and closes.
type lifeStore struct {
	*store.Memory
	rec *recorder
}

func (s lifeStore) Start(context.Context) error { s.rec.add("start:store"); return nil }

func (s lifeStore) Close() error { s.rec.add("close:store"); return s.Memory.Close() }

var (
	lifeMu   sync.Mutex
	lifeRecs = map[string]*recorder{} // by store.name: one per test
)

func init() {
	store.RegisterKind("fwtest", func(cfg store.Config, engine any, _ *zap.Logger) (store.Store, error) {
		if cfg.Name == "broken" {
			return nil, config.Errorf("path", "is required by kind fwtest")
		}
		lifeMu.Lock()
		defer lifeMu.Unlock()
		return lifeStore{Memory: store.NewMemory(), rec: lifeRecs[cfg.Name]}, nil
	})
}

func TestStoreDefaultIsMemory(t *testing.T) {
	t.Parallel()
	cat := catalog.New()
	a := newApp(t, fw.Catalog(cat))
	if _, ok := a.Store().(*store.Memory); !ok {
		t.Fatalf("the default store is a %T, want *store.Memory", a.Store())
	}
	ctx := catalog.NewContext(context.Background(), cat)
	s, err := fw.StoreDep.Get(ctx)
	if err != nil || s != a.Store() {
		t.Fatalf("StoreDep in the application's catalog = %v, %v; want the application's store", s, err)
	}
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Store().Put(ctx, "k", []byte("v"), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := a.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Store().Get(ctx, "k"); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Get after Stop: %v, want store.ErrClosed", err)
	}
	if s, _ := fw.StoreDep.Get(ctx); s == a.Store() {
		t.Fatal("after Stop, StoreDep still resolves to the closed store")
	}
}

func TestStoreLifecycle(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	lifeMu.Lock()
	lifeRecs["lifecycle"] = rec
	lifeMu.Unlock()
	a, err := appWithConfig(t, catalog.New(), "store: {kind: fwtest, name: lifecycle}\n",
		fw.Transports(&testTransport{name: "one", rec: rec}),
		fw.BeforeStart(rec.hook("beforeStart", nil)), fw.AfterStop(rec.hook("afterStop", nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	want := "beforeStart start:store start:one stop:one close:store afterStop"
	if got := rec.String(); got != want {
		t.Fatalf("events:\n got %s\nwant %s", got, want)
	}
}

func TestStoreConfigErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		yaml, key, want string
		is              error
	}{
		{"store: {kind: bbolt, path: x.db}\n", "store.kind", `add import _ "github.com/wegomesh/wego/store/boltstore"`, fw.ErrStoreNotLinked},
		{"store: {kind: nats}\n", "store.kind", `add import _ "github.com/wegomesh/wego/store/natsstore"`, fw.ErrStoreNotLinked},
		{"store: {kind: postgres}\n", "store.kind", `store/sqlstore`, fw.ErrStoreNotLinked},
		{"store: {kind: nosuch}\n", "store.kind", `no store of kind "nosuch" is linked (linked: `, nil},
		{"store: {replicas: 9}\n", "store.replicas", "must be from 1 to 5", nil},
		{"store: {kind: fwtest, name: broken}\n", "store.path", "is required by kind fwtest", nil},
		{"store: {kindd: memory}\n", "store.kindd", "unknown key", nil},
	} {
		_, err := appWithConfig(t, catalog.New(), c.yaml)
		var ce *config.Error
		if !errors.As(err, &ce) || ce.Key != c.key || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: New = %v, want a config error at %s saying %q", c.yaml, err, c.key, c.want)
			continue
		}
		if c.is != nil && !errors.Is(err, c.is) {
			t.Errorf("%s: New = %v, want an error matching %v", c.yaml, err, c.is)
		}
	}
}

// A command reaches the store through fw.StoreDep; a test replaces it.
func TestStoreDepReplacedInTests(t *testing.T) {
	t.Parallel()
	cat, ctx := catalogtest.New(t)
	mine := store.NewMemory()
	defer mine.Close()
	catalogtest.ReplaceDep(t, cat, fw.StoreDep, store.Store(mine))
	h, err := catalog.RegisterIn(cat, "test.Remember", func(ctx context.Context, v string) (uint64, error) {
		s, err := fw.StoreDep.Get(ctx)
		if err != nil {
			return 0, err
		}
		return s.Put(ctx, "remembered", []byte(v), store.PutOptions{})
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Call(ctx, "yes"); err != nil {
		t.Fatal(err)
	}
	if r, err := mine.Get(ctx, "remembered"); err != nil || string(r.Value) != "yes" {
		t.Fatalf("the test's store holds %q, %v", r.Value, err)
	}
}
