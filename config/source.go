package config

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"

	"go.uber.org/zap"
	"go.yaml.in/yaml/v3"
)

// A Source is configuration kept outside the process that changes while it
// runs, such as a NATS key-value bucket (the NATS engine's ConfigSource
// method, in package engine, makes one). [Config.Attach] lays its values
// over the files and the environment variables, below the overrides.
//
// A source holds keys and the text of their values. A key is a dotted
// configuration key, such as "log.level" or "middleware.ratelimit"; a value
// is a YAML or JSON scalar or document ("debug", "250ms",
// "{rate: 5, burst: 10}"), whose maps merge key by key with the layers below
// it, as a file's do. The package decodes and validates the values; a
// source only reads them.
type Source interface {
	// Name names the source in messages and errors, such as
	// "NATS key-value bucket wego-config".
	Name() string
	// Load returns what the source holds now: the text of each value, by
	// key.
	Load(ctx context.Context) (map[string][]byte, error)
	// Watch calls fn with each change made after the last Load, in order,
	// until ctx is done, and then returns nil; it returns an error when it
	// cannot go on. Calls of fn do not overlap and return at once; fn keeps
	// the Change, whose slices the source must not change afterwards.
	Watch(ctx context.Context, fn func(Change)) error
}

// A Change is what a [Source] reports: a key set or deleted, or a reset to
// its whole contents after it may have missed changes.
type Change struct {
	// Key is the key that changed.
	Key string
	// Value is the key's new text; nil when the key was deleted. Empty
	// text, or YAML's null, unsets the key too.
	Value []byte
	// Reset reports that the source may have missed changes (it lost its
	// place, say after a reconnect): Values then holds its whole contents,
	// which replace all it held before, and Key and Value are unused.
	Reset bool
	// Values is the source's whole contents, by key, when Reset is true.
	Values map[string][]byte
}

// Messages of the log lines of a source's changes.
const (
	msgChanged   = "config: changed"
	msgRefused   = "config: change refused; keeping the previous value"
	msgUnwatched = "config: no subscriber watches the key: code that reads it from now on sees the change, what was built from it at start-up does not"
)

// Attach lays src over the files and the environment variables of c (the
// overrides stay above it) and follows its changes until ctx is done or
// [Config.Close] is called.
//
// Attach loads src and applies its values; then each change of src is
// applied as a file change is (see [Config.Reload]): the top-level keys
// must be known and every watched section must decode and validate, or the
// change is refused. Changes apply key by key, so a refused key keeps its
// previous value and does not hold up the others, and a burst of changes
// of one key applies its last value. A refusal is logged at error level,
// naming the configuration key that is wrong and the source's key that
// changed (source_key); the subscribers of [Watch] whose section changed
// are called, one at a time, on the goroutine that follows src.
//
// Attach returns an error when src cannot be loaded, and when a source is
// attached already; it does not fail for values that are refused. A
// Config has one source at a time; a source may be attached again after
// Close.
func (c *Config) Attach(ctx context.Context, src Source) error {
	if src == nil {
		return &Error{Err: errors.New("Attach needs a source")}
	}
	name := src.Name()
	ctx, cancel := context.WithCancel(ctx)
	f := &follower{c: c, name: name, cancel: cancel, done: make(chan struct{}),
		changes: map[string][]byte{}, wake: make(chan struct{}, 1)}

	c.mu.Lock()
	if prev := c.follower; prev != nil {
		select {
		case <-prev.done:
		default:
			c.mu.Unlock()
			cancel()
			return &Error{Source: SourceDynamic + " " + name,
				Err: fmt.Errorf("a source is attached already (%s)", prev.name)}
		}
	}
	c.follower = f
	c.mu.Unlock()

	values, err := src.Load(ctx)
	if err != nil {
		cancel()
		close(f.done)
		return &Error{Source: SourceDynamic + " " + name, Err: err}
	}
	c.reloadMu.Lock()
	c.reset(name, values)
	c.reloadMu.Unlock()

	var wg sync.WaitGroup
	wg.Go(func() { f.apply(ctx) })
	wg.Go(func() {
		if err := src.Watch(ctx, f.push); err != nil && ctx.Err() == nil {
			c.logger().Error("config: the source stopped; its last values stay", zap.String("source", name), zap.Error(err))
		}
	})
	go func() {
		wg.Wait()
		close(f.done)
	}()
	return nil
}

// follower follows an attached Source: the source's goroutine pushes its
// changes, which pile up by key, and the follower's applies them.
type follower struct {
	c      *Config
	name   string
	cancel func()
	done   chan struct{} // closed when the source is no longer followed

	mu       sync.Mutex
	reset    map[string][]byte // the last reset not yet applied, when hasReset
	hasReset bool
	keys     []string          // keys changed since, in order of their first change
	changes  map[string][]byte // their last text; nil when deleted
	wake     chan struct{}     // signals pending changes
}

// push records a change of the source; it never blocks.
func (f *follower) push(ch Change) {
	f.mu.Lock()
	if ch.Reset {
		f.reset = make(map[string][]byte, len(ch.Values))
		for k, v := range ch.Values {
			f.reset[k] = bytes.Clone(v)
		}
		f.hasReset = true
		f.keys = f.keys[:0]
		clear(f.changes)
	} else {
		if _, ok := f.changes[ch.Key]; !ok {
			f.keys = append(f.keys, ch.Key)
		}
		f.changes[ch.Key] = bytes.Clone(ch.Value)
	}
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// apply applies the pending changes whenever there are some, until ctx is
// done.
func (f *follower) apply(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-f.wake:
		}
		f.mu.Lock()
		reset, hasReset := f.reset, f.hasReset
		keys := slices.Clone(f.keys)
		changes := maps.Clone(f.changes)
		f.reset, f.hasReset = nil, false
		f.keys = f.keys[:0]
		clear(f.changes)
		f.mu.Unlock()

		f.c.reloadMu.Lock()
		if hasReset {
			f.c.reset(f.name, reset)
		}
		for _, k := range keys {
			f.c.change(f.name, k, changes[k])
		}
		f.c.reloadMu.Unlock()
	}
}

// reset makes values the whole contents of the source name, key by key:
// it deletes the keys that values lacks, then sets the others (a nil
// value unsets its key). c.reloadMu must be held.
func (c *Config) reset(name string, values map[string][]byte) {
	cur := c.snap.Load()
	if cur.dynName != name {
		// A new source: the changes below replace the values of the one
		// before, if any; until then messages name the new one.
		next := *cur
		next.dynName = name
		c.snap.Store(&next)
	}
	for _, k := range slices.Sorted(maps.Keys(cur.dyn)) {
		if _, ok := values[k]; !ok {
			c.change(name, k, nil)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(values)) {
		c.change(name, k, values[k])
	}
}

// change applies one change of the source name: key set to the text value,
// or deleted when value is nil. c.reloadMu must be held.
func (c *Config) change(name, key string, value []byte) {
	cur := c.snap.Load()
	okFields := []zap.Field{zap.String("source", name), zap.String("source_key", key)}
	out := outcome{ok: msgChanged, rejected: msgRefused, okFields: okFields,
		rejectedFields: []zap.Field{zap.String("source_key", key)}}
	var v any
	if value != nil {
		var err error
		if v, err = parseValue(value); err != nil {
			_ = c.commit(nil, &Error{Key: normalizeKey(key), File: cur.label, Source: SourceDynamic + " " + name, Err: err}, out)
			return
		}
	}
	old, had := cur.dyn[key]
	switch {
	case v == nil && !had:
		return
	case v != nil && had && reflect.DeepEqual(old, v):
		return
	}
	dyn := maps.Clone(cur.dyn)
	if dyn == nil {
		dyn = map[string]any{}
	}
	if v == nil {
		delete(dyn, key)
	} else {
		dyn[key] = v
	}
	next := *cur
	next.dynName, next.dyn, next.dynLeaves = name, dyn, dynamicLeaves(dyn)
	if c.commit(&next, nil, out) == nil && !c.watched(normalizeKey(key)) {
		c.logger().Warn(msgUnwatched, okFields...)
	}
}

// watched reports whether a subscription's section holds key, or is held
// by it.
func (c *Config) watched(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, sub := range c.subs {
		if sub.key == key || isUnder(key, sub.key) || isUnder(sub.key, key) {
			return true
		}
	}
	return false
}

// parseValue decodes the text of a source's value, a YAML or JSON scalar or
// document, into a tree with lower-case keys, as a file's; empty text and
// null give nil.
func parseValue(text []byte) (any, error) {
	var v any
	if err := yaml.Unmarshal(text, &v); err != nil {
		return nil, fmt.Errorf("cannot parse the value as YAML or JSON: %w", err)
	}
	return normalizeTree(v), nil
}

// normalizeTree returns v with every map a map[string]any whose keys are
// lower case, as viper gives a file's.
func normalizeTree(v any) any {
	if m, ok := stringMap(v); ok {
		out := make(map[string]any, len(m))
		for k, sub := range m {
			out[strings.ToLower(k)] = normalizeTree(sub)
		}
		return out
	}
	if l, ok := v.([]any); ok {
		out := make([]any, len(l))
		for i, sub := range l {
			out[i] = normalizeTree(sub)
		}
		return out
	}
	return v
}

// dynamicLeaves splits a source's values into leaves, shallower keys first,
// so that a deeper key ("http.port") wins over the same value in a
// document at a shallower one ("http").
func dynamicLeaves(dyn map[string]any) []leaf {
	keys := slices.Collect(maps.Keys(dyn))
	slices.SortFunc(keys, func(a, b string) int {
		na, nb := normalizeKey(a), normalizeKey(b)
		return cmp.Or(cmp.Compare(strings.Count(na, "."), strings.Count(nb, ".")), cmp.Compare(na, nb), cmp.Compare(a, b))
	})
	var leaves []leaf
	for _, k := range keys {
		leaves = appendLeaves(leaves, k, dyn[k])
	}
	return leaves
}
