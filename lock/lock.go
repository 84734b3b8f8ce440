package lock

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/store"
)

// The errors of the package. Each is an errs definition, so that the error
// a lock returns has a code, a kind and a localized message, and matches
// its definition with [errors.Is]. Invalid names and time-to-lives are
// [store.ErrInvalid] errors naming the field; a store that fails gives its
// own errors ([store.ErrUnavailable], [store.ErrClosed], ...).
var (
	// ErrHeld: the lock is held by another lease. TryAcquire returns it at
	// once; Acquire returns it, wrapping the context's error, when its
	// context ends while the lock is still held.
	ErrHeld = errs.Define("lock.held", errs.KindConflict,
		"Lock {{.name}} is held by someone else.")
	// ErrLost: the lease no longer holds its lock: its time-to-live passed
	// without a refresh, another holder has taken the lock since, or the
	// lease was released.
	ErrLost = errs.Define("lock.lost", errs.KindConflict,
		"Lock {{.name}} is no longer held: it expired, was taken over or was released.")
)

// The key prefixes of locks and elections: keys that start with "_" are
// reserved for WeGO (store.ValidKey).
const (
	lockPrefix   = "_lock."
	leaderPrefix = "_leader."
)

// tokenMeta is the metadata key of an election record that holds the
// term's fencing token once the term has been refreshed (the record's
// revision is the token until then).
const tokenMeta = "token"

// Locker takes locks and runs elections on one store. It is safe for
// concurrent use, holds no resources of its own, and needs no closing.
type Locker struct {
	s     store.Store
	owner []byte
	watch bool // the store claims Features.Watch
}

// Option configures a [Locker].
type Option interface{ apply(*Locker) }

type optionFunc func(*Locker)

func (f optionFunc) apply(l *Locker) { f(l) }

// WithOwner sets the value of the lock records that the locker's leases
// write, which tells an operator who holds a lock. Default: the host
// name, the process id and a random suffix, as in "web-1-4242-9f86d081".
func WithOwner(owner string) Option {
	return optionFunc(func(l *Locker) {
		if owner != "" {
			l.owner = []byte(owner)
		}
	})
}

// New returns a locker that keeps its locks in s. The store must have
// time-to-lives (store.Features.TTL); without them a lock whose holder
// dies would be held for ever, so acquisitions fail with an error matching
// [store.ErrUnsupported]. Acquire waits for a held lock through
// store.Store.Watch when the store has it, and polls otherwise.
func New(s store.Store, opts ...Option) *Locker {
	l := &Locker{s: s, watch: s.Features().Watch}
	for _, o := range opts {
		o.apply(l)
	}
	if l.owner == nil {
		l.owner = []byte(defaultOwner())
	}
	return l
}

func defaultOwner() string {
	host, _ := os.Hostname()
	if host == "" {
		host = "process"
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return host + "-" + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(b[:])
}

// Acquire takes the lock name for ttl, waiting while another lease holds
// it, and returns the lease. The lease is held until it is released, or
// until ttl passes without a [Lease.Refresh] (see [Lease.KeepAlive]).
//
// Acquire waits until the lock is taken or ctx ends; it retries while the
// store is unavailable. When ctx ends first, the error matches [ErrHeld]
// and ctx's error if the lock was held, or is the store's last error.
// A name that is not a valid store key, or a ttl that is not positive, is
// an error matching [store.ErrInvalid] that names the field.
//
// An acquisition whose outcome is unknown (the store took the write but
// its answer was lost) leaves the lock held until ttl passes.
func (l *Locker) Acquire(ctx context.Context, name string, ttl time.Duration) (*Lease, error) {
	return l.acquire(ctx, lockPrefix, name, l.owner, ttl, true)
}

// TryAcquire takes the lock name for ttl if no lease holds it, and
// otherwise returns at once an error matching [ErrHeld]. Its other errors
// are Acquire's.
func (l *Locker) TryAcquire(ctx context.Context, name string, ttl time.Duration) (*Lease, error) {
	return l.acquire(ctx, lockPrefix, name, l.owner, ttl, false)
}

func (l *Locker) acquire(ctx context.Context, prefix, name string, value []byte, ttl time.Duration, wait bool) (*Lease, error) {
	if err := checkArgs(name, ttl); err != nil {
		return nil, err
	}
	if !l.s.Features().TTL {
		return nil, store.ErrUnsupported.New().WithCause(errors.New("lock: the store has no time-to-lives, which locks need"))
	}
	key := prefix + name
	rctx := store.WithReservedKeys(ctx)
	start := time.Now()
	rev, err := l.s.Put(rctx, key, value, store.PutOptions{Create: true, TTL: ttl})
	if err == nil {
		return newLease(l, name, key, value, ttl, rev, start), nil
	}
	if !wait || !errors.Is(err, store.ErrConflict) && !transient(err) {
		return nil, heldOr(err, name)
	}
	return l.wait(rctx, name, key, value, ttl, err)
}

func checkArgs(name string, ttl time.Duration) error {
	if !store.ValidKey(name) {
		err := store.CheckKey(name).(*errs.Error)
		reason, _ := err.Param("reason")
		return store.ErrInvalid.New(errs.P("field", "name"), errs.P("reason", reason))
	}
	if ttl <= 0 {
		return store.ErrInvalid.New(errs.P("field", "ttl"), errs.P("reason", "must be positive, got "+ttl.String()))
	}
	return nil
}

// heldOr returns ErrHeld for a conflict and err otherwise.
func heldOr(err error, name string) error {
	if errors.Is(err, store.ErrConflict) {
		return ErrHeld.Wrap(err, errs.P("name", name))
	}
	return err
}

// transient reports whether a failed write may succeed if tried again: the
// store is unreachable for now (but not closed).
func transient(err error) bool {
	return errors.Is(err, store.ErrUnavailable) && !errors.Is(err, store.ErrClosed)
}

// Lease is one holding of a lock, from its acquisition until it is
// released or lost. Its methods are safe for concurrent use.
type Lease struct {
	l     *Locker
	name  string
	key   string
	value []byte
	ttl   time.Duration
	token uint64
	meta  map[string]string // written by refreshes: the token, for elections

	op sync.Mutex // serializes Refresh and Release

	mu       sync.Mutex
	state    leaseState
	rev      uint64    // revision of the lease's last write of its record
	deadline time.Time // when the lease ends unless refreshed, on this host's clock
	timer    *time.Timer
	lost     chan struct{} // closed when state leaves held
	keep     chan struct{} // closed when the KeepAlive goroutine ends; nil if none started
}

type leaseState uint8

const (
	held leaseState = iota
	lost
	released
)

// newLease returns the lease of a record written at revision rev by a
// write that started at start: the store counts the time-to-live from
// when it took the write, which is after start, so the lease ends on this
// host no later than its record in the store.
func newLease(l *Locker, name, key string, value []byte, ttl time.Duration, rev uint64, start time.Time) *Lease {
	ls := &Lease{
		l: l, name: name, key: key, value: value, ttl: ttl, token: rev,
		rev: rev, deadline: start.Add(ttl), lost: make(chan struct{}),
	}
	if strings.HasPrefix(key, leaderPrefix) {
		ls.meta = map[string]string{tokenMeta: strconv.FormatUint(rev, 10)}
	}
	ls.mu.Lock()
	ls.timer = time.AfterFunc(time.Until(ls.deadline), ls.expire)
	ls.mu.Unlock()
	return ls
}

// Name returns the name of the lease's lock.
func (ls *Lease) Name() string { return ls.name }

// Token returns the lease's fencing token: the store's revision of the
// write that took the lock. Every later lease of the store has a larger
// token. Pass it as [store.PutOptions.Fence] (or DeleteOptions.Fence) to
// every write of the records the lock protects, so that the store rejects
// the writes this lease makes after a newer holder has written.
func (ls *Lease) Token() uint64 { return ls.token }

// Lost returns a channel that is closed when the lease ends: its
// time-to-live passed without a refresh (measured on this host's clock,
// from before the write that took or refreshed the lock), a refresh found
// the lock taken or gone, or the lease was released. A holder stops
// working on what the lock protects when it is closed; it cannot count on
// noticing in time (a paused process notices late), which is what fencing
// tokens are for.
func (ls *Lease) Lost() <-chan struct{} { return ls.lost }

// expire ends the lease if its deadline has passed; the timer calls it.
func (ls *Lease) expire() {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.state != held {
		return
	}
	if d := time.Until(ls.deadline); d > 0 {
		ls.timer.Reset(d) // a refresh moved the deadline while the timer fired
		return
	}
	ls.end(lost)
}

// end moves a held lease to state s. The caller holds ls.mu.
func (ls *Lease) end(s leaseState) {
	if ls.state != held {
		if s == released {
			ls.state = released
		}
		return
	}
	ls.state = s
	ls.timer.Stop()
	close(ls.lost)
}

// Refresh extends the lease by its time-to-live from now, with one
// compare-and-set write of its record. When the lock is no longer the
// lease's (it expired, or was taken since), Refresh returns an error
// matching [ErrLost] and [Lease.Lost] is closed. Any other error (the
// store is unreachable) leaves the lease as it was, until its time-to-live
// passes.
func (ls *Lease) Refresh(ctx context.Context) error {
	ls.op.Lock()
	defer ls.op.Unlock()
	ls.mu.Lock()
	state, rev := ls.state, ls.rev
	ls.mu.Unlock()
	if state != held {
		return ls.errLost(nil)
	}
	rctx := store.WithReservedKeys(ctx)
	start := time.Now()
	rev, err := ls.l.s.Put(rctx, ls.key, ls.value, store.PutOptions{IfRevision: rev, TTL: ls.ttl, Metadata: ls.meta})
	if err != nil {
		if errors.Is(err, store.ErrConflict) {
			ls.mu.Lock()
			ls.end(lost)
			ls.mu.Unlock()
			return ls.errLost(err)
		}
		return err
	}
	ls.mu.Lock()
	if ls.state != held {
		// The lease ended on this host while the write was on its way: it
		// stays lost; free the lock for the others.
		ls.mu.Unlock()
		_ = ls.l.s.Delete(rctx, ls.key, store.DeleteOptions{IfRevision: rev})
		return ls.errLost(nil)
	}
	ls.rev = rev
	ls.deadline = start.Add(ls.ttl)
	ls.timer.Reset(time.Until(ls.deadline))
	ls.mu.Unlock()
	return nil
}

// Release gives the lock up with one conditional delete of its record,
// which never deletes the record of a newer holder, and closes
// [Lease.Lost]. If the lease had been lost before, Release returns an
// error matching [ErrLost], so that its holder learns that its work may
// have overlapped another holder's. If the store cannot be reached,
// Release returns its error and the lease stays as it was: call Release
// again, or let its time-to-live pass. Releasing a released lease does
// nothing. Release stops the lease's KeepAlive and waits for it to end.
func (ls *Lease) Release(ctx context.Context) error {
	ls.op.Lock()
	ls.mu.Lock()
	state, rev := ls.state, ls.rev
	ls.mu.Unlock()
	var err error
	if state != released {
		// A lost lease's record may still be in the store (which rounds
		// time-to-lives up): delete it if it is still this lease's.
		err = ls.l.s.Delete(store.WithReservedKeys(ctx), ls.key, store.DeleteOptions{IfRevision: rev})
		switch {
		case state == lost:
			err = ls.errLost(nil)
		case errors.Is(err, store.ErrConflict):
			err = ls.errLost(err)
		case err != nil:
			ls.op.Unlock()
			return err
		}
	}
	ls.mu.Lock()
	ls.end(released)
	keep := ls.keep
	ls.mu.Unlock()
	ls.op.Unlock()
	if keep != nil {
		<-keep
	}
	return err
}

func (ls *Lease) errLost(cause error) error {
	if cause == nil {
		return ErrLost.New(errs.P("name", ls.name))
	}
	return ErrLost.Wrap(cause, errs.P("name", ls.name))
}

// KeepAlive refreshes the lease in the background, a third of its
// time-to-live after each refresh and sooner after a failed one, until ctx
// ends, the lease is released, or it is lost ([Lease.Lost] is closed). A
// lease has at most one KeepAlive: later calls do nothing.
func (ls *Lease) KeepAlive(ctx context.Context) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.keep != nil || ls.state != held {
		return
	}
	done := make(chan struct{})
	ls.keep = done
	go ls.keepAlive(ctx, done)
}

func (ls *Lease) keepAlive(ctx context.Context, done chan struct{}) {
	defer close(done)
	every := ls.ttl / 3
	retry := max(ls.ttl/20, time.Millisecond)
	t := time.NewTimer(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ls.lost:
			return
		case <-t.C:
		}
		err := ls.Refresh(ctx)
		switch {
		case err == nil:
			t.Reset(every)
		case errors.Is(err, ErrLost):
			return
		default:
			t.Reset(jitter(retry))
		}
	}
}
