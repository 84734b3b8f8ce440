package lock

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/store"
)

// wait takes the lock name (record key) for a caller that found it held
// (or the store unavailable, err): it watches the key when the store can
// and tries again when the record is deleted or expires, and otherwise
// polls with a jittered backoff capped at a fraction of ttl. It returns
// when the lock is taken, ctx ends, or the store fails for good.
func (l *Locker) wait(ctx context.Context, name, key string, value []byte, ttl time.Duration, err error) (*Lease, error) {
	var events <-chan store.Event
	if l.watch {
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		if ch, werr := l.s.Watch(wctx, key); werr == nil {
			events = ch
		}
	}
	b := newBackoff(ttl)
	// With a watch, a try waits for the record to go (present false once
	// the watch has synced); the timer is a safety net for a backend that
	// does not report expiry, armed at the record's expiry (at most ttl
	// away, against a skewed clock), or at a fraction of ttl capped at a
	// second when that is unknown or past. Without a watch, the timer is
	// the polling schedule.
	var present, synced bool
	var expires time.Time
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	arm := func() {
		if events == nil {
			timer.Reset(b.next())
			return
		}
		d := jitter(min(ttl/2, time.Second))
		if until := time.Until(expires); until > 0 {
			d = min(until, ttl) + jitter(10*time.Millisecond)
		}
		timer.Reset(d)
	}
	arm()
	for {
		if ctx.Err() != nil {
			return nil, ctxErr(ctx, err, present, name)
		}
		try := false
		select {
		case <-ctx.Done():
			continue
		case <-timer.C:
			try = true
		case ev, ok := <-events:
			if !ok { // the watch ended (ctx, or the store closed): poll; a try will say why
				events = nil
				try = true
				break
			}
			switch ev.Kind {
			case store.EventPut:
				if ev.Record.Key == key {
					present, expires = true, ev.Record.Expires
					if synced {
						arm()
					}
				}
			case store.EventDelete:
				if ev.Record.Key == key {
					present, expires = false, time.Time{}
					try = synced
				}
			case store.EventSynced:
				synced = true
				try = !present
				if present {
					arm()
				}
			case store.EventReset:
				synced, present, expires = false, false, time.Time{}
			}
		}
		if !try {
			continue
		}
		start := time.Now()
		rev, perr := l.s.Put(ctx, key, value, store.PutOptions{Create: true, TTL: ttl})
		switch {
		case perr == nil:
			return newLease(l, name, key, value, ttl, rev, start), nil
		case errors.Is(perr, store.ErrConflict):
			present = true
		case !transient(perr):
			return nil, perr
		}
		err = perr
		arm()
	}
}

// ctxErr is Acquire's error when ctx ends while it waits, after the store
// answered last with err, and the lock's record was present or not by the
// watch.
func ctxErr(ctx context.Context, err error, present bool, name string) error {
	if present || errors.Is(err, store.ErrConflict) {
		return ErrHeld.Wrap(ctx.Err(), errs.P("name", name))
	}
	return err
}

// backoff is the polling schedule of a lock with time-to-live ttl: from
// ttl/64 (2 to 50 ms) doubling up to ttl/8 (10 ms to 1 s), each wait
// jittered.
type backoff struct{ d, max time.Duration }

func newBackoff(ttl time.Duration) backoff {
	return backoff{
		d:   min(max(ttl/64, 2*time.Millisecond), 50*time.Millisecond),
		max: min(max(ttl/8, 10*time.Millisecond), time.Second),
	}
}

// next returns the next wait and doubles the one after it.
func (b *backoff) next() time.Duration {
	d := b.d
	b.d = min(2*b.d, b.max)
	return jitter(d)
}

// jitter returns a random duration between d/2 and d.
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2)
}
