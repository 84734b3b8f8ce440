package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql's "pgx"

	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/internal/pgtest"
	"github.com/wegomesh/wego/store"
	"github.com/wegomesh/wego/store/sqlstore"
)

// TestPostgresUnreachable: a server that does not answer is unavailable.
func TestPostgresUnreachable(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // a closed port
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	_, err = sqlstore.Open(ctx, sqlstore.Postgres, "postgres://postgres@"+addr+"/postgres?sslmode=disable", sqlstore.Options{})
	if !errors.Is(err, store.ErrUnavailable) || errs.KindOf(err) != errs.KindUnavailable {
		t.Fatalf("Open on a closed port: %v, want store.ErrUnavailable", err)
	}
}

// TestPostgresOutage: while the server is down every call fails with
// ErrUnavailable and writes nothing; when it is back, the same Store
// works again, and a watch opened before the outage resumes from the
// revision it had reached, without a reset and without missing a
// change, once its listening connection is back.
func TestPostgresOutage(t *testing.T) {
	t.Parallel()
	srv := pgtest.Start(t)
	dsn := srv.DSN(t)
	ctx := t.Context()
	// Polls never: only the listening connection, once back, wakes the watch.
	s, err := sqlstore.Open(ctx, sqlstore.Postgres, dsn, sqlstore.Options{PollInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	before, err := s.Put(ctx, "k/before", []byte("v"), store.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ch, err := s.Watch(ctx, "k/")
	if err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, ch); ev.Kind != store.EventPut || ev.Record.Revision != before {
		t.Fatalf("first event %v %q, want put k/before", ev.Kind, ev.Record.Key)
	}
	if ev := nextEvent(t, ch); ev.Kind != store.EventSynced {
		t.Fatalf("second event %v, want EventSynced", ev.Kind)
	}

	srv.Stop(t)
	for _, call := range []struct {
		name string
		do   func(context.Context) error
	}{
		{"Get", func(ctx context.Context) error { _, err := s.Get(ctx, "k/before"); return err }},
		{"Put", func(ctx context.Context) error {
			_, err := s.Put(ctx, "k/during", []byte("v"), store.PutOptions{})
			return err
		}},
		{"Delete", func(ctx context.Context) error { return s.Delete(ctx, "k/before", store.DeleteOptions{}) }},
		{"List", func(ctx context.Context) error { _, err := s.List(ctx, "k/", store.ListOptions{}); return err }},
	} {
		cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		err := call.do(cctx)
		cancel()
		if !errors.Is(err, store.ErrUnavailable) || errs.KindOf(err) != errs.KindUnavailable {
			t.Fatalf("%s while the server is down: %v, want store.ErrUnavailable", call.name, err)
		}
	}

	srv.Restart(t)
	// The pool drops its dead connections and makes new ones.
	var after uint64
	deadline := time.Now().Add(15 * time.Second)
	for {
		after, err = s.Put(ctx, "k/after", []byte("v"), store.PutOptions{})
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrUnavailable) || time.Now().After(deadline) {
			t.Fatalf("Put after the server is back: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := s.Get(ctx, "k/during"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get of the write that failed during the outage: %v, want store.ErrNotFound", err)
	}
	if r, err := s.Get(ctx, "k/before"); err != nil || r.Revision != before {
		t.Fatalf("Get of the record written before the outage: %+v, %v", r, err)
	}
	ev := nextEvent(t, ch)
	if ev.Kind != store.EventPut || ev.Record.Key != "k/after" || ev.Record.Revision != after {
		t.Fatalf("after the outage, event %v %q revision %d, want put k/after revision %d (no reset)", ev.Kind, ev.Record.Key, ev.Record.Revision, after)
	}
	// A burst of writes arrives in order.
	var revs []uint64
	for i := range 5 {
		rev, err := s.Put(ctx, fmt.Sprintf("k/%d", i), []byte("v"), store.PutOptions{})
		if err != nil {
			t.Fatal(err)
		}
		revs = append(revs, rev)
	}
	for i, rev := range revs {
		if ev := nextEvent(t, ch); ev.Record.Revision != rev {
			t.Fatalf("event %d: %v %q revision %d, want revision %d", i, ev.Kind, ev.Record.Key, ev.Record.Revision, rev)
		}
	}
}

// TestPostgresWatchOtherStore: a watch is notified of the writes of
// another Store (another process) of the same table.
func TestPostgresWatchOtherStore(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	ctx := t.Context()
	a, err := sqlstore.Open(ctx, sqlstore.Postgres, dsn, sqlstore.Options{PollInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := sqlstore.Open(ctx, sqlstore.Postgres, dsn, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ch, err := a.Watch(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, ch); ev.Kind != store.EventSynced {
		t.Fatalf("first event %v, want EventSynced", ev.Kind)
	}
	start := time.Now()
	rev, err := b.Put(ctx, "k", []byte("v"), store.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, ch); ev.Kind != store.EventPut || ev.Record.Revision != rev {
		t.Fatalf("event %v %q revision %d, want put k revision %d", ev.Kind, ev.Record.Key, ev.Record.Revision, rev)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the change took %v to reach the other store's watch (poll interval 1 h: is it notified?)", d)
	}
}

// TestPostgresOpenDB: a store on a *sql.DB of pgx's stdlib driver,
// whose watches are notified through the driver's connection.
func TestPostgresOpenDB(t *testing.T) {
	t.Parallel()
	db, err := sql.Open("pgx", pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := t.Context()
	s, err := sqlstore.OpenDB(ctx, sqlstore.Postgres, db, sqlstore.Options{PollInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ch, err := s.Watch(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, ch); ev.Kind != store.EventSynced {
		t.Fatalf("first event %v, want EventSynced", ev.Kind)
	}
	// Another writer of the table, so that only a notification wakes the
	// watch.
	other, err := sqlstore.OpenDB(ctx, sqlstore.Postgres, db, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	rev, err := other.Put(ctx, "k", []byte("v"), store.PutOptions{TTL: time.Hour, Fence: 3})
	if err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, ch); ev.Kind != store.EventPut || ev.Record.Revision != rev || ev.Record.Fence != 3 || ev.Record.Expires.IsZero() {
		t.Fatalf("event %+v, want put k revision %d fence 3 with an expiry", ev, rev)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.PingContext(ctx); err != nil {
		t.Fatalf("Close closed the caller's database: %v", err)
	}
}

// TestPostgresSchemaVersion: a table whose version the program does not
// know stops the store from starting, with a message naming the table.
func TestPostgresSchemaVersion(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	ctx := t.Context()
	s, err := sqlstore.Open(ctx, sqlstore.Postgres, dsn, sqlstore.Options{Name: "orders"})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("UPDATE wego_store_tables SET version = 7 WHERE name = 'orders'"); err != nil {
		t.Fatal(err)
	}
	_, err = sqlstore.Open(ctx, sqlstore.Postgres, dsn, sqlstore.Options{Name: "orders"})
	if err == nil || !strings.Contains(err.Error(), `table "orders" has schema version 7`) {
		t.Fatalf("Open of a table at version 7: %v, want an error naming the table and its version", err)
	}
}

// TestPostgresConcurrentOpen: stores of many processes creating the same
// tables at once do not trip on each other.
func TestPostgresConcurrentOpen(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	errc := make(chan error, 8)
	for range 8 {
		go func() {
			s, err := sqlstore.Open(t.Context(), sqlstore.Postgres, dsn, sqlstore.Options{})
			if err == nil {
				_, err = s.Put(t.Context(), "k", []byte("v"), store.PutOptions{})
				s.Close()
			}
			errc <- err
		}()
	}
	for range 8 {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
}

// TestPostgresTrimWithoutGap: a watch that has read everything is not
// reset when the history is trimmed, even past revisions that failed
// conditional writes took without leaving a change, and even when the
// trim comes before the watch's hub has read those revisions (it polls
// only every hour here, so that it learns of them from the next change).
func TestPostgresTrimWithoutGap(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, err := sqlstore.Open(ctx, sqlstore.Postgres, pgtest.DSN(t), sqlstore.Options{History: 100 * time.Millisecond, PollInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rev, err := s.Put(ctx, "k", []byte("v"), store.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ch, err := s.Watch(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []store.EventKind{store.EventPut, store.EventSynced} {
		if ev := nextEvent(t, ch); ev.Kind != want {
			t.Fatalf("event %v, want %v", ev.Kind, want)
		}
	}
	for range 3 { // failed conditions: revisions taken, no change
		if _, err := s.Put(ctx, "k", []byte("x"), store.PutOptions{IfRevision: rev + 100}); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("Put with a stale revision: %v", err)
		}
	}
	time.Sleep(2 * time.Second) // the sweeper trims everything older than 100 ms
	next, err := s.Put(ctx, "k", []byte("w"), store.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, ch); ev.Kind != store.EventPut || ev.Record.Revision != next {
		t.Fatalf("after an idle trim, event %v %q revision %d, want put k revision %d", ev.Kind, ev.Record.Key, ev.Record.Revision, next)
	}
}
