package natsregistry

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/wegomesh/wego/engine"
	"github.com/wegomesh/wego/log"
	"github.com/wegomesh/wego/registry"
)

// Bucket is the JetStream key-value bucket of the registry: one key per
// node, service.id ([registry.Key]).
const Bucket = "wego_registry"

// markerTTL is how long the bucket keeps the marker of a removed entry
// (deregistered, or expired): long enough for a watcher that falls behind
// to see it, short enough that markers do not pile up.
const markerTTL = time.Minute

// maxValueSize is the largest value the bucket accepts: above
// registry.MaxEntrySize, so that an oversized entry reaches the readers
// that ignore it and log why, below anything that could hurt the server.
const maxValueSize = 16 * registry.MaxEntrySize

// pubRetryWait is the pause before a write tries again when no server
// answers for the bucket's stream (twice).
const pubRetryWait = 25 * time.Millisecond

// errReconnected ends a watch when the connection came back.
var errReconnected = errors.New("reconnected")

// Registry is the [registry.Registry] on the NATS engine's JetStream: each
// node is a key of the bucket [Bucket] written with a per-key TTL, and
// every Registry watches the whole bucket into a local [registry.Cache].
// Make it with [New] and start it with [Registry.Start] once the engine
// has started.
type Registry struct {
	eng    *engine.Engine
	cfg    registry.Config
	logger *zap.Logger
	cache  *registry.Cache
	prefix string // of the bucket's subjects, "$KV.wego_registry."

	startOnce sync.Once
	startErr  error
	nc        *nats.Conn          // set by Start
	js        jetstream.JetStream // set by Start
	kv        atomic.Pointer[kvBox]
	optional  bool        // chosen by default: without JetStream, keep local nodes only
	local     atomic.Bool // no JetStream: the cache holds this registry's nodes only

	wmu    sync.Mutex        // serializes writes: Register, heartbeats, Deregister
	own    map[string][]byte // the registered nodes' entries, by key
	closed bool              // guarded by wmu

	stop      chan struct{} // closed by Close
	kick      chan struct{} // a heartbeat now, after a reconnect
	wg        sync.WaitGroup
	closeOnce sync.Once
}

type kvBox struct{ jetstream.KeyValue }

var _ registry.Registry = (*Registry)(nil)
var _ registry.Starter = (*Registry)(nil)

// New returns the registry of cfg on eng without doing any I/O: an
// application makes it while it is built, before its engine starts. Zero
// fields of cfg take their defaults ([registry.Normalize]). A nil logger
// means the process's default logger ([log.L]).
func New(eng *engine.Engine, cfg registry.Config, logger *zap.Logger) (*Registry, error) {
	if eng == nil {
		return nil, errors.New("natsregistry: no NATS engine")
	}
	cfg, err := registry.Normalize(cfg)
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = log.L()
	}
	return &Registry{
		eng:    eng,
		cfg:    cfg,
		logger: logger,
		cache:  registry.NewCache(logger),
		prefix: "$KV." + Bucket + ".",
		own:    map[string][]byte{},
		stop:   make(chan struct{}),
		kick:   make(chan struct{}, 1),
	}, nil
}

// The kind "nats" of registry.kind, for applications with a NATS engine.
// Chosen by default (an empty kind), it does not stop an application whose
// NATS servers have no JetStream: it keeps the process's own nodes only,
// and says so.
func init() {
	registry.RegisterKind("nats", func(cfg registry.Config, eng any, logger *zap.Logger) (registry.Registry, error) {
		e, ok := eng.(*engine.Engine)
		if !ok || e == nil {
			return nil, errors.New("natsregistry: registry.kind nats needs the NATS engine: add a nats section to the configuration")
		}
		r, err := New(e, cfg, logger)
		if err != nil {
			return nil, err
		}
		r.optional = cfg.Kind == ""
		return r, nil
	})
}

// Start implements [registry.Starter]: it opens the bucket, creating it
// when it does not exist, and returns once the registry has read it. The
// engine must have started. It fails when JetStream is off, and when the
// servers are older than NATS 2.11, which has the per-key TTLs the
// registry needs. Later calls return the first one's result.
func (r *Registry) Start(ctx context.Context) error {
	r.startOnce.Do(func() { r.startErr = r.start(ctx) })
	return r.startErr
}

func (r *Registry) start(ctx context.Context) error {
	r.wmu.Lock()
	closed := r.closed
	r.wmu.Unlock()
	if closed {
		return registry.ErrClosed
	}
	r.nc = r.eng.Conn()
	if r.nc == nil {
		return errors.New("natsregistry: the NATS engine has not started")
	}
	js, err := r.eng.JetStream()
	if err != nil {
		err = fmt.Errorf("natsregistry: %w", err)
	} else {
		r.js = js
		err = r.openBucket(ctx)
	}
	if err != nil {
		if !noJetStream(err) {
			return err
		}
		if r.optional {
			r.logger.Warn("natsregistry: the NATS servers have no JetStream: the registry keeps this process's nodes only, and other processes do not find them; turn JetStream on, or set registry.kind to memory",
				zap.Error(err))
			r.local.Store(true)
			r.cache.Replace(nil)
			return nil
		}
		return fmt.Errorf("%w (the NATS servers have no JetStream, which the registry needs: turn it on, or set registry.kind to memory)", err)
	}
	synced := make(chan struct{})
	r.wg.Add(2)
	go r.watch(synced)
	go r.beat()
	select {
	case <-synced:
		return nil
	case <-r.stop:
		return registry.ErrClosed
	case <-ctx.Done():
		return fmt.Errorf("natsregistry: read the bucket %s: %w", Bucket, ctx.Err())
	}
}

// noJetStream reports whether err says that the servers have no JetStream.
func noJetStream(err error) bool {
	return errors.Is(err, engine.ErrNoJetStream) || errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount)
}

// openBucket binds the bucket, creating it when it does not exist.
func (r *Registry) openBucket(ctx context.Context) error {
	kv, err := r.js.KeyValue(ctx, Bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = r.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:         Bucket,
			Description:    "WeGO service registry: one key per node, service.id, each with its TTL",
			History:        1,
			Replicas:       r.cfg.Replicas,
			MaxValueSize:   maxValueSize,
			LimitMarkerTTL: markerTTL,
		})
		if errors.Is(err, jetstream.ErrBucketExists) { // another process made it first
			kv, err = r.js.KeyValue(ctx, Bucket)
		}
	}
	if errors.Is(err, jetstream.ErrLimitMarkerTTLNotSupported) {
		return fmt.Errorf("natsregistry: bucket %s: the NATS servers have no per-key TTLs; they need version 2.11 or later: %w", Bucket, err)
	}
	if err != nil {
		return fmt.Errorf("natsregistry: bucket %s: %w", Bucket, err)
	}
	st, err := kv.Status(ctx)
	if err != nil {
		return fmt.Errorf("natsregistry: bucket %s: %w", Bucket, err)
	}
	if st.LimitMarkerTTL() == 0 {
		return fmt.Errorf("natsregistry: bucket %s exists without per-key TTLs (made by another program?): remove it (nats kv rm %s) and the registry makes it again", Bucket, Bucket)
	}
	r.kv.Store(&kvBox{kv})
	return nil
}

// put writes the entry of key with the registry's TTL. When the bucket is
// gone (a server that lost it), it makes it again and retries once.
func (r *Registry) put(ctx context.Context, key string, b []byte) error {
	// Retry soon when no server answers (a stream changing leader), so
	// that a heartbeat learns that the bucket is gone within its time.
	opts := []jetstream.PublishOpt{jetstream.WithMsgTTL(r.cfg.TTL), jetstream.WithRetryWait(pubRetryWait)}
	_, err := r.js.PublishMsg(ctx, &nats.Msg{Subject: r.prefix + key, Data: b}, opts...)
	if errors.Is(err, jetstream.ErrNoStreamResponse) {
		if err := r.openBucket(ctx); err != nil {
			return err
		}
		_, err = r.js.PublishMsg(ctx, &nats.Msg{Subject: r.prefix + key, Data: b}, opts...)
	}
	return err
}

// Register implements [registry.Registry.Register]. The registry must
// have started ([Registry.Start]).
func (r *Registry) Register(ctx context.Context, node registry.Node) error {
	b, err := registry.Encode(node)
	if err != nil {
		return err
	}
	key := registry.Key(node.Service, node.ID)
	r.wmu.Lock()
	defer r.wmu.Unlock()
	if r.closed {
		return registry.ErrClosed
	}
	if r.local.Load() {
		r.cache.Put(key, b)
		return nil
	}
	if r.kv.Load() == nil {
		return fmt.Errorf("natsregistry: register %s: the registry has not started", key)
	}
	if err := r.put(ctx, key, b); err != nil {
		return fmt.Errorf("natsregistry: register %s: %w", key, err)
	}
	r.own[key] = b
	return nil
}

// Deregister implements [registry.Registry.Deregister]: it purges the
// node's key, leaving a marker that every watcher sees and that expires
// after a minute. When that fails (NATS unreachable), the node's
// heartbeats have stopped all the same, and its entry expires within the
// TTL.
func (r *Registry) Deregister(ctx context.Context, service, id string) error {
	key := registry.Key(service, id)
	if err := (registry.Node{Service: service, ID: id}).Validate(); err != nil {
		return fmt.Errorf("natsregistry: deregister: %w", err)
	}
	r.wmu.Lock()
	defer r.wmu.Unlock()
	if r.closed {
		return registry.ErrClosed
	}
	delete(r.own, key)
	if r.local.Load() {
		r.cache.Delete(key)
		return nil
	}
	kv := r.kv.Load()
	if kv == nil {
		return fmt.Errorf("natsregistry: deregister %s: the registry has not started", key)
	}
	if err := kv.Purge(ctx, key, jetstream.PurgeTTL(markerTTL)); err != nil {
		return fmt.Errorf("natsregistry: deregister %s: %w", key, err)
	}
	return nil
}

// Lookup implements [registry.Registry.Lookup]; before Start has read the
// bucket it returns [registry.ErrNotReady].
func (r *Registry) Lookup(service string) ([]registry.Node, error) {
	return r.cache.Lookup(service)
}

// Watch implements [registry.Registry.Watch]. A watch made before Start
// receives its first set once Start has read the bucket.
func (r *Registry) Watch(ctx context.Context, service string) (<-chan []registry.Node, error) {
	return r.cache.Watch(ctx, service)
}

// Close implements [registry.Registry.Close]. It stops the registry's
// heartbeats and its watch of the bucket, waiting for them until ctx
// ends; it leaves the engine's connection open.
func (r *Registry) Close(ctx context.Context) error {
	var err error
	r.closeOnce.Do(func() {
		r.wmu.Lock()
		r.closed = true
		r.own = nil
		r.wmu.Unlock()
		close(r.stop)
		done := make(chan struct{})
		go func() { r.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			err = fmt.Errorf("natsregistry: close: %w", ctx.Err())
		}
		r.cache.Close()
	})
	return err
}

// beat writes the registry's nodes again every heartbeat, and at once
// after a reconnect, until Close.
func (r *Registry) beat() {
	defer r.wg.Done()
	t := time.NewTicker(r.cfg.Heartbeat)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
		case <-r.kick:
		}
		err := r.heartbeat()
		switch {
		case err != nil && !failing:
			failing = true
			r.logger.Warn("natsregistry: heartbeat failed, retrying each heartbeat; the nodes expire if it fails for a TTL",
				zap.Duration("heartbeat", r.cfg.Heartbeat), zap.Duration("ttl", r.cfg.TTL), zap.Error(err))
		case err == nil && failing:
			failing = false
			r.logger.Info("natsregistry: heartbeats written again")
		}
	}
}

// heartbeat writes every registered node's entry once.
func (r *Registry) heartbeat() error {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	var errs []error
	for key, b := range r.own {
		ctx, cancel := context.WithTimeout(context.Background(), r.cfg.Heartbeat)
		err := r.put(ctx, key, b)
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
		}
	}
	return errors.Join(errs...)
}

// watch keeps the cache equal to the bucket: it follows the bucket, and
// reads it again whenever the connection comes back or the watch fails,
// until Close. synced closes after the first read.
func (r *Registry) watch(synced chan struct{}) {
	defer r.wg.Done()
	status := r.nc.StatusChanged(nats.CONNECTED)
	defer r.nc.RemoveStatusListener(status)
	var once sync.Once
	first := func() { once.Do(func() { close(synced) }) }
	const minPause = 50 * time.Millisecond
	pause := minPause
	for {
		err := r.follow(status, first)
		switch {
		case err == nil:
			return // closing
		case errors.Is(err, errReconnected):
		case r.nc.IsClosed():
			r.logger.Debug("natsregistry: the NATS connection closed; the watch ends", zap.Error(err))
			<-r.stop
			return
		case r.nc.Status() != nats.CONNECTED:
			// The engine logs the disconnection; read again once it ends.
			select {
			case <-r.stop:
				return
			case <-status:
				err = errReconnected
			}
		default:
			r.logger.Warn("natsregistry: watch of the bucket failed, retrying", zap.String("bucket", Bucket),
				zap.Duration("retry_in", pause), zap.Error(err))
			t := time.NewTimer(pause)
			select {
			case <-r.stop:
				t.Stop()
				return
			case <-status:
				err = errReconnected
			case <-t.C:
			}
			t.Stop()
			pause = min(2*pause, r.cfg.Heartbeat)
		}
		if errors.Is(err, errReconnected) {
			r.logger.Info("natsregistry: reconnected; reading the bucket again", zap.String("bucket", Bucket))
			r.heartbeatSoon()
			pause = minPause
		}
	}
}

func (r *Registry) heartbeatSoon() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// follow reads the bucket into the cache, then applies each change, until
// Close (nil), a reconnect (errReconnected) or a failure.
func (r *Registry) follow(status <-chan nats.Status, synced func()) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	before, err := r.streamInfo()
	if err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return err
	}
	w, err := r.kv.Load().WatchAll(ctx)
	if errors.Is(err, jetstream.ErrBucketNotFound) || errors.Is(err, jetstream.ErrStreamNotFound) {
		if err := r.openBucket(ctx); err != nil {
			return err
		}
		w, err = r.kv.Load().WatchAll(ctx)
	}
	if err != nil {
		return err
	}
	defer stopWatcher(w)
	audit := time.NewTicker(r.cfg.TTL)
	defer audit.Stop()
	var seen, due uint64 // the last revision seen; the last one the stream had at the last audit
	if before != nil {
		seen = before.State.LastSeq
	}
	initial := map[string][]byte{}
	for {
		select {
		case <-audit.C:
			info, err := r.streamInfo()
			switch {
			case err != nil:
				return err
			case before != nil && !info.Created.Equal(before.Created), info.State.LastSeq < seen:
				return errors.New("the bucket was made again")
			case seen < due:
				return fmt.Errorf("the watch is stuck at revision %d, the bucket was at %d a TTL ago", seen, due)
			}
			due = info.State.LastSeq
		case e, ok := <-w.Updates():
			if e != nil {
				seen = max(seen, e.Revision())
			}
			switch {
			case !ok:
				return errors.New("the watcher stopped")
			case e == nil: // the end of the current entries
				if initial != nil {
					r.cache.Replace(initial)
					initial = nil
					synced()
				}
			case initial != nil:
				if e.Operation() == jetstream.KeyValuePut {
					initial[e.Key()] = e.Value()
				} else {
					delete(initial, e.Key())
				}
			case e.Operation() == jetstream.KeyValuePut:
				r.cache.Put(e.Key(), e.Value())
			default:
				r.cache.Delete(e.Key())
			}
		case <-status:
			return errReconnected
		case <-r.stop:
			return nil
		}
	}
}

// streamInfo returns the state of the bucket's stream.
func (r *Registry) streamInfo() (*jetstream.StreamInfo, error) {
	ctx, cancel := context.WithTimeout(context.Background(), max(r.cfg.Heartbeat, time.Second))
	defer cancel()
	s, err := r.js.Stream(ctx, "KV_"+Bucket)
	if err != nil {
		return nil, fmt.Errorf("the bucket's stream: %w", err)
	}
	return s.CachedInfo(), nil
}

// stopWatcher stops w and drains it until its channel closes: its
// subscription blocks on a full channel otherwise.
func stopWatcher(w jetstream.KeyWatcher) {
	_ = w.Stop()
	t := time.NewTimer(time.Second)
	defer t.Stop()
	for {
		select {
		case _, ok := <-w.Updates():
			if !ok {
				return
			}
		case <-t.C:
			return
		}
	}
}
