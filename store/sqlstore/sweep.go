package sqlstore

import (
	"context"
	"time"

	"go.uber.org/zap"
)

// sample is the store's revision counter at a time, kept to know which
// changes are older than Options.History.
type sample struct {
	at       time.Time
	revision int64
}

// sweeper deletes expired records every sweepInterval, and trims the
// store's history, until the store closes. Every Store of a table sweeps
// it; a record is deleted once, by a delete conditional on its revision.
func (s *Store) sweeper() {
	defer s.wg.Done()
	tick := time.NewTicker(sweepInterval)
	defer tick.Stop()
	every := min(max(s.opts.History/10, sweepInterval), time.Minute)
	var samples []sample
	var sampled time.Time
	var trimmed int64
	var logged time.Time
	for {
		select {
		case <-s.bg.Done():
			return
		case <-tick.C:
		}
		err := s.sweep()
		if err == nil && time.Since(sampled) >= every {
			sampled = time.Now()
			samples, trimmed, err = s.trim(samples, trimmed)
		}
		if err != nil && s.bg.Err() == nil && time.Since(logged) > 10*time.Second {
			logged = time.Now()
			s.log.Warn("sqlstore: the sweep of expired records failed; retrying", zap.Error(err))
		}
	}
}

// sweep deletes the records that have expired.
func (s *Store) sweep() error {
	ctx, cancel := context.WithTimeout(s.bg, 30*time.Second)
	defer cancel()
	type expired struct {
		key      string
		revision int64
	}
	var found []expired
	rs, err := s.x.query(ctx, s.q.expired)
	if err != nil {
		return err
	}
	for rs.Next() {
		var e expired
		if err := rs.Scan(&e.key, &e.revision); err != nil {
			rs.Close()
			return err
		}
		found = append(found, e)
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return err
	}
	deleted := false
	for _, e := range found {
		// Only if it is still the expired record: a write may have
		// renewed it since.
		n, err := s.deleteWith(ctx, s.q.expire, e.key, e.revision)
		if err != nil {
			return err
		}
		deleted = deleted || n > 0
	}
	if deleted {
		s.changed()
	}
	return nil
}

// trim records the store's revision now, and deletes the changes of the
// history that are older than Options.History. It returns the samples
// still needed and the revision up to which the history is trimmed.
func (s *Store) trim(samples []sample, trimmed int64) ([]sample, int64, error) {
	ctx, cancel := context.WithTimeout(s.bg, 30*time.Second)
	defer cancel()
	var counter, horizon int64
	if err := s.x.queryRow(ctx, s.q.horizon).Scan(&counter, &horizon); err != nil {
		return samples, trimmed, err
	}
	now := time.Now()
	samples = append(samples, sample{at: now, revision: counter})
	// The newest sample older than History: every change up to its
	// revision is older than History.
	cut := -1
	for i, sm := range samples {
		if now.Sub(sm.at) >= s.opts.History {
			cut = i
		}
	}
	if cut < 0 {
		return samples, trimmed, nil
	}
	rev := samples[cut].revision
	samples = append(samples[:0], samples[cut+1:]...)
	if rev <= max(trimmed, horizon) {
		return samples, max(trimmed, horizon), nil
	}
	if err := s.lockWrite(ctx); err != nil {
		return samples, trimmed, err
	}
	defer s.unlockWrite()
	var err error
	var busy time.Time
	for {
		err = s.x.tx(ctx, false, func(q querier) error {
			for _, stmt := range s.q.trim {
				if err := q.exec(ctx, stmt, rev); err != nil {
					return err
				}
			}
			return nil
		})
		if !s.retryBusy(ctx, err, &busy) {
			break
		}
	}
	if err != nil {
		return samples, trimmed, err
	}
	return samples, rev, nil
}
