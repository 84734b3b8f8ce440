package config

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"
)

// subscription is one call of Watch.
type subscription struct {
	key     string                       // the section, normalized
	decode  func(*snapshot) (any, error) // returns a *T
	deliver func(any)                    // takes a *T
	last    any                          // last *T delivered; guarded by Config.reloadMu
	stopped atomic.Bool
}

// Watch decodes the section at key as [GetWithDefaults] does, calls fn with
// it, and then calls fn again with the new value after each reload, or
// change of an attached [Source], that changes the section (see
// [Config.Start], [Config.Reload] and [Config.Attach]). stop ends the
// subscription; it may be called more than once and from fn, and a call of
// fn already under way when stop is called may still complete.
//
// If the section does not decode or validate now, Watch returns the error
// and does not call fn. A reload or a change in which this section (or any
// other watched section) is invalid is rejected as a whole: fn is not
// called and readers keep the previous values.
//
// Calls of fn, for all subscriptions of a Config, happen one at a time, in
// the order of the versions they deliver. fn may read the Config, but it must
// not call Watch, Reload, Attach or Close, which wait for fn to return.
func Watch[T any](c *Config, key string, defaults T, fn func(T)) (stop func(), err error) {
	if fn == nil {
		return nil, &Error{Key: normalizeKey(key), Err: errors.New("Watch needs a function")}
	}
	// Keep a private copy, safe from later changes by the caller.
	d := *clone(reflect.ValueOf(&defaults).Elem()).Addr().Interface().(*T)
	sub := &subscription{
		key: normalizeKey(key),
		decode: func(s *snapshot) (any, error) {
			t, err := getWithDefaults(c, s, key, d)
			if err != nil {
				return nil, err
			}
			return &t, nil
		},
		deliver: func(v any) { fn(*v.(*T)) },
	}

	c.reloadMu.Lock()
	defer c.reloadMu.Unlock()
	v, err := sub.decode(c.snap.Load())
	if err != nil {
		return nil, err
	}
	sub.last = v
	c.mu.Lock()
	c.subs = append(c.subs, sub)
	c.mu.Unlock()
	sub.deliver(v)

	return func() {
		if sub.stopped.Swap(true) {
			return
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		c.subs = slices.DeleteFunc(c.subs, func(s *subscription) bool { return s == sub })
	}, nil
}

// Reload reads every layer again and, if the file parses, the top-level keys
// are known (see [Config.CheckKnown]) and every watched section decodes and
// validates, replaces the configuration atomically and calls the subscribers
// whose section changed. Otherwise it keeps the previous configuration, logs
// each problem at error level, naming the key and the file, and returns the
// problems. The file watcher calls Reload; call it yourself to reload on a
// signal such as SIGHUP. The values of an attached [Source] stay as they
// are: Reload reads the files, the source reports its own changes.
func (c *Config) Reload() error {
	c.reloadMu.Lock()
	defer c.reloadMu.Unlock()

	s, err := c.build()
	out := outcome{ok: msgReloaded, rejected: msgReloadRejected}
	if err == nil {
		cur := c.snap.Load()
		s.dynName, s.dyn, s.dynLeaves = cur.dynName, cur.dyn, cur.dynLeaves
		out.okFields = []zap.Field{zap.String("env", c.env), zap.String("file", s.label)}
	}
	return c.commit(s, err, out)
}

// Messages of the log lines of reloads.
const (
	msgReloaded       = "config: reloaded"
	msgReloadRejected = "config: reload rejected; keeping the previous configuration"
)

// outcome says what commit logs: ok and okFields when the new version is
// made current, or, for each problem, rejected with the problem's key, file
// and source and rejectedFields.
type outcome struct {
	ok, rejected   string
	okFields       []zap.Field
	rejectedFields []zap.Field
}

// commit makes s the configuration when err is nil, the top-level keys are
// known and every watched section decodes and validates in s, and then
// calls the subscribers whose section changed. Otherwise it keeps the
// previous configuration, logs each problem at error level and returns the
// problems. c.reloadMu must be held.
func (c *Config) commit(s *snapshot, err error, out outcome) error {
	c.mu.Lock()
	subs := slices.Clone(c.subs)
	known := c.known
	c.mu.Unlock()

	values := make([]any, len(subs))
	if err == nil {
		var errs []error
		if known != nil {
			errs = append(errs, checkKnown(s, known))
		}
		for i, sub := range subs {
			v, err := sub.decode(s)
			values[i] = v
			errs = append(errs, err)
		}
		err = errors.Join(errs...)
	}
	if err != nil {
		for _, e := range flattenJoin(err) {
			fields := []zap.Field{zap.Error(e)}
			if ce := (*Error)(nil); errors.As(e, &ce) {
				fields = append(fields, zap.String("key", ce.Key), zap.String("file", ce.File))
				if ce.Source != "" {
					fields = append(fields, zap.String("source", ce.Source))
				}
			}
			c.logger().Error(out.rejected, append(fields, out.rejectedFields...)...)
		}
		return err
	}

	c.snap.Store(s)
	c.logger().Info(out.ok, out.okFields...)
	for i, sub := range subs {
		if sub.stopped.Load() || reflect.DeepEqual(sub.last, values[i]) {
			continue
		}
		sub.last = values[i]
		sub.deliver(values[i])
	}
	return nil
}

// Start starts watching the configuration directories that exist (see [Dir])
// for changes to the environment's file, and reloads (see [Config.Reload])
// once a burst of changes has been quiet for the [Debounce] delay. The
// directory rather than the file is watched, so editors and tools that
// replace the file (write a temporary file, then rename it, or Kubernetes
// ConfigMap volumes, which swap a symbolic link named "..data") are seen.
//
// Start returns at once; the watcher runs until ctx is done or
// [Config.Close] is called. When no directory exists, as for a binary that
// only has an embedded file, Start does nothing and returns nil. Starting a
// watcher that is running is an error.
func (c *Config) Start(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done != nil {
		select {
		case <-c.done:
		default:
			return &Error{Err: errors.New("the file watcher is already running")}
		}
	}

	var dirs []string
	for _, d := range c.o.dirs {
		if st, err := os.Stat(d); err == nil && st.IsDir() && !slices.Contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	if len(dirs) == 0 {
		c.logger().Debug("config: no configuration directory to watch", zap.Strings("dirs", c.o.dirs))
		return nil
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return &Error{Err: fmt.Errorf("starting the file watcher: %w", err)}
	}
	for _, d := range dirs {
		if err := w.Add(d); err != nil {
			_ = w.Close()
			return &Error{File: d, Err: fmt.Errorf("watching the directory: %w", err)}
		}
	}
	names := map[string]bool{"..data": true}
	for _, ext := range extensions {
		names[c.env+"."+ext] = true
	}

	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	c.cancel, c.done = cancel, done
	go c.watch(ctx, cancel, w, names, done)
	return nil
}

// watch runs the file watcher until ctx is done.
func (c *Config) watch(ctx context.Context, cancel func(), w *fsnotify.Watcher, names map[string]bool, done chan<- struct{}) {
	defer close(done)
	defer cancel()
	defer w.Close()

	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			if ev.Op == fsnotify.Chmod || !names[filepath.Base(ev.Name)] {
				continue
			}
			c.logger().Debug("config: file changed", zap.String("file", ev.Name), zap.Stringer("op", ev.Op))
			timer.Reset(c.o.debounce)
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			c.logger().Warn("config: file watcher", zap.Error(err))
		case <-timer.C:
			_ = c.Reload() // Reload logs what it rejects.
		}
	}
}

// Close stops the file watcher started by [Config.Start] and the
// following of the [Source] attached with [Config.Attach], and waits for
// them to end, so that no goroutine is left behind. The Config stays
// readable, with the source's last values. Close may be called more than
// once and without Start or Attach.
func (c *Config) Close() error {
	c.mu.Lock()
	cancel, done := c.cancel, c.done
	c.cancel, c.done = nil, nil
	f := c.follower
	c.follower = nil
	c.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	if f != nil {
		f.cancel()
		<-f.done
	}
	return nil
}
