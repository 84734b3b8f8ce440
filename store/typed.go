package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"reflect"
	"time"

	"github.com/wegomesh/wego/codec"
	errs "github.com/wegomesh/wego/err"
)

// ErrUndecodable: a stored value is not the JSON of the type that a
// [Typed] store reads (another program wrote the key, or the type changed
// incompatibly). It is an internal error: the data, not the caller, is
// wrong.
var ErrUndecodable = errs.Define("store.undecodable", errs.KindInternal,
	"Record {{.key}} does not hold a valid value of its type.")

// DefaultUpdateAttempts is how many times [Typed.Update] reads and tries
// to write before it gives up with [ErrConflict].
const DefaultUpdateAttempts = 100

// Typed reads and writes values of type T, as JSON, in a [Store]: the way
// application code keeps its own structs.
//
//	orders := store.NewTyped[Order](s)
//	o, rec, err := orders.Get(ctx, "orders/42")
//	...
//	_, err = orders.Put(ctx, "orders/42", o, store.PutOptions{IfRevision: rec.Revision})
//
// Values are encoded with encoding/json's rules (in one pass, without
// encoding/json, for flat structs of strings, integers and booleans) and
// without HTML escaping. They are decoded with encoding/json, which
// ignores keys that T has no field for: records written by an older or a
// newer version of T decode, so that a rolling upgrade that adds a field
// does not break the instances that do not know it yet. A stored value
// that is not the JSON of a T fails with [ErrUndecodable], naming the key.
//
// A Typed is safe for concurrent use.
type Typed[T any] struct {
	store    Store
	plan     *codec.Plan
	attempts int
}

// NewTyped returns a typed view of s for values of type T.
func NewTyped[T any](s Store) *Typed[T] {
	var plan *codec.Plan
	if t := reflect.TypeFor[T](); t.Kind() == reflect.Struct {
		plan = codec.PlanOf(t)
	}
	return &Typed[T]{store: s, plan: plan, attempts: DefaultUpdateAttempts}
}

// WithUpdateAttempts returns a copy of t whose Update tries n times
// (at least 1) before it gives up.
func (t *Typed[T]) WithUpdateAttempts(n int) *Typed[T] {
	c := *t
	c.attempts = max(n, 1)
	return &c
}

// Store returns the store that t reads and writes.
func (t *Typed[T]) Store() Store { return t.store }

// Item is one record of a [Typed] store with its value decoded. The
// embedded Record gives the key, revision, expiry, metadata and fence;
// Item's Value, the decoded value, hides the record's bytes, which stay
// in Record.Value.
type Item[T any] struct {
	Record
	// Value is the record's value, decoded.
	Value T
}

// Get returns the value of key, decoded, and the record it was read from
// (its Revision is the one to pass to a compare-and-set). A missing key
// fails with [ErrNotFound].
func (t *Typed[T]) Get(ctx context.Context, key string) (T, Record, error) {
	var v T
	r, err := t.store.Get(ctx, key)
	if err != nil {
		return v, r, err
	}
	err = t.decode(r, &v)
	return v, r, err
}

// Put encodes v and writes it under key, with the conditions and
// attributes of opts, and returns the revision of the write.
func (t *Typed[T]) Put(ctx context.Context, key string, v T, opts PutOptions) (uint64, error) {
	data, err := t.encode(&v)
	if err != nil {
		return 0, err
	}
	return t.store.Put(ctx, key, data, opts)
}

// Update changes the value of key with fn, with compare-and-set: it reads
// the value (the zero T when the key does not exist), calls fn with it,
// and writes the result only if nobody wrote the key in between; if
// somebody did, it reads again and calls fn again. So fn may run more than
// once and must only change the value it is given. An error from fn stops
// Update, which returns it and writes nothing.
//
// Update returns the value written and its revision. It gives up with an
// error matching [ErrConflict] after DefaultUpdateAttempts tries (see
// [Typed.WithUpdateAttempts]), and with ctx's error when ctx ends while it
// waits to try again. The record written keeps the metadata of the one
// read, and has no expiry: use Get and Put with IfRevision to keep one.
// To tell a missing key from a zero value, use [Typed.UpdateExisting].
func (t *Typed[T]) Update(ctx context.Context, key string, fn func(*T) error) (T, uint64, error) {
	return t.update(ctx, key, fn, true)
}

// UpdateExisting is [Typed.Update] for a key that must exist: when the
// key is missing, or deleted before the write, it fails with an error
// matching [ErrNotFound] without calling fn on a zero T, and never
// creates the key. It spares a Get before Update to tell a missing
// record from a zero one.
func (t *Typed[T]) UpdateExisting(ctx context.Context, key string, fn func(*T) error) (T, uint64, error) {
	return t.update(ctx, key, fn, false)
}

// update is Update, which creates a missing key when create is set, and
// UpdateExisting.
func (t *Typed[T]) update(ctx context.Context, key string, fn func(*T) error, create bool) (T, uint64, error) {
	var zero T
	var err error
	for attempt := range t.attempts {
		if attempt > 0 {
			if err := backoff(ctx, attempt); err != nil {
				return zero, 0, err
			}
		}
		var v T
		r, gerr := t.store.Get(ctx, key)
		opts := PutOptions{IfRevision: r.Revision, Metadata: r.Metadata}
		switch {
		case errors.Is(gerr, ErrNotFound) && create:
			opts = PutOptions{Create: true}
		case gerr != nil:
			return zero, 0, gerr
		default:
			if err := t.decode(r, &v); err != nil {
				return zero, 0, err
			}
		}
		if err := fn(&v); err != nil {
			return zero, 0, err
		}
		data, eerr := t.encode(&v)
		if eerr != nil {
			return zero, 0, eerr
		}
		var rev uint64
		rev, err = t.store.Put(ctx, key, data, opts)
		if err == nil {
			return v, rev, nil
		}
		if !errors.Is(err, ErrConflict) {
			return zero, 0, err
		}
	}
	return zero, 0, err
}

// backoff waits before the attempt-th retry of a compare-and-set: not at
// all for the first few, then a random time that grows to 10 ms, so that
// writers that keep colliding spread out.
func backoff(ctx context.Context, attempt int) error {
	if attempt < 4 {
		return ctx.Err()
	}
	d := time.Duration(rand.Int64N(int64(min(attempt, 100)) * int64(100*time.Microsecond)))
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Delete removes key if the conditions of opts hold.
func (t *Typed[T]) Delete(ctx context.Context, key string, opts DeleteOptions) error {
	return t.store.Delete(ctx, key, opts)
}

// List returns the records under prefix with their values decoded,
// ordered as opts says. A value that does not decode fails the whole
// List with [ErrUndecodable].
func (t *Typed[T]) List(ctx context.Context, prefix string, opts ListOptions) ([]Item[T], error) {
	rs, err := t.store.List(ctx, prefix, opts)
	if err != nil {
		return nil, err
	}
	items := make([]Item[T], len(rs))
	for i, r := range rs {
		items[i].Record = r
		if err := t.decode(r, &items[i].Value); err != nil {
			return nil, err
		}
	}
	return items, nil
}

func (t *Typed[T]) decode(r Record, v *T) error {
	if err := json.Unmarshal(r.Value, v); err != nil {
		return ErrUndecodable.New(errs.P("key", r.Key)).WithCause(err)
	}
	return nil
}

func (t *Typed[T]) encode(v *T) ([]byte, error) {
	if t.plan != nil {
		if data, ok := t.plan.EncodeUnescaped(nil, v); ok {
			return data[:len(data)-1], nil // without json.Encoder's newline
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, ErrInvalid.New(errs.P("field", "value"), errs.P("reason", "cannot be encoded as JSON")).WithCause(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
