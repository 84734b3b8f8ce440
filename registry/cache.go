package registry

import (
	"bytes"
	"context"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/wegomesh/wego/log"
)

// Cache is the local copy of a registry's entries that Lookup and Watch
// read. An implementation of [Registry] feeds it what its backend holds —
// the whole content once ([Cache.Replace]), then each change ([Cache.Put],
// [Cache.Delete]) — as stored entries ([Encode]), and serves Lookup and
// Watch from it, so that every implementation reads entries, ignores
// malformed ones and notifies watchers the same way.
//
// An entry that does not decode, is of another [Format], fails
// [Node.Validate] or is not the node its key names is ignored (a node
// whose entry turns bad is dropped) and logged once, at warn level, until
// its key holds something else. Writing again an entry that did not
// change (a heartbeat) costs a comparison and notifies no one.
//
// A Cache is safe for concurrent use; [Cache.Lookup] takes no lock.
type Cache struct {
	logger *zap.Logger
	table  atomic.Pointer[table] // nil until the first Replace
	closed atomic.Bool

	mu       sync.Mutex // guards what follows; held while sending to watchers
	ready    bool
	raw      map[string][]byte          // every entry by key, ignored ones included
	nodes    map[string]map[string]Node // the valid nodes, by service and ID
	logged   map[string]string          // the reason last logged for an ignored key
	watchers map[string]map[*watcher]struct{}
}

// table is an immutable view of the nodes by service, sorted by ID.
type table struct {
	services map[string][]Node
}

// NewCache returns an empty cache, not ready until its first
// [Cache.Replace]. It logs ignored entries to logger, or to the process's
// default logger ([log.L]) when logger is nil.
func NewCache(logger *zap.Logger) *Cache {
	if logger == nil {
		logger = log.L()
	}
	return &Cache{
		logger:   logger,
		raw:      map[string][]byte{},
		nodes:    map[string]map[string]Node{},
		logged:   map[string]string{},
		watchers: map[string]map[*watcher]struct{}{},
	}
}

// Replace makes entries, stored entries by key, the whole content of the
// cache, after a first read or a new read of the backend (after a
// reconnect). The first call makes the cache ready: Lookup answers, and
// every watcher gets its service's current nodes; later calls notify the
// watchers of the services that changed. The cache keeps entries' values;
// the caller must not modify them.
func (c *Cache) Replace(entries map[string][]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed.Load() {
		return
	}
	old := c.nodes
	c.raw = make(map[string][]byte, len(entries))
	c.nodes = make(map[string]map[string]Node, len(old))
	for _, key := range slices.Sorted(maps.Keys(entries)) { // logs in a stable order
		c.raw[key] = entries[key]
		c.apply(key, entries[key])
	}
	for key := range c.logged {
		if _, ok := entries[key]; !ok {
			delete(c.logged, key)
		}
	}
	services := make(map[string][]Node, len(c.nodes))
	for s := range c.nodes {
		services[s] = c.sorted(s)
	}
	c.table.Store(&table{services: services})
	first := !c.ready
	c.ready = true
	for s, ws := range c.watchers {
		if !first && sameNodes(old[s], c.nodes[s]) {
			continue
		}
		for w := range ws {
			w.send(services[s])
		}
	}
}

// Put sets the stored entry of key, a new entry or a changed one, and
// notifies the watchers of its service when its node changed. Before the
// cache is ready, it only records. The cache keeps value; the caller must
// not modify it.
func (c *Cache) Put(key string, value []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed.Load() {
		return
	}
	if old, ok := c.raw[key]; ok && bytes.Equal(old, value) {
		return // a heartbeat
	}
	c.raw[key] = value
	if service, changed := c.apply(key, value); changed {
		c.publish(service)
	}
}

// Delete removes the entry of key and notifies the watchers of its
// service when it held a node.
func (c *Cache) Delete(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed.Load() {
		return
	}
	if _, ok := c.raw[key]; !ok {
		return
	}
	delete(c.raw, key)
	delete(c.logged, key)
	service, id, _ := splitKey(key)
	if c.remove(service, id) {
		c.publish(service)
	}
}

// apply records the entry of key among the nodes and reports the service
// whose nodes changed, if any.
func (c *Cache) apply(key string, value []byte) (service string, changed bool) {
	service, id, ok := splitKey(key)
	if !ok {
		c.ignore(key, "the key is not service.id")
		return "", false
	}
	n, err := decode(key, value)
	if err != nil {
		c.ignore(key, strings.TrimPrefix(err.Error(), "registry: "))
		return service, c.remove(service, id)
	}
	delete(c.logged, key)
	ids := c.nodes[service]
	if ids == nil {
		ids = map[string]Node{}
		c.nodes[service] = ids
	}
	ids[id] = n
	return service, true
}

// remove drops the node of service with id and reports whether it was there.
func (c *Cache) remove(service, id string) bool {
	ids, ok := c.nodes[service]
	if !ok {
		return false
	}
	if _, ok := ids[id]; !ok {
		return false
	}
	delete(ids, id)
	if len(ids) == 0 {
		delete(c.nodes, service)
	}
	return true
}

// ignore logs, once per key and reason, that the entry of key is ignored.
func (c *Cache) ignore(key, reason string) {
	if c.logged[key] == reason {
		return
	}
	c.logged[key] = reason
	c.logger.Warn("registry: entry ignored", zap.String("key", key), zap.String("reason", reason))
}

// publish makes a new table with the nodes of service and sends them to
// its watchers. Before the cache is ready it does nothing: Replace will.
func (c *Cache) publish(service string) {
	if !c.ready {
		return
	}
	services := maps.Clone(c.table.Load().services)
	nodes := c.sorted(service)
	if nodes == nil {
		delete(services, service)
	} else {
		services[service] = nodes
	}
	c.table.Store(&table{services: services})
	for w := range c.watchers[service] {
		w.send(nodes)
	}
}

// sorted returns a new slice of the nodes of service, sorted by ID, or nil.
func (c *Cache) sorted(service string) []Node {
	ids := c.nodes[service]
	if len(ids) == 0 {
		return nil
	}
	nodes := make([]Node, 0, len(ids))
	for _, id := range slices.Sorted(maps.Keys(ids)) {
		nodes = append(nodes, ids[id])
	}
	return slices.Clip(nodes)
}

func sameNodes(a, b map[string]Node) bool {
	return maps.EqualFunc(a, b, func(x, y Node) bool {
		return x.Service == y.Service && x.ID == y.ID && x.Version == y.Version &&
			maps.Equal(x.Endpoints, y.Endpoints) && maps.Equal(x.Metadata, y.Metadata)
	})
}

// Lookup returns the nodes of service, as [Registry.Lookup] does: a shared
// slice that must not be modified, read without a lock or an allocation.
// It returns [ErrNotReady] before the first [Cache.Replace] and
// [ErrClosed] after [Cache.Close].
func (c *Cache) Lookup(service string) ([]Node, error) {
	if c.closed.Load() {
		return nil, ErrClosed
	}
	t := c.table.Load()
	if t == nil {
		return nil, ErrNotReady
	}
	if nodes, ok := t.services[service]; ok {
		return nodes, nil
	}
	if err := checkService(service); err != nil {
		return nil, err
	}
	return nil, nil
}

// Watch returns a channel that receives the nodes of service, as
// [Registry.Watch] does: the current set first — at once when the cache
// is ready, at the first [Cache.Replace] otherwise — then the set after
// each change, the latest one only when the receiver falls behind. The
// channel closes when ctx ends or the cache closes.
func (c *Cache) Watch(ctx context.Context, service string) (<-chan []Node, error) {
	if err := checkService(service); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed.Load() {
		return nil, ErrClosed
	}
	w := &watcher{ch: make(chan []Node, 1)}
	ws := c.watchers[service]
	if ws == nil {
		ws = map[*watcher]struct{}{}
		c.watchers[service] = ws
	}
	ws[w] = struct{}{}
	if c.ready {
		w.send(c.table.Load().services[service])
	}
	w.stop = context.AfterFunc(ctx, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if _, ok := c.watchers[service][w]; ok {
			delete(c.watchers[service], w)
			if len(c.watchers[service]) == 0 {
				delete(c.watchers, service)
			}
			close(w.ch)
		}
	})
	return w.ch, nil
}

// Close closes every watcher's channel; from then on Lookup and Watch
// return [ErrClosed] and the other methods do nothing. Close is
// idempotent.
func (c *Cache) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed.Swap(true) {
		return
	}
	for _, ws := range c.watchers {
		for w := range ws {
			w.stop()
			close(w.ch)
		}
	}
	c.watchers = nil
}

// watcher is one channel of Watch.
type watcher struct {
	ch   chan []Node
	stop func() bool
}

// send replaces what the channel holds with nodes. It never blocks: the
// cache's lock is held by every sender, so after the drain there is room.
func (w *watcher) send(nodes []Node) {
	select {
	case w.ch <- nodes:
		return
	default:
	}
	select {
	case <-w.ch:
	default:
	}
	w.ch <- nodes
}
