package registry

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/wegomesh/wego/log"
)

// Memory is the in-process [Registry]: its entries live in the memory of
// the process, with the same heartbeats and time-to-live as a registry on
// NATS, so that a test of one behaves as it would with the other.
//
// The registries of one store ([NewMemory], then [Memory.Peer]) see one
// another's nodes, as the processes of a mesh see one another's through a
// NATS bucket; each has its own heartbeats, watches and [Memory.Close].
// An application whose registry.kind is "memory" (the default without a
// NATS engine) gets a peer of one store per process, so applications in
// one process find one another, and no other process finds them.
type Memory struct {
	store  *store
	cfg    Config
	logger *zap.Logger
	cache  *Cache

	mu       sync.Mutex // guards what follows; held while writing to the store
	own      map[string][]byte
	joined   bool // the store sends its entries to the cache
	closed   bool
	beatStop chan struct{} // closes to stop the heartbeat, nil when none runs
	beatDone chan struct{}
}

var (
	_ Registry = (*Memory)(nil)
	_ Starter  = (*Memory)(nil)
)

// NewMemory returns an in-process registry with a store of its own. Zero
// fields of cfg take their defaults ([DefaultConfig]); the TTL is rounded
// up to whole seconds, and cfg must pass [Config.Validate] (Kind and
// Replicas are not used). It logs ignored entries to the process's default
// logger ([log.L]).
func NewMemory(cfg Config) (*Memory, error) {
	cfg, err := Normalize(cfg)
	if err != nil {
		return nil, err
	}
	m := newPeer(&store{}, cfg, log.L())
	_ = m.Start(context.Background())
	return m, nil
}

// Peer returns another registry over the same store, with m's
// configuration, started: another process of the same mesh, for tests.
func (m *Memory) Peer() *Memory {
	p := newPeer(m.store, m.cfg, m.logger)
	_ = p.Start(context.Background())
	return p
}

func newPeer(s *store, cfg Config, logger *zap.Logger) *Memory {
	return &Memory{store: s, cfg: cfg, logger: logger, cache: NewCache(logger), own: map[string][]byte{}}
}

// Start implements [Starter]. The registries of [NewMemory] and
// [Memory.Peer] have started already; one that an application makes
// (kind memory) joins the store of the process when the application
// starts, so that one never started holds nothing.
func (m *Memory) Start(context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if !m.joined {
		m.joined = true
		m.store.join(m)
	}
	return nil
}

// process is the store of the registries of kind "memory" that
// applications make: one per process.
var process store

func init() {
	RegisterKind("memory", func(cfg Config, _ any, logger *zap.Logger) (Registry, error) {
		cfg, err := Normalize(cfg)
		if err != nil {
			return nil, err
		}
		if logger == nil {
			logger = log.L()
		}
		return newPeer(&process, cfg, logger), nil // joins at Start
	})
}

// Register implements [Registry.Register].
func (m *Memory) Register(_ context.Context, node Node) error {
	b, err := Encode(node)
	if err != nil {
		return err
	}
	key := Key(node.Service, node.ID)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	m.own[key] = b
	m.store.put(key, b, time.Now().Add(m.cfg.TTL))
	if m.beatStop == nil {
		m.beatStop, m.beatDone = make(chan struct{}), make(chan struct{})
		go m.beat(m.beatStop, m.beatDone)
	}
	return nil
}

// beat writes the registry's nodes again every heartbeat until stop closes.
func (m *Memory) beat(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(m.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		m.mu.Lock()
		expires := time.Now().Add(m.cfg.TTL)
		for key, b := range m.own {
			m.store.put(key, b, expires)
		}
		m.mu.Unlock()
	}
}

// stopBeat stops the heartbeat, if one runs; the caller holds m.mu and
// waits on the channel it returns after releasing it.
func (m *Memory) stopBeat() <-chan struct{} {
	if m.beatStop == nil {
		return nil
	}
	close(m.beatStop)
	done := m.beatDone
	m.beatStop, m.beatDone = nil, nil
	return done
}

// Deregister implements [Registry.Deregister].
func (m *Memory) Deregister(_ context.Context, service, id string) error {
	if err := checkService(service); err != nil {
		return err
	}
	if err := checkID(id); err != nil {
		return fmt.Errorf("registry: deregister %s: %w", service, err)
	}
	key := Key(service, id)
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrClosed
	}
	delete(m.own, key)
	m.store.remove(key)
	var done <-chan struct{}
	if len(m.own) == 0 {
		done = m.stopBeat()
	}
	m.mu.Unlock()
	if done != nil {
		<-done
	}
	return nil
}

// Lookup implements [Registry.Lookup].
func (m *Memory) Lookup(service string) ([]Node, error) { return m.cache.Lookup(service) }

// Watch implements [Registry.Watch].
func (m *Memory) Watch(ctx context.Context, service string) (<-chan []Node, error) {
	return m.cache.Watch(ctx, service)
}

// Close implements [Registry.Close]: the registry's nodes stay in the
// store until their TTL ends.
func (m *Memory) Close(context.Context) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.own = nil
	done := m.stopBeat()
	joined := m.joined
	m.mu.Unlock()
	if done != nil {
		<-done
	}
	if joined {
		m.store.leave(m)
	}
	m.cache.Close()
	return nil
}

// store holds the entries of the Memory registries that share it and
// expires them, as a NATS bucket does with per-key TTLs.
type store struct {
	mu      sync.Mutex
	entries map[string]stored
	peers   map[*Memory]struct{}
	timer   *time.Timer // fires at next, the earliest expiry; nil with no entries
	next    time.Time
}

type stored struct {
	value   []byte
	expires time.Time
}

func (s *store) join(m *Memory) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.peers == nil {
		s.peers = map[*Memory]struct{}{}
		s.entries = map[string]stored{}
	}
	s.peers[m] = struct{}{}
	all := make(map[string][]byte, len(s.entries))
	for k, e := range s.entries {
		all[k] = e.value
	}
	m.cache.Replace(all)
}

func (s *store) leave(m *Memory) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.peers, m)
}

// put writes the entry of key, which lives until expires.
func (s *store) put(key string, value []byte, expires time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.entries[key] = stored{value: value, expires: expires}
	for m := range s.peers {
		m.cache.Put(key, value)
	}
	if s.timer == nil || expires.Before(s.next) {
		s.schedule(expires)
	}
}

// remove deletes the entry of key.
func (s *store) remove(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.entries[key]; !ok {
		return
	}
	delete(s.entries, key)
	for m := range s.peers {
		m.cache.Delete(key)
	}
}

// schedule makes the timer fire at t; the caller holds s.mu.
func (s *store) schedule(t time.Time) {
	s.next = t
	if s.timer == nil {
		s.timer = time.AfterFunc(time.Until(t), s.expire)
		return
	}
	s.timer.Reset(time.Until(t))
}

// expire removes the entries whose time has come and schedules the next
// expiry.
func (s *store) expire() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	var next time.Time
	for key, e := range s.entries {
		if !e.expires.After(now) {
			delete(s.entries, key)
			for m := range s.peers {
				m.cache.Delete(key)
			}
			continue
		}
		if next.IsZero() || e.expires.Before(next) {
			next = e.expires
		}
	}
	if next.IsZero() {
		s.timer.Stop()
		s.timer = nil
		return
	}
	s.schedule(next)
}
