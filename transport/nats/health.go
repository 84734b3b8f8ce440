package natstransport

import (
	"context"
	"math"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/wegomesh/wego/config"
	errs "github.com/wegomesh/wego/err"
)

// HealthConfig decides when a server takes itself out of its services'
// queue groups, the section "nats_server.health". NATS's queue groups pick
// a member at random and ignore how it fares; a replica that fails its
// requests, or takes too long, or is not ready, would keep getting its
// share. A server that crosses a limit leaves its queue groups — NATS
// sends it nothing more, and its requests go to the other replicas — and
// rejoins after Probation, on probation: its first failure before
// MinRequests successes takes it out again at once, so that a replica
// that is still failing costs its callers one failure per Probation.
//
// Only the server's own faults count: an internal or unavailable error
// (overloaded included). A caller's mistake (invalid_argument, not_found)
// and a canceled or timed-out call never count against it; slowness is
// what Latency is for.
type HealthConfig struct {
	// ErrorRate is the share of failed requests, over Window, above
	// which the server leaves. Default 0.5; 0 turns the check off.
	ErrorRate float64 `mapstructure:"error_rate"`
	// MinRequests is how many requests a Window needs before ErrorRate
	// is judged. Default 20.
	MinRequests int `mapstructure:"min_requests"`
	// Latency is the limit of the moving average of the time requests
	// take (an EWMA over about the last 16); above it the server leaves.
	// Default 0: off.
	Latency time.Duration `mapstructure:"latency"`
	// Window is the period over which the error rate is counted. Default
	// 10s.
	Window time.Duration `mapstructure:"window"`
	// Interval is how often the server judges its health. Default 1s.
	Interval time.Duration `mapstructure:"interval"`
	// Probation is how long a server stays out before it rejoins.
	// Default 5s.
	Probation time.Duration `mapstructure:"probation"`
}

// DefaultHealthConfig returns the defaults of [HealthConfig].
func DefaultHealthConfig() HealthConfig {
	return HealthConfig{ErrorRate: 0.5, MinRequests: 20, Window: 10 * time.Second, Interval: time.Second, Probation: 5 * time.Second}
}

// validate reports a wrong value, with keys relative to the server's
// section.
func (h *HealthConfig) validate() error {
	switch {
	case h.ErrorRate < 0 || h.ErrorRate > 1 || math.IsNaN(h.ErrorRate):
		return config.Errorf("health.error_rate", "must be from 0 to 1, got %v", h.ErrorRate)
	case h.MinRequests < 1:
		return config.Errorf("health.min_requests", "must be at least 1, got %d", h.MinRequests)
	case h.Latency < 0:
		return config.Errorf("health.latency", "must not be negative, got %s", h.Latency)
	case h.Window <= 0:
		return config.Errorf("health.window", "must be positive, got %s", h.Window)
	case h.Interval <= 0:
		return config.Errorf("health.interval", "must be positive, got %s", h.Interval)
	case h.Probation <= 0:
		return config.Errorf("health.probation", "must be positive, got %s", h.Probation)
	}
	return nil
}

// Health sets [ServerConfig.Health].
func Health(h HealthConfig) ServerOption { return func(c *ServerConfig) { c.Health = h } }

// Ready makes the server leave its queue groups while ready reports false
// (a dependency the application cannot work without is down), and rejoin
// after probation once it reports true again. ready is called at each
// health interval; it must be fast and safe for concurrent use.
func Ready(ready func() bool) ServerOption {
	return func(c *ServerConfig) { c.ready = ready }
}

// health counts the outcomes of a server's requests.
type health struct {
	cfg    HealthConfig
	total  atomic.Int64
	failed atomic.Int64
	ewma   atomic.Int64 // nanoseconds
	// probation is true from a rejoin until MinRequests requests have
	// succeeded: one failure then trips the server out at once.
	probation atomic.Bool
	trip      chan struct{}
}

func newHealth(cfg HealthConfig) *health { return &health{cfg: cfg, trip: make(chan struct{}, 1)} }

// timed reports whether record wants the time requests take: only when
// a latency limit is set.
func (h *health) timed() bool { return h.cfg.Latency > 0 }

// record counts one request's outcome: err is what the caller was
// answered, nil after a success; d is the time it took, when timed.
func (h *health) record(err error, d time.Duration) {
	switch errs.KindOf(err) {
	case errs.KindCanceled, errs.KindDeadlineExceeded:
		return // the caller's time, not the server's health
	case errs.KindInternal, errs.KindUnavailable:
		h.failed.Add(1)
		if h.probation.Load() {
			select {
			case h.trip <- struct{}{}:
			default:
			}
		}
	}
	if n := h.total.Add(1); n >= int64(h.cfg.MinRequests) && h.probation.Load() && h.failed.Load() == 0 {
		h.probation.Store(false)
	}
	if !h.timed() {
		return
	}
	for {
		old := h.ewma.Load()
		next := old + (int64(d)-old)/16
		if old == 0 {
			next = int64(d)
		}
		if h.ewma.CompareAndSwap(old, next) {
			return
		}
	}
}

// reset starts a new window; latency starts afresh too when all is true.
func (h *health) reset(all bool) {
	h.total.Store(0)
	h.failed.Store(0)
	if all {
		h.ewma.Store(0)
	}
}

// verdict returns why the server should leave, or "". A server on
// probation is judged by its first failure instead (record trips it).
func (h *health) verdict(ready func() bool) (string, []zap.Field) {
	if ready != nil && !ready() {
		return "not ready", nil
	}
	total, failed := h.total.Load(), h.failed.Load()
	if h.cfg.ErrorRate > 0 && total >= int64(h.cfg.MinRequests) {
		if rate := float64(failed) / float64(total); rate > h.cfg.ErrorRate {
			return "error rate", []zap.Field{zap.Float64("error_rate", rate), zap.Int64("requests", total),
				zap.Float64("limit", h.cfg.ErrorRate)}
		}
	}
	if l := time.Duration(h.ewma.Load()); h.cfg.Latency > 0 && l > h.cfg.Latency {
		return "latency", []zap.Field{zap.Duration("latency", l), zap.Duration("limit", h.cfg.Latency)}
	}
	return "", nil
}

// monitor judges the server's health every interval until ctx ends; it
// closes done when it returns.
func (s *Server) monitor(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	cfg := s.cfg.Health
	tick := time.NewTicker(cfg.Interval)
	defer tick.Stop()
	windowStart, leftAt := time.Now(), time.Time{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.health.trip:
			s.mu.Lock()
			if !s.left && s.health.probation.Load() {
				s.stopServices()
				s.left, leftAt = true, time.Now()
				s.log.Warn("nats: leaving the queue groups again: a request failed on probation",
					zap.Strings("services", s.order), zap.Duration("probation", cfg.Probation))
			}
			s.mu.Unlock()
		case now := <-tick.C:
			s.mu.Lock()
			switch {
			case s.left && now.Sub(leftAt) >= cfg.Probation:
				if s.cfg.ready != nil && !s.cfg.ready() {
					leftAt = now // still not ready: another probation
					break
				}
				s.health.reset(true)
				s.health.probation.Store(true)
				windowStart = now
				if err := s.join(ctx); err != nil {
					s.log.Error("nats: rejoining the queue groups", zap.Error(err))
					leftAt = now
					break
				}
				s.left = false
				s.log.Info("nats: rejoined the queue groups after probation", zap.Strings("services", s.order))
			case !s.left:
				if why, fields := s.health.verdict(s.cfg.ready); why != "" {
					s.stopServices()
					s.left, leftAt = true, now
					s.log.Warn("nats: leaving the queue groups: "+why,
						append(fields, zap.Strings("services", s.order), zap.Duration("probation", cfg.Probation))...)
				} else if now.Sub(windowStart) >= cfg.Window {
					s.health.reset(false)
					windowStart = now
				}
			}
			s.mu.Unlock()
		}
	}
}
