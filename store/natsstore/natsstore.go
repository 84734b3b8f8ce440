package natsstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/wegomesh/wego/engine"
	"github.com/wegomesh/wego/log"
	"github.com/wegomesh/wego/store"
)

// Engine is what a store needs of the NATS engine: its JetStream API. An
// *engine.Engine is one.
type Engine interface {
	// JetStream returns the JetStream API of the engine's connection; it
	// fails before the engine has started, and when JetStream is off.
	JetStream() (jetstream.JetStream, error)
}

// embedder is an engine that embeds a NATS server, whose sync setting
// tells the durability of a write on one replica.
type embedder interface {
	Server() *server.Server
}

const (
	// markerTTL is how long the bucket keeps the marker of a deleted or
	// expired record: watches that were away for less than that resume
	// where they stopped; the others reset.
	markerTTL = 15 * time.Minute
	// resumeSlack is the margin of that rule, for clocks and for the time
	// a resumed consumer takes to read the markers.
	resumeSlack = time.Minute
	// fencePrefix starts the keys of the hidden records that say a key
	// has a fence (reserved keys: see store.WithReservedKeys).
	fencePrefix = "_fence."
	// headerRoom is the part of the servers' largest message kept for the
	// subject and headers: the rest is the largest value.
	headerRoom = 16 << 10
	// defaultTimeout bounds a call whose context has no deadline.
	defaultTimeout = 10 * time.Second
	// noResponderRetries and noResponderWait: a write that finds no
	// server for the bucket's stream (a leader being elected) tries
	// again that many times, that long apart.
	noResponderRetries = 2
	noResponderWait    = 25 * time.Millisecond
)

// Store is the [store.Store] on a key-value bucket of the NATS engine's
// JetStream. Make it with [New] and start it with [Store.Start] once the
// engine has started; until then its methods fail with an error matching
// [store.ErrUnavailable].
type Store struct {
	eng    Engine
	cfg    store.Config
	logger *zap.Logger

	startOnce sync.Once
	startErr  error
	c         atomic.Pointer[conn] // set by Start

	mu      sync.Mutex
	closed  bool
	closing chan struct{} // closed by Close
	wg      sync.WaitGroup

	// now reads the clock of the conditional writes: time.Now, or a
	// clock out of step with the server's in tests (set before Start).
	now func() time.Time
}

var (
	_ store.Store   = (*Store)(nil)
	_ store.Starter = (*Store)(nil)
)

// conn is what Start learns: the connection, the bucket's names and what
// the bucket can do.
type conn struct {
	s       *Store
	nc      *nats.Conn
	js      jetstream.JetStream
	bucket  string
	stream  string // KV_<bucket>
	subj    string // $KV.<bucket>.
	flag    string // $KV.<bucket>._fence.
	get     string // the direct get subject before the key, or "" for gets from the leader
	msgGet  string // the API subject of a get from the stream's leader
	delCons string // the API subject that deletes a consumer, before its name
	created time.Time
	markers time.Duration // how long the bucket keeps delete markers
	feat    store.Features
	openMu  sync.Mutex    // serializes making the bucket again
	remade  chan struct{} // closed, and replaced, when remake makes the bucket again; guarded by openMu
	tombs   tombs
}

// remadeC returns a channel that closes when the store makes its bucket
// again.
func (c *conn) remadeC() <-chan struct{} {
	c.openMu.Lock()
	defer c.openMu.Unlock()
	return c.remade
}

// New returns the store of cfg on eng without doing any I/O: an
// application makes it while it is built, before its engine starts. Zero
// fields of cfg take the defaults of [store.DefaultConfig] (bucket
// "wego", 1 replica). A nil logger means the process's default logger
// ([log.L]).
func New(eng Engine, cfg store.Config, logger *zap.Logger) (*Store, error) {
	if eng == nil {
		return nil, errors.New("natsstore: no NATS engine")
	}
	def := store.DefaultConfig()
	if cfg.Name == "" {
		cfg.Name = def.Name
	}
	if cfg.Replicas == 0 {
		cfg.Replicas = def.Replicas
	}
	cfg.Kind = "nats"
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("natsstore: %w", err)
	}
	if logger == nil {
		logger = log.L()
	}
	return &Store{eng: eng, cfg: cfg, logger: logger, closing: make(chan struct{}), now: time.Now}, nil
}

// The kind "nats" of store.kind.
func init() {
	store.RegisterKind("nats", func(cfg store.Config, eng any, logger *zap.Logger) (store.Store, error) {
		e, ok := eng.(Engine)
		if !ok || e == nil {
			return nil, errors.New("natsstore: store.kind nats needs the NATS engine: add a nats section to the configuration")
		}
		return New(e, cfg, logger)
	})
}

// Start implements [store.Starter]: it opens the bucket, creating it when
// it does not exist. The engine must have started. It fails when
// JetStream is off, when the servers are older than NATS 2.11 (which has
// the per-message TTLs the store needs), and when the bucket exists with
// settings the store cannot work with, naming the bucket. Later calls
// return the first one's result.
func (s *Store) Start(ctx context.Context) error {
	s.startOnce.Do(func() { s.startErr = s.start(ctx) })
	return s.startErr
}

func (s *Store) start(ctx context.Context) error {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return store.ErrClosed.New()
	}
	if e, ok := s.eng.(interface{ Conn() *nats.Conn }); ok && e.Conn() == nil {
		return fmt.Errorf("natsstore: bucket %s: the NATS engine has not started", s.cfg.Name)
	}
	js, err := s.eng.JetStream()
	if err != nil {
		return fmt.Errorf("natsstore: bucket %s: %w", s.cfg.Name, err)
	}
	if js == nil || js.Conn() == nil {
		return fmt.Errorf("natsstore: bucket %s: the NATS engine has not started", s.cfg.Name)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultTimeout)
		defer cancel()
	}
	c := &conn{s: s, nc: js.Conn(), js: js, bucket: s.cfg.Name, stream: "KV_" + s.cfg.Name,
		subj: "$KV." + s.cfg.Name + ".", flag: "$KV." + s.cfg.Name + "." + fencePrefix, remade: make(chan struct{})}
	api := apiPrefix(js.Options())
	c.msgGet = api + "STREAM.MSG.GET." + c.stream
	c.delCons = api + "CONSUMER.DELETE." + c.stream + "."
	info, err := c.open(ctx)
	if err != nil {
		return err
	}
	c.learn(info, api)
	if info.Config.Replicas != s.cfg.Replicas {
		s.logger.Info("natsstore: the bucket exists with another number of replicas than store.replicas; it keeps its own",
			zap.String("bucket", c.bucket), zap.Int("replicas", info.Config.Replicas), zap.Int("store.replicas", s.cfg.Replicas))
	}
	// A store that syncs each write on the engine's own server is synced.
	if c.feat.Durability == store.DurabilityOS {
		if e, ok := s.eng.(embedder); ok {
			if srv := e.Server(); srv != nil {
				if jc := srv.JetStreamConfig(); jc != nil && jc.SyncAlways {
					c.feat.Durability = store.DurabilitySynced
				}
			}
		}
	}
	s.c.Store(c)
	return nil
}

// apiPrefix returns the prefix of the JetStream API subjects of o.
func apiPrefix(o jetstream.JetStreamOptions) string {
	switch {
	case o.Domain != "":
		return "$JS." + o.Domain + ".API."
	case o.APIPrefix != "":
		if o.APIPrefix[len(o.APIPrefix)-1] != '.' {
			return o.APIPrefix + "."
		}
		return o.APIPrefix
	}
	return "$JS.API."
}

// open binds the bucket, creating it when it does not exist, and checks
// that the store can work with it.
func (c *conn) open(ctx context.Context) (*jetstream.StreamInfo, error) {
	kv, err := c.js.KeyValue(ctx, c.bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		err = c.create(ctx)
		if err == nil || errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) { // or another process made it first
			kv, err = c.js.KeyValue(ctx, c.bucket)
		}
	}
	switch {
	case errors.Is(err, jetstream.ErrLimitMarkerTTLNotSupported):
		return nil, fmt.Errorf("natsstore: bucket %s: the NATS servers have no per-message TTLs; the store needs NATS 2.11 or later: %w", c.bucket, err)
	case noJetStream(err):
		return nil, fmt.Errorf("natsstore: bucket %s: %w (the NATS servers have no JetStream, which the store needs: turn it on, or set store.kind to another kind)", c.bucket, err)
	case err != nil:
		return nil, fmt.Errorf("natsstore: bucket %s: %w", c.bucket, err)
	}
	st, err := kv.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("natsstore: bucket %s: %w", c.bucket, err)
	}
	info := st.(*jetstream.KeyValueBucketStatus).StreamInfo()
	cfg := &info.Config
	var why string
	switch {
	case cfg.Mirror != nil || len(cfg.Sources) > 0:
		why = "is a mirror or has sources"
	case !cfg.AllowMsgTTL || cfg.SubjectDeleteMarkerTTL <= 0:
		why = "has no per-message TTLs and delete markers (LimitMarkerTTL)"
	case !cfg.AllowRollup:
		why = "does not allow rollups"
	case cfg.MaxAge != 0:
		why = fmt.Sprintf("has a TTL of its own (%v), which would remove records without a time-to-live", cfg.MaxAge)
	case cfg.Discard != jetstream.DiscardNew && (cfg.MaxBytes > 0 || cfg.MaxMsgs > 0):
		why = "discards old records when full"
	}
	if why != "" {
		return nil, fmt.Errorf("natsstore: bucket %s exists but %s: the store cannot keep its promises on it; remove it (nats kv rm %s) and the store makes it again, or set store.name to another bucket",
			c.bucket, why, c.bucket)
	}
	return info, nil
}

// create makes the bucket: the stream of a key-value bucket, as nats.go
// makes it, whose sequence — the records' revisions, and so the fencing
// tokens of package lock — starts at the time of its making in
// microseconds since 1970 (firstRevision). A bucket that is lost and made
// again, by this store or by another process, then gives out revisions
// above those of the bucket it replaces, which stale holders of its
// tokens may still use, as long as it took fewer than a million writes a
// second and the clocks of the hosts that make buckets are about right.
func (c *conn) create(ctx context.Context) error {
	info, err := c.js.AccountInfo(ctx)
	if err != nil {
		return err
	}
	if info.API.Level < 1 {
		return jetstream.ErrLimitMarkerTTLNotSupported
	}
	replicas := max(c.s.cfg.Replicas, 1)
	_, err = c.js.CreateStream(ctx, jetstream.StreamConfig{
		Name:                   c.stream,
		Description:            "WeGO store: one key per record (package store/natsstore)",
		Subjects:               []string{c.subj + ">"},
		MaxMsgsPerSubject:      1,
		MaxBytes:               -1,
		MaxMsgSize:             -1,
		MaxMsgs:                -1,
		MaxConsumers:           -1,
		Storage:                jetstream.FileStorage,
		Replicas:               replicas,
		AllowRollup:            true,
		DenyDelete:             true,
		Duplicates:             2 * time.Minute,
		AllowDirect:            true,
		Discard:                jetstream.DiscardNew,
		AllowMsgTTL:            true,
		SubjectDeleteMarkerTTL: markerTTL,
		FirstSeq:               firstRevision(time.Now()),
	})
	return err
}

// firstRevision is the first revision of a bucket made at now.
func firstRevision(now time.Time) uint64 { return uint64(max(now.UnixMicro(), 1)) }

// learn records what the bucket described by info can do.
func (c *conn) learn(info *jetstream.StreamInfo, api string) {
	cfg := &info.Config
	c.created = info.Created
	c.markers = min(markerTTL, cfg.SubjectDeleteMarkerTTL)
	c.get = ""
	if cfg.AllowDirect && cfg.Replicas == 1 {
		// One server has the stream: its direct gets see every write it
		// has acknowledged. With replicas, a direct get may be answered
		// by a follower that has not applied the last write yet; the
		// store reads from the leader instead, so that a Get after a Put
		// sees it.
		c.get = api + "DIRECT.GET." + c.stream + "." + c.subj
	}
	maxValue := int(c.nc.MaxPayload()) - headerRoom
	if cfg.MaxMsgSize > 0 {
		maxValue = min(maxValue, int(cfg.MaxMsgSize)-headerRoom)
	}
	c.feat = store.Features{Watch: true, TTL: true, ReadYourWrites: true, MaxValue: max(maxValue, 1)}
	switch {
	case cfg.Storage == jetstream.MemoryStorage:
		c.feat.Durability = store.DurabilityMemory
	case cfg.Replicas > 1:
		c.feat.Durability = store.DurabilityReplicated
	default:
		c.feat.Durability = store.DurabilityOS
	}
}

// noJetStream reports whether err says that the servers have no JetStream.
func noJetStream(err error) bool {
	return errors.Is(err, engine.ErrNoJetStream) || errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount)
}

// conn returns the store's connection, or the error of a store that is
// closed or has not started.
func (s *Store) conn() (*conn, error) {
	c := s.c.Load()
	if c == nil {
		s.mu.Lock()
		closed := s.closed
		s.mu.Unlock()
		if closed {
			return nil, store.ErrClosed.New()
		}
		return nil, store.ErrUnavailable.Wrap(fmt.Errorf("natsstore: bucket %s: the store has not started", s.cfg.Name))
	}
	select {
	case <-s.closing:
		return nil, store.ErrClosed.New()
	default:
	}
	return c, nil
}

// Features reports watches, TTLs, read-your-writes, the durability of the
// bucket (see the package documentation) and the largest value: the
// servers' largest message less 16 KiB for the key and headers (1 MiB -
// 16 KiB by default). Before Start it reports what a bucket made by Start
// would do, on servers whose sync setting is unknown.
func (s *Store) Features() store.Features {
	if c := s.c.Load(); c != nil {
		return c.feat
	}
	d := store.DurabilityOS
	if s.cfg.Replicas > 1 {
		d = store.DurabilityReplicated
	}
	return store.Features{Watch: true, TTL: true, ReadYourWrites: true, Durability: d, MaxValue: 1<<20 - headerRoom}
}

// Close ends the store's watches, waiting for their goroutines; later
// calls of its methods fail with an error matching [store.ErrClosed]. It
// leaves the engine's connection open, and is idempotent.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.closing)
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}
