package sqlstore_test

import (
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/wegomesh/wego/config"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/store"
	"github.com/wegomesh/wego/store/sqlstore"
)

// TestSQLiteConcurrentWriters: 8 goroutines writing through one Store,
// and 8 Stores (8 pools of connections) writing the same file at once,
// never see "database is locked".
func TestSQLiteConcurrentWriters(t *testing.T) {
	t.Parallel()
	n := 200
	if testing.Short() {
		n = 40
	}
	path := filepath.Join(t.TempDir(), "store.db")
	run := func(t *testing.T, stores []store.Store) {
		var wg sync.WaitGroup
		errc := make(chan error, 8)
		for w := range 8 {
			st := stores[w%len(stores)]
			wg.Go(func() {
				for i := range n {
					key := fmt.Sprintf("w%d/%d", w, i%10)
					if _, err := st.Put(t.Context(), key, []byte("v"), store.PutOptions{}); err != nil {
						errc <- err
						return
					}
					if _, err := st.Get(t.Context(), key); err != nil {
						errc <- err
						return
					}
					if i%5 == 0 {
						if err := st.Delete(t.Context(), key, store.DeleteOptions{}); err != nil {
							errc <- err
							return
						}
					}
				}
			})
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			t.Fatalf("a writer failed: %v", err)
		}
	}
	t.Run("OneStore", func(t *testing.T) {
		s, err := sqlstore.Open(t.Context(), sqlstore.SQLite, path, sqlstore.Options{Name: "one"})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		run(t, []store.Store{s})
	})
	t.Run("EightStores", func(t *testing.T) {
		var stores []store.Store
		for range 8 {
			s, err := sqlstore.Open(t.Context(), sqlstore.SQLite, path, sqlstore.Options{Name: "eight"})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			stores = append(stores, s)
		}
		run(t, stores)
	})
}

// TestSQLiteOtherProcessWrites: a watch sees the writes of another Store
// of the same file (another process, as far as it knows) within the
// poll interval, in revision order.
func TestSQLiteOtherProcessWrites(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "store.db")
	a, err := sqlstore.Open(t.Context(), sqlstore.SQLite, path, sqlstore.Options{PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := sqlstore.Open(t.Context(), sqlstore.SQLite, path, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ch, err := a.Watch(t.Context(), "k/")
	if err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, ch); ev.Kind != store.EventSynced {
		t.Fatalf("first event %v, want EventSynced", ev.Kind)
	}
	var revs []uint64
	for i := range 5 {
		rev, err := b.Put(t.Context(), fmt.Sprintf("k/%d", i), []byte("v"), store.PutOptions{})
		if err != nil {
			t.Fatal(err)
		}
		revs = append(revs, rev)
	}
	for i, rev := range revs {
		ev := nextEvent(t, ch)
		if ev.Kind != store.EventPut || ev.Record.Key != fmt.Sprintf("k/%d", i) || ev.Record.Revision != rev {
			t.Fatalf("event %d = %v %q revision %d, want put k/%d revision %d", i, ev.Kind, ev.Record.Key, ev.Record.Revision, i, rev)
		}
	}
}

// TestSQLiteHistoryTrimmed: a watch that had not read changes that the
// history no longer holds gets an EventReset and the current records.
func TestSQLiteHistoryTrimmed(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "store.db")
	// a reads only when woken by its own writes.
	a, err := sqlstore.Open(t.Context(), sqlstore.SQLite, path, sqlstore.Options{PollInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := sqlstore.Open(t.Context(), sqlstore.SQLite, path, sqlstore.Options{History: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := a.Put(t.Context(), "k/old", []byte("v"), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	ch, err := a.Watch(t.Context(), "k/")
	if err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, ch); ev.Kind != store.EventPut || ev.Record.Key != "k/old" {
		t.Fatalf("first event %v %q, want put k/old", ev.Kind, ev.Record.Key)
	}
	if ev := nextEvent(t, ch); ev.Kind != store.EventSynced {
		t.Fatalf("second event %v, want EventSynced", ev.Kind)
	}
	for i := range 3 {
		if _, err := b.Put(t.Context(), fmt.Sprintf("k/%d", i), []byte("v"), store.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Delete(t.Context(), "k/old", store.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// b's sweeper samples its revision every half second and trims what
	// is older than 100 ms.
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		if err := db.QueryRow("SELECT count(*) FROM wego_store_changes WHERE name = 'wego' AND key LIKE 'k/%' AND key <> 'k/end'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the history still holds %d changes 10 s after they were written, with History 100 ms", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// a's own write wakes its watch, which finds its position trimmed.
	if _, err := a.Put(t.Context(), "k/end", []byte("v"), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, ch); ev.Kind != store.EventReset {
		t.Fatalf("after the history was trimmed, event %v %q, want EventReset", ev.Kind, ev.Record.Key)
	}
	var keys []string
	for {
		ev := nextEvent(t, ch)
		if ev.Kind == store.EventSynced {
			break
		}
		if ev.Kind != store.EventPut {
			t.Fatalf("event %v between EventReset and EventSynced", ev.Kind)
		}
		keys = append(keys, ev.Record.Key)
	}
	if got := strings.Join(keys, " "); got != "k/0 k/1 k/2 k/end" {
		t.Fatalf("records after the reset: %s, want k/0 k/1 k/2 k/end", got)
	}
}

// TestSQLiteSchemaVersion: a table whose version the program does not
// know stops the store from starting, with a message naming the table.
func TestSQLiteSchemaVersion(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "store.db")
	s, err := sqlstore.Open(t.Context(), sqlstore.SQLite, path, sqlstore.Options{Name: "orders"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(t.Context(), "k", []byte("v"), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tc := range []struct{ row, table string }{{"orders", `"orders"`}, {"", `"wego_store_changes"`}} {
		if _, err := db.Exec("UPDATE wego_store_tables SET version = 99 WHERE name = ?", tc.row); err != nil {
			t.Fatal(err)
		}
		_, err = sqlstore.Open(t.Context(), sqlstore.SQLite, path, sqlstore.Options{Name: "orders"})
		if err == nil || !strings.Contains(err.Error(), "table "+tc.table+" has schema version 99") {
			t.Fatalf("Open of a table at version 99: %v, want an error naming table %s and its version", err, tc.table)
		}
		if _, err := db.Exec("UPDATE wego_store_tables SET version = 1 WHERE name = ?", tc.row); err != nil {
			t.Fatal(err)
		}
	}
	// A table of that name that no store made.
	if _, err := db.Exec(`CREATE TABLE "mine" (id INTEGER)`); err != nil {
		t.Fatal(err)
	}
	_, err = sqlstore.Open(t.Context(), sqlstore.SQLite, path, sqlstore.Options{Name: "mine"})
	if err == nil || !strings.Contains(err.Error(), `"mine"`) {
		t.Fatalf("Open over a table the store did not make: %v, want an error naming it", err)
	}
	// The records survived.
	s, err = sqlstore.Open(t.Context(), sqlstore.SQLite, path, sqlstore.Options{Name: "orders"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if r, err := s.Get(t.Context(), "k"); err != nil || string(r.Value) != "v" {
		t.Fatalf("Get after reopening = %q, %v", r.Value, err)
	}
}

// TestSQLiteUnavailable: a file that cannot be opened is unavailable.
func TestSQLiteUnavailable(t *testing.T) {
	t.Parallel()
	_, err := sqlstore.Open(t.Context(), sqlstore.SQLite, filepath.Join(t.TempDir(), "missing", "store.db"), sqlstore.Options{})
	if !errors.Is(err, store.ErrUnavailable) || errs.KindOf(err) != errs.KindUnavailable {
		t.Fatalf("Open in a missing directory: %v, want store.ErrUnavailable", err)
	}
}

// TestSQLiteOpenDB: a store on a *sql.DB of the caller, who keeps it.
func TestSQLiteOpenDB(t *testing.T) {
	t.Parallel()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "store.db")+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err := sqlstore.OpenDB(t.Context(), sqlstore.SQLite, db, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rev, err := s.Put(t.Context(), "k", []byte("v"), store.PutOptions{Metadata: map[string]string{"a": "\x00\xff"}})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := s.Get(t.Context(), "k"); err != nil || r.Revision != rev || r.Metadata["a"] != "\x00\xff" {
		t.Fatalf("Get = %+v, %v", r, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Ping(); err != nil {
		t.Fatalf("Close closed the caller's database: %v", err)
	}
}

// TestFactories: the kinds' configuration errors name their keys, and
// a store from a factory works once started.
func TestFactories(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cfg store.Config
		key string
	}{
		{store.Config{Kind: "sqlite", Name: "wego"}, "path"},
		{store.Config{Kind: "sqlite", Path: ":memory:", Name: "wego"}, "path"},
		{store.Config{Kind: "sqlite", Path: "x.db", Name: "wego_store_tables"}, "name"},
		{store.Config{Kind: "postgres", Name: "wego"}, "dsn"},
		{store.Config{Kind: "postgres", DSN: "postgres://[bad", Name: "wego"}, "dsn"},
		{store.Config{Kind: "postgres", DSN: "postgres://u@127.0.0.1/db", Name: strings.Repeat("n", 64)}, "name"},
	} {
		f, ok := store.FactoryOf(tc.cfg.Kind)
		if !ok {
			t.Fatalf("kind %s is not registered", tc.cfg.Kind)
		}
		_, err := f(tc.cfg, nil, zap.NewNop())
		var ce *config.Error
		if !errors.As(err, &ce) || ce.Key != tc.key {
			t.Fatalf("%+v: %v, want a configuration error of key %s", tc.cfg, err, tc.key)
		}
	}
	f, _ := store.FactoryOf("sqlite")
	st, err := f(store.Config{Kind: "sqlite", Path: filepath.Join(t.TempDir(), "x.db"), Name: "wego"}, nil, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Get(t.Context(), "k"); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Get before Start: %v, want store.ErrUnavailable", err)
	}
	if err := st.(store.Starter).Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Put(t.Context(), "k", []byte("v"), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
}

// nextEvent returns the next event of ch, failing after 10 s.
func nextEvent(t *testing.T, ch <-chan store.Event) store.Event {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("the watch closed")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event in 10 s")
	}
	return store.Event{}
}
