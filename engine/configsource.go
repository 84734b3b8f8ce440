package engine

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/wegomesh/wego/config"
)

// configHistory is how many values of each key a configuration bucket
// that Engine.ConfigSource creates keeps, for nats kv history.
const configHistory = 10

// auditInterval is how often a configuration source checks that its watch
// keeps up with the bucket.
const auditInterval = 5 * time.Second

// readTimeout bounds reading a whole configuration bucket.
const readTimeout = 10 * time.Second

// errReconnected ends a watch when the connection came back.
var errReconnected = errors.New("reconnected")

var bucketName = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

// ConfigSource returns the configuration source of the key-value bucket
// named bucket on the engine's JetStream, for [config.Config.Attach]: each
// key of the bucket is a configuration key ("log.level",
// "middleware.ratelimit"), and each value the text of a YAML or JSON scalar
// or document. It returns an error when bucket is not a valid bucket name
// (letters, digits, '-' and '_'). The source does no I/O until it is
// loaded, which needs the engine started.
//
// Load opens the bucket, creating it (keeping 10 values per key) when it
// does not exist, and reads it. Watch follows the bucket from the
// last revision read, key by key, in order. When the connection comes back
// after a disconnection, it resumes from the revision after the last one
// it reported, so that no revision is lost across a reconnect or a restart
// of the servers. When revisions it has not seen may be gone (the bucket
// was made again, or entries it had not read were removed), or when its
// watch falls silent while the bucket has newer revisions, it reads the
// whole bucket again and reports it as a reset ([config.Change]).
//
// Anyone who may publish to the bucket's subjects ($KV.<bucket>.>) can
// change the application's configuration: restrict them with NATS
// permissions (see docs/config.md).
func (e *Engine) ConfigSource(bucket string) (config.Source, error) {
	if !bucketName.MatchString(bucket) {
		return nil, fmt.Errorf("engine: %q is not a key-value bucket name (letters, digits, '-' and '_')", bucket)
	}
	return &kvSource{e: e, bucket: bucket, audit: auditInterval}, nil
}

// kvSource is the [config.Source] of a key-value bucket.
type kvSource struct {
	e      *Engine
	bucket string
	audit  time.Duration

	mu      sync.Mutex // guards the fields below
	kv      jetstream.KeyValue
	rev     uint64    // the last revision reported
	created time.Time // when the bucket's stream was made, as last read
	reread  bool      // the next watch reads the whole bucket first
}

func (s *kvSource) Name() string { return "NATS key-value bucket " + s.bucket }

// Load implements [config.Source.Load].
func (s *kvSource) Load(ctx context.Context) (map[string][]byte, error) {
	kv, err := s.open(ctx)
	if err != nil {
		return nil, err
	}
	values, rev, created, err := s.read(ctx, kv)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.rev, s.created, s.reread = rev, created, false
	s.mu.Unlock()
	return values, nil
}

// open binds the bucket, creating it when it does not exist.
func (s *kvSource) open(ctx context.Context) (jetstream.KeyValue, error) {
	if s.e.Conn() == nil {
		return nil, errors.New("engine: the NATS engine has not started")
	}
	js, err := s.e.JetStream()
	if err != nil {
		return nil, err
	}
	kv, err := js.KeyValue(ctx, s.bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:      s.bucket,
			Description: "WeGO dynamic configuration: one configuration key per key (log.level), values in YAML or JSON",
			History:     configHistory,
		})
		switch {
		case errors.Is(err, jetstream.ErrBucketExists): // another process made it first
			kv, err = js.KeyValue(ctx, s.bucket)
		case err == nil:
			s.e.logger.Info("nats: created the configuration bucket", zap.String("bucket", s.bucket))
		}
	}
	if err != nil {
		return nil, fmt.Errorf("engine: open the key-value bucket: %w", err)
	}
	s.mu.Lock()
	s.kv = kv
	s.mu.Unlock()
	return kv, nil
}

// info returns the state of the bucket's stream.
func (s *kvSource) info(ctx context.Context) (*jetstream.StreamInfo, error) {
	js, err := s.e.JetStream()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()
	st, err := js.Stream(ctx, "KV_"+s.bucket)
	if err != nil {
		return nil, fmt.Errorf("engine: the key-value bucket's stream: %w", err)
	}
	return st.CachedInfo(), nil
}

// read returns the bucket's values, the revision they are at and when the
// bucket was made.
func (s *kvSource) read(ctx context.Context, kv jetstream.KeyValue) (map[string][]byte, uint64, time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()
	info, err := s.info(ctx)
	if err != nil {
		return nil, 0, time.Time{}, err
	}
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return nil, 0, time.Time{}, fmt.Errorf("engine: read the key-value bucket: %w", err)
	}
	defer stopWatcher(w)
	values := map[string][]byte{}
	rev := info.State.LastSeq
	for {
		select {
		case <-ctx.Done():
			return nil, 0, time.Time{}, fmt.Errorf("engine: read the key-value bucket: %w", ctx.Err())
		case e, ok := <-w.Updates():
			switch {
			case !ok:
				return nil, 0, time.Time{}, errors.New("engine: read the key-value bucket: the watcher stopped")
			case e == nil: // the end of the current values
				return values, rev, info.Created, nil
			case e.Operation() == jetstream.KeyValuePut:
				values[e.Key()] = e.Value()
			default:
				delete(values, e.Key())
			}
			rev = max(rev, e.Revision())
		}
	}
}

// Watch implements [config.Source.Watch].
func (s *kvSource) Watch(ctx context.Context, fn func(config.Change)) error {
	nc := s.e.Conn()
	if nc == nil {
		return errors.New("engine: the NATS engine has not started")
	}
	status := nc.StatusChanged(nats.CONNECTED)
	defer nc.RemoveStatusListener(status)
	const minPause = 50 * time.Millisecond
	pause := minPause
	for {
		err := s.follow(ctx, status, fn)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, errReconnected):
			s.mu.Lock()
			rev := s.rev
			s.mu.Unlock()
			s.e.logger.Info("nats: reconnected; the configuration bucket resumes after the last revision seen",
				zap.String("bucket", s.bucket), zap.Uint64("revision", rev))
			pause = minPause
			continue
		case nc.IsClosed():
			return fmt.Errorf("engine: the NATS connection closed: %w", err)
		case nc.Status() != nats.CONNECTED:
			// The engine logs the disconnection; resume once it ends.
			select {
			case <-ctx.Done():
				return nil
			case <-status:
			}
			continue
		}
		s.e.logger.Warn("nats: following the configuration bucket failed, retrying", zap.String("bucket", s.bucket),
			zap.Duration("retry_in", pause), zap.Error(err))
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-status:
		case <-t.C:
		}
		t.Stop()
		pause = min(2*pause, s.audit)
	}
}

// follow reports the bucket's changes after the last revision reported,
// first reading it whole when revisions may be missing, until ctx is done
// (nil), a reconnect (errReconnected) or a failure.
func (s *kvSource) follow(ctx context.Context, status <-chan nats.Status, fn func(config.Change)) error {
	s.mu.Lock()
	kv, rev, created, reread := s.kv, s.rev, s.created, s.reread
	s.mu.Unlock()
	var err error
	if kv == nil {
		if kv, err = s.open(ctx); err != nil {
			return err
		}
	}
	info, err := s.info(ctx)
	if errors.Is(err, jetstream.ErrStreamNotFound) { // the bucket was removed: make it again
		if kv, err = s.open(ctx); err == nil {
			info, err = s.info(ctx)
		}
	}
	if err != nil {
		return err
	}
	st := info.State
	if reread || !info.Created.Equal(created) || st.LastSeq < rev || st.FirstSeq > rev+1 {
		s.e.logger.Warn("nats: changes of the configuration bucket may have been missed; reading it whole again",
			zap.String("bucket", s.bucket), zap.Uint64("last_seen", rev), zap.Uint64("first", st.FirstSeq), zap.Uint64("last", st.LastSeq))
		values, r, c, err := s.read(ctx, kv)
		if err != nil {
			return err
		}
		fn(config.Change{Reset: true, Values: values})
		rev, created = r, c
		s.mu.Lock()
		s.rev, s.created, s.reread = rev, created, false
		s.mu.Unlock()
	}

	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := kv.WatchAll(wctx, jetstream.ResumeFromRevision(rev+1))
	if err != nil {
		return fmt.Errorf("engine: watch the key-value bucket: %w", err)
	}
	defer stopWatcher(w)
	audit := time.NewTicker(s.audit)
	defer audit.Stop()
	due := st.LastSeq // the last revision the bucket had at the last audit
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-status:
			return errReconnected
		case <-audit.C:
			info, err := s.info(ctx)
			switch {
			case err != nil:
				return err
			case !info.Created.Equal(created), info.State.LastSeq < rev:
				return errors.New("engine: the key-value bucket was made again")
			case rev < due:
				s.mu.Lock()
				s.reread = true
				s.mu.Unlock()
				return fmt.Errorf("engine: the watch of the key-value bucket is stuck at revision %d; it was at %d an audit ago", rev, due)
			}
			due = info.State.LastSeq
		case e, ok := <-w.Updates():
			switch {
			case !ok:
				return errors.New("engine: the watcher of the key-value bucket stopped")
			case e == nil || e.Revision() <= rev: // the end of the backlog, or seen already
				continue
			}
			rev = e.Revision()
			s.mu.Lock()
			s.rev = rev
			s.mu.Unlock()
			var value []byte
			if e.Operation() == jetstream.KeyValuePut {
				value = e.Value()
			}
			fn(config.Change{Key: e.Key(), Value: value})
		}
	}
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
