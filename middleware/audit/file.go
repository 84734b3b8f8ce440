package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/wegomesh/wego/config"
)

// Durability policies of a [FileSink] (the key file.sync).
const (
	// SyncAlways fsyncs the file after every record: a record that was
	// written survives a crash of the machine, at the cost of a disk flush
	// per call.
	SyncAlways = "always"
	// SyncInterval fsyncs every sync_interval, from a background goroutine,
	// when records were written since the last flush: a machine crash may
	// lose the records of the last interval.
	SyncInterval = "interval"
	// SyncNever leaves flushing to the operating system.
	SyncNever = "never"
)

// Defaults of [FileConfig].
const (
	DefaultSync         = SyncAlways
	DefaultSyncInterval = 100 * time.Millisecond
	DefaultMaxBytes     = 100 << 20
	DefaultMaxFiles     = 10
)

// ErrClosed is returned by a [FileSink]'s Write after Close.
var ErrClosed = errors.New("audit: sink closed")

// FileConfig configures a [FileSink]: the key "middleware.audit.file". The
// zero value of each field means its default.
type FileConfig struct {
	// Path is the file records are appended to, one JSON object per line.
	// It is created with mode 0600 if needed; its directory must exist.
	// Required when the sink is "file".
	Path string `mapstructure:"path"`
	// Sync is the durability policy: "always" (default), "interval" or
	// "never" (see [SyncAlways]).
	Sync string `mapstructure:"sync"`
	// SyncInterval is the period of the "interval" policy. Default 100ms.
	SyncInterval time.Duration `mapstructure:"sync_interval"`
	// MaxBytes is the size beyond which the file is rotated: renamed to
	// path.1 (path.1 to path.2, and so on) and opened anew. Zero means
	// [DefaultMaxBytes] (100 MiB); a negative value never rotates.
	MaxBytes int64 `mapstructure:"max_bytes"`
	// MaxFiles is how many rotated files (path.1 … path.N) are kept; older
	// ones are deleted. Default 10.
	MaxFiles int `mapstructure:"max_files"`
}

func (c FileConfig) withDefaults() FileConfig {
	if c.Sync == "" {
		c.Sync = DefaultSync
	}
	if c.SyncInterval == 0 {
		c.SyncInterval = DefaultSyncInterval
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.MaxFiles == 0 {
		c.MaxFiles = DefaultMaxFiles
	}
	return c
}

// validate checks c, naming keys relative to it ("path").
func (c FileConfig) validate(needPath bool) error {
	if needPath && c.Path == "" {
		return config.Errorf("path", "required when the sink is file")
	}
	switch c.Sync {
	case "", SyncAlways, SyncInterval, SyncNever:
	default:
		return config.Errorf("sync", "unknown policy %q (want always, interval or never)", c.Sync)
	}
	if c.SyncInterval < 0 {
		return config.Errorf("sync_interval", "must not be negative, got %s", c.SyncInterval)
	}
	if c.MaxFiles < 0 {
		return config.Errorf("max_files", "must not be negative, got %d", c.MaxFiles)
	}
	return nil
}

// FileSink appends records to a file as JSON lines, with a durability
// policy and size-based rotation. Each record is written with one write
// system call, so a process that crashes between calls leaves only
// complete lines; Sync "always" makes them survive a machine crash too.
type FileSink struct {
	cfg FileConfig

	mu     sync.Mutex
	f      *os.File
	size   int64
	buf    bytes.Buffer
	enc    *json.Encoder
	dirty  bool // written since the last fsync
	closed bool

	stop chan struct{} // closed by Close to stop the flusher
	done chan struct{} // closed by the flusher when it returns
}

// NewFileSink opens (or creates) the file of cfg and, with the "interval"
// policy, starts the goroutine that flushes it; Close stops it. Errors name
// the keys under "middleware.audit.file".
func NewFileSink(cfg FileConfig) (*FileSink, error) {
	const key = Section + ".file"
	if err := cfg.validate(true); err != nil {
		return nil, config.Under(key, err)
	}
	s := &FileSink{cfg: cfg.withDefaults()}
	s.enc = json.NewEncoder(&s.buf)
	s.enc.SetEscapeHTML(false)
	if err := s.open(); err != nil {
		return nil, config.Errorf(key+".path", "cannot open: %w", err)
	}
	if s.cfg.Sync == SyncInterval {
		s.stop, s.done = make(chan struct{}), make(chan struct{})
		go s.flusher()
	}
	return s, nil
}

func (s *FileSink) open() error {
	f, err := os.OpenFile(s.cfg.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	s.f, s.size = f, st.Size()
	return nil
}

// Write appends r as one JSON line, rotating the file first when the line
// would take it past max_bytes, and fsyncs it with the "always" policy.
func (s *FileSink) Write(_ context.Context, r *Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.buf.Reset()
	if err := s.enc.Encode(r); err != nil {
		return fmt.Errorf("audit: encode record: %w", err)
	}
	line := s.buf.Bytes()
	if s.cfg.MaxBytes > 0 && s.size > 0 && s.size+int64(len(line)) > s.cfg.MaxBytes {
		if err := s.rotate(); err != nil {
			return err
		}
	}
	if s.f == nil { // a failed rotation left no file: try again
		if err := s.open(); err != nil {
			return fmt.Errorf("audit: reopen %s: %w", s.cfg.Path, err)
		}
	}
	n, err := s.f.Write(line)
	s.size += int64(n)
	if err != nil {
		return fmt.Errorf("audit: write %s: %w", s.cfg.Path, err)
	}
	if s.cfg.Sync == SyncAlways {
		if err := s.f.Sync(); err != nil {
			return fmt.Errorf("audit: sync %s: %w", s.cfg.Path, err)
		}
		return nil
	}
	s.dirty = true
	return nil
}

// rotate closes the file, shifts path.i to path.i+1 (dropping the last),
// renames the file to path.1 and opens a new one. Called with s.mu held.
func (s *FileSink) rotate() error {
	if s.f != nil {
		_ = s.f.Sync()
		if err := s.f.Close(); err != nil {
			s.f = nil
			return fmt.Errorf("audit: rotate %s: %w", s.cfg.Path, err)
		}
		s.f = nil
	}
	p := s.cfg.Path
	n := s.cfg.MaxFiles
	if err := os.Remove(p + "." + strconv.Itoa(n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("audit: rotate %s: %w", p, err)
	}
	for i := n - 1; i >= 1; i-- {
		err := os.Rename(p+"."+strconv.Itoa(i), p+"."+strconv.Itoa(i+1))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("audit: rotate %s: %w", p, err)
		}
	}
	if n > 0 {
		if err := os.Rename(p, p+".1"); err != nil {
			return fmt.Errorf("audit: rotate %s: %w", p, err)
		}
	} else if err := os.Remove(p); err != nil {
		return fmt.Errorf("audit: rotate %s: %w", p, err)
	}
	if err := s.open(); err != nil {
		return fmt.Errorf("audit: rotate %s: %w", p, err)
	}
	return nil
}

func (s *FileSink) flusher() {
	defer close(s.done)
	t := time.NewTicker(s.cfg.SyncInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			_ = s.Sync()
		}
	}
}

// Sync fsyncs the file if records were written since the last fsync.
func (s *FileSink) Sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || !s.dirty || s.f == nil {
		return nil
	}
	s.dirty = false
	return s.f.Sync()
}

// Close stops the flusher, fsyncs and closes the file. It is safe to call
// more than once; later calls do nothing.
func (s *FileSink) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	if s.stop != nil {
		close(s.stop)
		<-s.done
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := errors.Join(s.f.Sync(), s.f.Close())
	s.f = nil
	return err
}

var _ Sink = (*FileSink)(nil)
