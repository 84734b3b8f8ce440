package lock

import (
	"context"
	"errors"
	"strconv"
	"time"

	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/store"
)

// observePoll is how often Observe reads the leader of a store without
// watches.
const observePoll = 250 * time.Millisecond

// Leader is who leads an election: the id its leader campaigned with, and
// the fencing token of its term. The zero Leader means that no one leads.
type Leader struct {
	// ID is the leader's id, as given to [Locker.Campaign].
	ID string
	// Token is the fencing token of the leader's term ([Term.Token]).
	Token uint64
}

// Term is a candidate's time as the leader of an election, from the
// [Locker.Campaign] that won it until it resigns or loses it. Its methods
// are safe for concurrent use.
type Term struct {
	lease *Lease
	id    string
}

// Campaign blocks until id leads the election name, and returns its term.
// The term lasts until it resigns ([Term.Resign]) or loses its lease
// ([Term.Lost]): a goroutine refreshes it a third of ttl after each
// refresh, so that another candidate takes over within ttl of this
// process's death or pause. ctx bounds the campaign only, not the term.
//
// Campaign's errors are [Locker.Acquire]'s; an empty id is an error
// matching [store.ErrInvalid] whose field is "id".
func (l *Locker) Campaign(ctx context.Context, name, id string, ttl time.Duration) (*Term, error) {
	if id == "" {
		return nil, store.ErrInvalid.New(errs.P("field", "id"), errs.P("reason", "is empty"))
	}
	ls, err := l.acquire(ctx, leaderPrefix, name, []byte(id), ttl, true)
	if err != nil {
		return nil, err
	}
	ls.KeepAlive(context.Background())
	return &Term{lease: ls, id: id}, nil
}

// ID returns the id the term's leader campaigned with.
func (t *Term) ID() string { return t.id }

// Token returns the term's fencing token (see [Lease.Token]): a leader
// passes it with the writes that only the leader may make, so that a
// deposed leader's late writes are rejected.
func (t *Term) Token() uint64 { return t.lease.Token() }

// Lost returns a channel that is closed when the term ends: its lease
// could not be refreshed within its time-to-live, another candidate has
// taken over, or it resigned.
func (t *Term) Lost() <-chan struct{} { return t.lease.Lost() }

// Resign ends the term, so that another candidate can take over at once,
// and stops its refreshes. Its errors are [Lease.Release]'s: an error
// matching [ErrLost] says that the term had already ended.
func (t *Term) Resign(ctx context.Context) error { return t.lease.Release(ctx) }

// Leader returns who leads the election name, or the zero Leader when no
// one does.
func (l *Locker) Leader(ctx context.Context, name string) (Leader, error) {
	if err := checkArgs(name, 1); err != nil {
		return Leader{}, err
	}
	rec, err := l.s.Get(store.WithReservedKeys(ctx), leaderPrefix+name)
	if errors.Is(err, store.ErrNotFound) {
		return Leader{}, nil
	}
	if err != nil {
		return Leader{}, err
	}
	return leaderOf(rec), nil
}

// Observe reports who leads the election name: the current leader (the
// zero Leader when no one leads) and then each change, until ctx ends,
// when the channel closes. A receiver that falls behind gets the latest
// leader, not every one in between. Observe follows the store's watch of
// the election, or reads it four times a second when the store has no
// watches.
func (l *Locker) Observe(ctx context.Context, name string) (<-chan Leader, error) {
	if err := checkArgs(name, 1); err != nil {
		return nil, err
	}
	key := leaderPrefix + name
	rctx := store.WithReservedKeys(ctx)
	out := make(chan Leader, 1)
	if !l.watch {
		first, err := l.Leader(ctx, name)
		if err != nil {
			return nil, err
		}
		go l.poll(rctx, key, first, out)
		return out, nil
	}
	events, err := l.s.Watch(rctx, key)
	if err != nil {
		return nil, err
	}
	go observe(key, events, out)
	return out, nil
}

// observe turns the events of a watch of key into leaders on out, until
// the watch ends (its context ended).
func observe(key string, events <-chan store.Event, out chan Leader) {
	defer close(out)
	var cur, sent Leader
	synced, first := false, true
	for ev := range events {
		switch ev.Kind {
		case store.EventPut:
			if ev.Record.Key == key {
				cur = leaderOf(ev.Record)
			}
		case store.EventDelete:
			if ev.Record.Key == key {
				cur = Leader{}
			}
		case store.EventSynced:
			synced = true
		case store.EventReset:
			synced, cur = false, Leader{}
		}
		if synced && (first || cur != sent) {
			publish(out, cur)
			sent, first = cur, false
		}
	}
}

// poll reads the leader of key every observePoll into out until ctx ends.
func (l *Locker) poll(ctx context.Context, key string, cur Leader, out chan Leader) {
	defer close(out)
	publish(out, cur)
	t := time.NewTicker(observePoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var next Leader
		rec, err := l.s.Get(ctx, key)
		switch {
		case err == nil:
			next = leaderOf(rec)
		case !errors.Is(err, store.ErrNotFound):
			continue // unreachable for now: keep the last known leader
		}
		if next != cur {
			cur = next
			publish(out, cur)
		}
	}
}

// publish puts ld in out, replacing a leader the receiver has not taken.
// Only one goroutine sends on out.
func publish(out chan Leader, ld Leader) {
	select {
	case <-out:
	default:
	}
	out <- ld
}

// leaderOf returns the leader that an election record names: its token is
// the revision of the record's creation, which refreshes keep in its
// metadata.
func leaderOf(rec store.Record) Leader {
	ld := Leader{ID: string(rec.Value), Token: rec.Revision}
	if t, err := strconv.ParseUint(rec.Metadata[tokenMeta], 10, 64); err == nil {
		ld.Token = t
	}
	return ld
}
