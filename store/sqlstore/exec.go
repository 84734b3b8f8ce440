package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The store runs its statements through an executor: database/sql (SQLite,
// and PostgreSQL given as a *sql.DB) or a pgx pool (PostgreSQL given as a
// DSN), which spares database/sql's layer on the hot path (a Get through
// database/sql and pgx's stdlib costs 25 allocations, through the pool 8).

// row is one row of a query.
type row interface {
	Scan(dest ...any) error
}

// rows are the rows of a query; Close ends it.
type rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// querier runs statements.
type querier interface {
	queryRow(ctx context.Context, query string, args ...any) row
	query(ctx context.Context, query string, args ...any) (rows, error)
	exec(ctx context.Context, query string, args ...any) error
}

// executor is a querier over a pool of connections.
type executor interface {
	querier
	// tx runs fn in a transaction: a read-only snapshot (every query of
	// fn sees the same committed state), or a write transaction that
	// takes the database's write lock first (SQLite: BEGIN IMMEDIATE).
	tx(ctx context.Context, readOnly bool, fn func(querier) error) error
	// listen waits on channel (LISTEN) on a connection of its own and
	// calls notify with each payload, and ready once it listens, until
	// ctx ends or the connection fails. It returns errNoListen when the
	// database cannot notify.
	listen(ctx context.Context, channel string, ready func(), notify func(payload string)) error
	// isNoRows reports whether err says that a queryRow found no row.
	isNoRows(err error) bool
	close()
}

var errNoListen = errors.New("sqlstore: the database does not notify")

// sqlExec runs statements through database/sql, the store's frequent
// ones prepared.
type sqlExec struct {
	db       *sql.DB
	dialect  Dialect
	owned    bool                 // the store opened db and closes it
	prepared map[string]*sql.Stmt // read-only after prepare
}

// prepare prepares the statements qs.
func (x *sqlExec) prepare(ctx context.Context, qs ...string) error {
	x.prepared = make(map[string]*sql.Stmt, len(qs))
	for _, q := range qs {
		if _, ok := x.prepared[q]; ok {
			continue
		}
		st, err := x.db.PrepareContext(ctx, q)
		if err != nil {
			return err
		}
		x.prepared[q] = st
	}
	return nil
}

type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { _ = r.Rows.Close() }

func (x *sqlExec) queryRow(ctx context.Context, query string, args ...any) row {
	if st := x.prepared[query]; st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return x.db.QueryRowContext(ctx, query, args...)
}

func (x *sqlExec) query(ctx context.Context, query string, args ...any) (rows, error) {
	var rs *sql.Rows
	var err error
	if st := x.prepared[query]; st != nil {
		rs, err = st.QueryContext(ctx, args...)
	} else {
		rs, err = x.db.QueryContext(ctx, query, args...)
	}
	if err != nil {
		return nil, err
	}
	return sqlRows{rs}, nil
}

func (x *sqlExec) exec(ctx context.Context, query string, args ...any) error {
	var err error
	if st := x.prepared[query]; st != nil {
		_, err = st.ExecContext(ctx, args...)
	} else {
		_, err = x.db.ExecContext(ctx, query, args...)
	}
	return err
}

func (x *sqlExec) isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

func (x *sqlExec) close() {
	for _, st := range x.prepared {
		_ = st.Close()
	}
	if x.owned {
		_ = x.db.Close()
	}
}

// sqlTx runs statements in a database/sql transaction.
type sqlTx struct{ tx *sql.Tx }

func (t sqlTx) queryRow(ctx context.Context, query string, args ...any) row {
	return t.tx.QueryRowContext(ctx, query, args...)
}

func (t sqlTx) query(ctx context.Context, query string, args ...any) (rows, error) {
	rs, err := t.tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rs}, nil
}

func (t sqlTx) exec(ctx context.Context, query string, args ...any) error {
	_, err := t.tx.ExecContext(ctx, query, args...)
	return err
}

func (x *sqlExec) tx(ctx context.Context, readOnly bool, fn func(querier) error) error {
	opts := &sql.TxOptions{ReadOnly: readOnly}
	if x.dialect == Postgres && readOnly {
		opts.Isolation = sql.LevelRepeatableRead
	}
	if x.dialect == SQLite && !readOnly {
		return x.immediate(ctx, fn)
	}
	tx, err := x.db.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	if err := fn(sqlTx{tx}); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// immediate runs fn in an SQLite transaction begun with BEGIN IMMEDIATE,
// which takes the write lock first (waiting for it under busy_timeout),
// whatever the _txlock of the database's DSN.
func (x *sqlExec) immediate(ctx context.Context, fn func(querier) error) error {
	conn, err := x.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	if err := fn(connQuerier{conn}); err != nil {
		if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); rerr != nil {
			// Do not return a connection in a transaction to the pool.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		return err
	}
	if _, err := conn.ExecContext(context.WithoutCancel(ctx), "COMMIT"); err != nil {
		if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); rerr != nil {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		return err
	}
	return nil
}

// connQuerier runs statements on one database/sql connection.
type connQuerier struct{ c *sql.Conn }

func (q connQuerier) queryRow(ctx context.Context, query string, args ...any) row {
	return q.c.QueryRowContext(ctx, query, args...)
}

func (q connQuerier) query(ctx context.Context, query string, args ...any) (rows, error) {
	rs, err := q.c.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rs}, nil
}

func (q connQuerier) exec(ctx context.Context, query string, args ...any) error {
	_, err := q.c.ExecContext(ctx, query, args...)
	return err
}

// listen needs a pgx connection under database/sql (pgx's stdlib driver).
func (x *sqlExec) listen(ctx context.Context, channel string, ready func(), notify func(string)) error {
	if x.dialect != Postgres {
		return errNoListen
	}
	conn, err := x.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		pc, ok := dc.(interface{ Conn() *pgx.Conn })
		if !ok {
			return errNoListen
		}
		err := listenOn(ctx, pc.Conn(), channel, ready, notify)
		if ctx.Err() == nil {
			return errors.Join(err, driver.ErrBadConn) // the connection is not fit for the pool
		}
		// Ended by ctx: the connection may still be listening.
		_, uerr := pc.Conn().Exec(context.Background(), "UNLISTEN *")
		if uerr != nil {
			return driver.ErrBadConn
		}
		return err
	})
}

// pgxExec runs statements through a pgx pool.
type pgxExec struct {
	pool  *pgxpool.Pool
	owned bool
}

func (x *pgxExec) queryRow(ctx context.Context, query string, args ...any) row {
	return x.pool.QueryRow(ctx, query, args...)
}

func (x *pgxExec) query(ctx context.Context, query string, args ...any) (rows, error) {
	rs, err := x.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return rs, nil
}

func (x *pgxExec) exec(ctx context.Context, query string, args ...any) error {
	_, err := x.pool.Exec(ctx, query, args...)
	return err
}

func (x *pgxExec) isNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

func (x *pgxExec) close() {
	if x.owned {
		x.pool.Close()
	}
}

// pgxTx runs statements in a pgx transaction.
type pgxTx struct{ tx pgx.Tx }

func (t pgxTx) queryRow(ctx context.Context, query string, args ...any) row {
	return t.tx.QueryRow(ctx, query, args...)
}

func (t pgxTx) query(ctx context.Context, query string, args ...any) (rows, error) {
	rs, err := t.tx.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return rs, nil
}

func (t pgxTx) exec(ctx context.Context, query string, args ...any) error {
	_, err := t.tx.Exec(ctx, query, args...)
	return err
}

func (x *pgxExec) tx(ctx context.Context, readOnly bool, fn func(querier) error) error {
	opts := pgx.TxOptions{}
	if readOnly {
		opts = pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
	}
	tx, err := x.pool.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	if err := fn(pgxTx{tx}); err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return err
	}
	return tx.Commit(ctx)
}

// listen listens on a connection of its own, outside the pool, so that
// a listener never holds one of the pool's connections.
func (x *pgxExec) listen(ctx context.Context, channel string, ready func(), notify func(string)) error {
	conn, err := pgx.ConnectConfig(ctx, x.pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return listenOn(ctx, conn, channel, ready, notify)
}

// listenOn runs LISTEN on conn and waits for notifications.
func listenOn(ctx context.Context, conn *pgx.Conn, channel string, ready func(), notify func(string)) error {
	if _, err := conn.Exec(ctx, "LISTEN "+quoteIdent(channel)); err != nil {
		return err
	}
	ready()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		notify(n.Payload)
	}
}
