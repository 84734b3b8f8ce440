package natsstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/store"
)

// The headers of a record's message.
const (
	hdrFence  = "Wego-Fence"         // the record's fencing token
	hdrMeta   = "Wego-Meta"          // the record's metadata, k=v&k=v, URL-escaped
	hdrOp     = "KV-Operation"       // DEL or PURGE: a delete marker (NATS key-value's own)
	hdrMarker = "Nats-Marker-Reason" // a marker the server left when a record expired
	hdrTTL    = jetstream.MsgTTLHeader
	hdrRollup = jetstream.MsgRollup

	hdrExpect     = jetstream.ExpectedLastSubjSeqHeader
	hdrExpectSubj = "Nats-Expected-Last-Subject-Sequence-Subject"

	hdrStatus   = "Status"
	hdrSequence = jetstream.SequenceHeader
	hdrTime     = jetstream.TimeStampHeaer
)

// Get returns the record of key. On a bucket with one replica it asks the
// stream's server directly; with replicas, it asks the stream's leader, so
// that it sees every write acknowledged before it.
func (s *Store) Get(ctx context.Context, key string) (store.Record, error) {
	if err := store.CheckKeyContext(ctx, key); err != nil {
		return store.Record{}, err
	}
	c, err := s.conn()
	if err != nil {
		return store.Record{}, err
	}
	var m raw
	found, err := c.last(ctx, key, &m)
	if err != nil {
		return store.Record{}, c.fail("get", key, err)
	}
	var now time.Time
	if found {
		if r, live := record(key, &m, &now); live {
			return r, nil
		}
	}
	return store.Record{}, store.ErrNotFound.New(errs.P("key", key))
}

// Put writes value under key if the conditions of opts hold, and returns
// the revision of the write.
//
// A write without conditions is one message, which the server takes only
// if the key has never had a fence (a hidden record _fence.<key> tells
// that it has); otherwise, and for every write with a condition, the
// store reads the key's record first and writes with a compare-and-set on
// its revision, carrying its fence, trying again when another writer came
// in between (except with IfRevision, where that is a conflict).
func (s *Store) Put(ctx context.Context, key string, value []byte, opts store.PutOptions) (uint64, error) {
	c, err := s.conn()
	if err != nil {
		if err := store.CheckKeyContext(ctx, key); err != nil {
			return 0, err
		}
		return 0, err
	}
	if err := store.CheckPutContext(ctx, key, value, opts, c.feat.MaxValue); err != nil {
		return 0, err
	}
	if opts.Fence == 0 && opts.IfRevision == 0 {
		// One message, on the condition that the key has no fence to
		// keep (no _fence record) or, for Create, that it has no record.
		m := c.message(key, value, &opts, 0)
		if opts.Create {
			m.Header[hdrExpect] = zero
			if seq, ok := c.tombs.take(key); ok {
				// The key's last message is likely the delete marker
				// this store wrote: create over it in one round trip.
				m.Header[hdrExpect] = []string{strconv.FormatUint(seq, 10)}
			}
		} else {
			m.Header[hdrExpect] = zero
			m.Header[hdrExpectSubj] = []string{c.flag + key}
		}
		rev, err := c.publish(ctx, m)
		if !wrongLast(err) {
			if err != nil {
				return 0, c.fail("put", key, err)
			}
			return rev, nil
		}
	}
	ctx, cancel := withTimeout(ctx)
	if cancel != nil {
		defer cancel()
	}
	return c.update(ctx, key, value, &opts)
}

// zero is the header value of an expectation that a subject is empty.
var zero = []string{"0"}

// update is Put's read-modify-write: it reads the key's record, checks the
// conditions of opts on it, and writes with a compare-and-set on its
// revision, until the write succeeds or a condition fails.
func (c *conn) update(ctx context.Context, key string, value []byte, opts *store.PutOptions) (uint64, error) {
	flagged := false
	for attempt := 0; ; attempt++ {
		var m raw
		found, err := c.last(ctx, key, &m)
		if err != nil {
			return 0, c.fail("put", key, err)
		}
		var cur store.Record
		live := false
		if found {
			now := c.s.now()
			cur, live = record(key, &m, &now)
			if expiring(&cur, now) {
				// Let the server remove the record first: see expiring.
				if err := pause(ctx, expiryPoll); err != nil {
					return 0, c.fail("put", key, err)
				}
				attempt = -1
				continue
			}
			if !live && !m.marker() {
				// Expired by this host's clock long ago, and still not
				// removed by the server, whose clock decides: this
				// host's clock is ahead of the server's (or the server
				// is late). The record stands until the server's
				// marker; writing over it would take a live lock.
				live = true
			}
		}
		switch {
		case live && opts.Fence != 0 && cur.Fence > opts.Fence:
			return 0, store.ErrFenced.New(errs.P("key", key))
		case opts.Create && live:
			return 0, store.ErrConflict.New(errs.P("key", key))
		case opts.IfRevision != 0 && (!live || cur.Revision != opts.IfRevision):
			return 0, store.ErrConflict.New(errs.P("key", key))
		}
		fence := opts.Fence
		if fence == 0 && live {
			fence = cur.Fence
		}
		if opts.Fence != 0 && cur.Fence == 0 && !flagged {
			// Mark the key as fenced before its record has a fence, so
			// that unconditional writes keep it from then on.
			if err := c.flagFence(ctx, key); err != nil {
				return 0, c.fail("put", key, err)
			}
			flagged = true
		}
		msg := c.message(key, value, opts, fence)
		expect := "0"
		if found {
			expect = strconv.FormatUint(m.seq, 10)
		}
		msg.Header[hdrExpect] = []string{expect}
		rev, err := c.publish(ctx, msg)
		switch {
		case err == nil:
			return rev, nil
		case !wrongLast(err):
			return 0, c.fail("put", key, err)
		case opts.IfRevision != 0:
			return 0, store.ErrConflict.New(errs.P("key", key))
		}
		if err := backoff(ctx, attempt); err != nil {
			return 0, c.fail("put", key, err)
		}
	}
}

// expiryGuard and expiryWait bound when a write waits for the server to
// remove an expiring record (see expiring), and expiryPoll is how often it
// reads the key again meanwhile.
const (
	expiryGuard = 250 * time.Millisecond
	expiryWait  = 3 * time.Second
	expiryPoll  = 5 * time.Millisecond
)

// expiring reports whether r, a key's last message read at now, is a
// record with a time-to-live that expires within expiryGuard or has
// expired less than expiryWait ago, and that the server has not removed
// yet.
//
// The server removes an expired record that is its key's last message by
// writing a delete marker that rolls the key up, and it decides that the
// record is the last one before it writes the marker, with no condition
// on the write. A write that lands in between is erased by the marker,
// after the server acknowledged it (nats-server 2.15; a test reproduces
// it under the race detector). A compare-and-set on such a record
// therefore waits until the server has removed it, and then writes after
// the marker.
func expiring(r *store.Record, now time.Time) bool {
	if r.Expires.IsZero() {
		return false
	}
	return now.Add(expiryGuard).After(r.Expires) && now.Before(r.Expires.Add(expiryWait))
}

// pause waits d, or until ctx ends.
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// flagFence writes the hidden record that says key has a fence, unless it
// exists.
func (c *conn) flagFence(ctx context.Context, key string) error {
	m := &nats.Msg{Subject: c.flag + key, Header: nats.Header{hdrExpect: zero}}
	_, err := c.publish(ctx, m)
	if wrongLast(err) {
		return nil
	}
	return err
}

// message returns the message that writes value under key with the
// attributes of opts and fence.
func (c *conn) message(key string, value []byte, opts *store.PutOptions, fence uint64) *nats.Msg {
	h := make(nats.Header, 4)
	if opts.TTL > 0 {
		secs := (opts.TTL + time.Second - 1) / time.Second
		h[hdrTTL] = []string{strconv.FormatInt(int64(secs), 10)}
	}
	if fence != 0 {
		h[hdrFence] = []string{strconv.FormatUint(fence, 10)}
	}
	if len(opts.Metadata) > 0 {
		h[hdrMeta] = []string{encodeMeta(opts.Metadata)}
	}
	return &nats.Msg{Subject: c.subj + key, Header: h, Data: value}
}

// Delete removes key if the conditions of opts hold. It writes a delete
// marker, which the bucket keeps for 15 minutes so that watches see the
// delete, and forgets the key's fence. A delete with a fence reads the
// key's record first and deletes it with a compare-and-set on its
// revision.
func (s *Store) Delete(ctx context.Context, key string, opts store.DeleteOptions) error {
	if err := store.CheckKeyContext(ctx, key); err != nil {
		return err
	}
	c, err := s.conn()
	if err != nil {
		return err
	}
	if opts.Fence == 0 {
		m := c.marker(key)
		if opts.IfRevision != 0 {
			m.Header[hdrExpect] = []string{strconv.FormatUint(opts.IfRevision, 10)}
		}
		seq, err := c.publish(ctx, m)
		switch {
		case err == nil:
			c.tombs.put(key, seq)
			return nil
		case wrongLast(err) && opts.IfRevision != 0:
			return store.ErrConflict.New(errs.P("key", key))
		}
		return c.fail("delete", key, err)
	}
	ctx, cancel := withTimeout(ctx)
	if cancel != nil {
		defer cancel()
	}
	for attempt := 0; ; attempt++ {
		var m raw
		found, err := c.last(ctx, key, &m)
		if err != nil {
			return c.fail("delete", key, err)
		}
		var cur store.Record
		live := false
		var now time.Time
		if found {
			cur, live = record(key, &m, &now)
		}
		switch {
		case live && cur.Fence > opts.Fence:
			return store.ErrFenced.New(errs.P("key", key))
		case opts.IfRevision != 0 && (!live || cur.Revision != opts.IfRevision):
			return store.ErrConflict.New(errs.P("key", key))
		case !live:
			return nil
		}
		msg := c.marker(key)
		msg.Header[hdrExpect] = []string{strconv.FormatUint(m.seq, 10)}
		seq, err := c.publish(ctx, msg)
		switch {
		case err == nil:
			c.tombs.put(key, seq)
			return nil
		case !wrongLast(err):
			return c.fail("delete", key, err)
		case opts.IfRevision != 0:
			return store.ErrConflict.New(errs.P("key", key))
		}
		if err := backoff(ctx, attempt); err != nil {
			return c.fail("delete", key, err)
		}
	}
}

// tombs remembers the revisions of the delete markers that a store wrote
// last, by key, so that a create of a key deleted before (a lock taken
// again) expects that marker as the key's last message and costs one round
// trip instead of three. A revision is only a guess, which the server
// checks: one that is out of date fails the create's condition, which is
// then done by reading the key first. Safe for concurrent use.
type tombs struct {
	mu sync.Mutex
	m  map[string]uint64
}

// maxTombs bounds the delete markers a store remembers.
const maxTombs = 4096

// put remembers seq as the revision of key's delete marker.
func (t *tombs) put(key string, seq uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = make(map[string]uint64)
	}
	if _, ok := t.m[key]; !ok && len(t.m) >= maxTombs {
		for k := range t.m { // forget any one
			delete(t.m, k)
			break
		}
	}
	t.m[key] = seq
}

// take returns and forgets the revision of key's delete marker, if the
// store remembers one.
func (t *tombs) take(key string) (uint64, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	seq, ok := t.m[key]
	if ok {
		delete(t.m, key)
	}
	return seq, ok
}

// markerTTLValue is the Nats-TTL of a delete marker.
var markerTTLValue = strconv.FormatInt(int64(markerTTL/time.Second), 10)

// marker returns the message that deletes key: a purge of its subject (no
// history is kept), which expires after markerTTL.
func (c *conn) marker(key string) *nats.Msg {
	return &nats.Msg{Subject: c.subj + key, Header: nats.Header{
		hdrOp:     {"PURGE"},
		hdrRollup: {jetstream.MsgRollupSubject},
		hdrTTL:    {markerTTLValue},
	}}
}

// backoff pauses before attempt+1 of a compare-and-set that lost a race:
// not at all at first, then growing up to 10ms, so that many writers of
// one key do not spin.
func backoff(ctx context.Context, attempt int) error {
	if attempt < 2 {
		return ctx.Err()
	}
	return pause(ctx, time.Duration(min(attempt, 10))*time.Millisecond)
}

// List returns the records under prefix, ordered by key as opts says.
func (s *Store) List(ctx context.Context, prefix string, opts store.ListOptions) ([]store.Record, error) {
	if err := store.CheckList(opts); err != nil {
		return nil, err
	}
	c, err := s.conn()
	if err != nil {
		return nil, err
	}
	rs, err := c.scan(ctx, prefix, opts, false)
	if err != nil {
		return nil, c.fail("list", prefix, err)
	}
	return rs, nil
}

// Keys returns the keys under prefix, ordered as opts says. It reads the
// records' headers only.
func (s *Store) Keys(ctx context.Context, prefix string, opts store.ListOptions) ([]string, error) {
	if err := store.CheckList(opts); err != nil {
		return nil, err
	}
	c, err := s.conn()
	if err != nil {
		return nil, err
	}
	rs, err := c.scan(ctx, prefix, opts, true)
	if err != nil {
		return nil, c.fail("keys", prefix, err)
	}
	keys := make([]string, len(rs))
	for i := range rs {
		keys[i] = rs[i].Key
	}
	return keys, nil
}

// scan returns the live records under prefix, sorted and paged as opts
// says: an ephemeral consumer delivers the last message of each subject
// under the prefix's subject filter.
func (c *conn) scan(ctx context.Context, prefix string, opts store.ListOptions, headersOnly bool) ([]store.Record, error) {
	ctx, cancel := withTimeout(ctx)
	if cancel != nil {
		defer cancel()
	}
	var (
		mu       sync.Mutex
		current  = map[string]store.Record{}
		received uint64
		initial  = ^uint64(0) // unknown until the consumer is made
		finished bool
		done     = make(chan struct{})
	)
	now := time.Now()
	finish := func() {
		if !finished {
			finished = true
			close(done)
		}
	}
	f, err := c.follow(ctx, prefix, 0, headersOnly, feedFuncs{
		msg: func(_ *feed, m *nats.Msg, d delivery) {
			mu.Lock()
			defer mu.Unlock()
			if finished {
				return
			}
			// A change that comes with the last records (before the
			// consumer's count of them is known) replaces the record.
			received++
			if key, ok := c.keyOf(m.Subject, prefix); ok {
				r := raw{seq: d.sseq, hdr: m.Header, data: m.Data, tm: time.Unix(0, d.ts)}
				if rec, live := record(key, &r, &now); live {
					if headersOnly {
						rec.Value, rec.Metadata = nil, nil
					}
					current[key] = rec
				} else {
					delete(current, key)
				}
			}
			if d.pending == 0 || received >= initial {
				finish()
			}
		},
	})
	if err != nil {
		return nil, err
	}
	defer f.stop()
	mu.Lock()
	initial = f.pending
	if initial == 0 || received >= initial {
		finish()
	}
	mu.Unlock()
	select {
	case <-done:
	case err := <-f.failed:
		return nil, err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	mu.Lock()
	rs := slices.AppendSeq(make([]store.Record, 0, len(current)), maps.Values(current))
	mu.Unlock()
	if opts.Reverse {
		slices.SortFunc(rs, func(a, b store.Record) int { return strings.Compare(b.Key, a.Key) })
	} else {
		slices.SortFunc(rs, func(a, b store.Record) int { return strings.Compare(a.Key, b.Key) })
	}
	if opts.After != "" {
		i, _ := slices.BinarySearchFunc(rs, opts.After, func(r store.Record, after string) int {
			if opts.Reverse {
				return strings.Compare(after, r.Key)
			}
			return strings.Compare(r.Key, after)
		})
		for i < len(rs) && rs[i].Key == opts.After {
			i++
		}
		rs = rs[i:]
	}
	if opts.Limit > 0 && len(rs) > opts.Limit {
		rs = rs[:opts.Limit]
	}
	return slices.Clip(rs), nil
}

// keyOf returns the key of a subject of the bucket if it is a record's
// (not a hidden one's) that lists under prefix ([store.Under]).
func (c *conn) keyOf(subject, prefix string) (string, bool) {
	if len(subject) <= len(c.subj) {
		return "", false
	}
	key := subject[len(c.subj):]
	if !store.Under(key, prefix) || strings.HasPrefix(key, fencePrefix) {
		return "", false
	}
	return key, true
}

// filter returns the subject filter of the keys that start with prefix:
// the tokens of the prefix before its last dot, then every subject. Keys
// the filter lets through that do not start with the prefix are dropped
// after.
func (c *conn) filter(prefix string) string {
	i := strings.LastIndexByte(prefix, '.')
	if i <= 0 || !store.ValidKey(strings.TrimPrefix(prefix[:i], "_")) {
		return c.subj + ">"
	}
	return c.subj + prefix[:i+1] + ">"
}

// raw is a stored message, as a get or a consumer returned it.
type raw struct {
	seq  uint64
	hdr  nats.Header
	data []byte
	ts   string    // the time stamp of a direct get, parsed when needed
	tm   time.Time // or the time stamp
}

// marker reports whether m is a delete marker: a delete or purge of the
// store, or the server's marker of an expired record.
func (m *raw) marker() bool {
	return m.hdr.Get(hdrOp) != "" || m.hdr.Get(hdrMarker) != ""
}

// time returns when the message was stored.
func (m *raw) time() time.Time {
	if m.tm.IsZero() && m.ts != "" {
		m.tm, _ = time.Parse(time.RFC3339Nano, m.ts)
	}
	return m.tm
}

// record returns the record of key in m and whether it is live at now: not
// a delete marker, and not expired. A zero now is read when it is needed.
func record(key string, m *raw, now *time.Time) (store.Record, bool) {
	r := store.Record{Key: key, Revision: m.seq}
	if h := m.hdr; len(h) > 0 {
		if m.marker() {
			return r, false
		}
		if v := h.Get(hdrTTL); v != "" {
			if ttl := parseTTL(v); ttl > 0 {
				r.Expires = m.time().Add(ttl)
				if now.IsZero() {
					*now = time.Now()
				}
				if !r.Expires.After(*now) {
					return r, false
				}
			}
		}
		if v := h.Get(hdrFence); v != "" {
			r.Fence, _ = strconv.ParseUint(v, 10, 64)
		}
		if v := h.Get(hdrMeta); v != "" {
			r.Metadata = decodeMeta(v)
		}
	}
	r.Value = m.data
	return r, true
}

// parseTTL parses a Nats-TTL header as the server does: whole seconds, or
// a duration; 0 for none ("never", or a value the server would refuse).
func parseTTL(v string) time.Duration {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Second {
		return 0
	}
	return d.Truncate(time.Second)
}

// encodeMeta encodes metadata as k=v&k=v, URL-escaped, in key order.
func encodeMeta(md map[string]string) string {
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(k))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(md[k]))
	}
	return b.String()
}

// decodeMeta decodes what encodeMeta encoded; pairs it cannot decode are
// dropped.
func decodeMeta(s string) map[string]string {
	md := make(map[string]string, strings.Count(s, "&")+1)
	for pair := range strings.SplitSeq(s, "&") {
		k, v, _ := strings.Cut(pair, "=")
		k, err1 := url.QueryUnescape(k)
		v, err2 := url.QueryUnescape(v)
		if err1 == nil && err2 == nil {
			md[k] = v
		}
	}
	return md
}

// last reads the last message of key's subject into m, and reports
// whether there is one.
func (c *conn) last(ctx context.Context, key string, m *raw) (bool, error) {
	if c.get != "" {
		return c.direct(ctx, key, m)
	}
	return c.fromLeader(ctx, key, m)
}

// direct is last with a direct get, which any server with the stream
// answers.
func (c *conn) direct(ctx context.Context, key string, m *raw) (bool, error) {
	var resp *nats.Msg
	var err error
	if ctx.Done() == nil { // no deadline, no cancellation: a pooled timer is cheaper than a context
		resp, err = c.nc.Request(c.get+key, nil, defaultTimeout)
	} else {
		ctx, cancel := withTimeout(ctx)
		if cancel != nil {
			defer cancel()
		}
		resp, err = c.nc.RequestWithContext(ctx, c.get+key, nil)
	}
	if err != nil {
		return false, err
	}
	h := resp.Header
	if len(resp.Data) == 0 {
		if status := h.Get(hdrStatus); status != "" {
			if status == "404" {
				return false, nil
			}
			return false, fmt.Errorf("direct get: status %s %s", status, h.Get("Description"))
		}
	}
	seq, err := strconv.ParseUint(h.Get(hdrSequence), 10, 64)
	if err != nil {
		return false, fmt.Errorf("direct get: no sequence in the answer: %w", err)
	}
	*m = raw{seq: seq, hdr: h, data: resp.Data, ts: h.Get(hdrTime)}
	return true, nil
}

// fromLeader is last with a get that the stream's leader answers.
func (c *conn) fromLeader(ctx context.Context, key string, m *raw) (bool, error) {
	ctx, cancel := withTimeout(ctx)
	if cancel != nil {
		defer cancel()
	}
	req, _ := json.Marshal(struct {
		LastFor string `json:"last_by_subj"`
	}{c.subj + key})
	resp, err := c.nc.RequestWithContext(ctx, c.msgGet, req)
	if err != nil {
		return false, err
	}
	var r struct {
		Error   *jetstream.APIError `json:"error"`
		Message *struct {
			Seq    uint64    `json:"seq"`
			Header []byte    `json:"hdrs"`
			Data   []byte    `json:"data"`
			Time   time.Time `json:"time"`
		} `json:"message"`
	}
	if err := json.Unmarshal(resp.Data, &r); err != nil {
		return false, fmt.Errorf("get: %w", err)
	}
	switch {
	case r.Error != nil && r.Error.ErrorCode == jetstream.JSErrCodeMessageNotFound:
		return false, nil
	case r.Error != nil:
		return false, r.Error
	case r.Message == nil:
		return false, errors.New("get: an answer without a message")
	}
	var h nats.Header
	if len(r.Message.Header) > 0 {
		if h, err = nats.DecodeHeadersMsg(r.Message.Header); err != nil {
			return false, fmt.Errorf("get: %w", err)
		}
	}
	*m = raw{seq: r.Message.Seq, hdr: h, data: r.Message.Data, tm: r.Message.Time}
	return true, nil
}

// publish sends m to the bucket's stream and returns its sequence. When
// no server answers for the stream (a leader being elected, a server that
// is starting), it tries again twice, shortly; when the stream is gone, it
// makes the bucket again, once.
func (c *conn) publish(ctx context.Context, m *nats.Msg) (uint64, error) {
	if ctx.Done() != nil {
		var cancel context.CancelFunc
		if ctx, cancel = withTimeout(ctx); cancel != nil {
			defer cancel()
		}
	}
	remade := false
	for attempt := 0; ; attempt++ {
		var resp *nats.Msg
		var err error
		if ctx.Done() == nil { // no deadline, no cancellation: a pooled timer is cheaper than a context
			resp, err = c.nc.RequestMsg(m, defaultTimeout)
		} else {
			resp, err = c.nc.RequestMsgWithContext(ctx, m)
		}
		if err == nil {
			return parseAck(resp.Data)
		}
		if !errors.Is(err, nats.ErrNoResponders) {
			return 0, err
		}
		if attempt < noResponderRetries {
			t := time.NewTimer(noResponderWait)
			select {
			case <-t.C:
				continue
			case <-ctx.Done():
				t.Stop()
				return 0, err
			}
		}
		if remade || !c.remake(ctx) {
			return 0, err
		}
		remade = true
	}
}

// remake makes the bucket again when its stream is gone, and reports
// whether it did.
func (c *conn) remake(ctx context.Context) bool {
	c.openMu.Lock()
	defer c.openMu.Unlock()
	if _, err := c.js.Stream(ctx, c.stream); !errors.Is(err, jetstream.ErrStreamNotFound) {
		return false
	}
	c.s.logger.Warn("natsstore: the bucket is gone; making it again", zap.String("bucket", c.bucket))
	if _, err := c.open(ctx); err != nil {
		return false
	}
	close(c.remade) // the watches reset
	c.remade = make(chan struct{})
	return true
}

var (
	ackError = []byte(`"error"`)
	ackSeq   = []byte(`"seq":`)
)

// parseAck returns the sequence of a publish acknowledgement, or its
// error (a *jetstream.APIError).
func parseAck(data []byte) (uint64, error) {
	if bytes.Contains(data, ackError) {
		var r struct {
			Error *jetstream.APIError `json:"error"`
		}
		if err := json.Unmarshal(data, &r); err == nil && r.Error != nil {
			return 0, r.Error
		}
		return 0, fmt.Errorf("an acknowledgement that is not one: %q", data)
	}
	i := bytes.Index(data, ackSeq)
	if i < 0 {
		return 0, fmt.Errorf("an acknowledgement without a sequence: %q", data)
	}
	var seq uint64
	digits := 0
	for _, b := range data[i+len(ackSeq):] {
		if b < '0' || b > '9' {
			break
		}
		seq = seq*10 + uint64(b-'0')
		digits++
	}
	if digits == 0 || seq == 0 {
		return 0, fmt.Errorf("an acknowledgement without a sequence: %q", data)
	}
	return seq, nil
}

// wrongLast reports whether err is the server's refusal of a write whose
// expected last sequence of a subject did not match.
func wrongLast(err error) bool {
	var e *jetstream.APIError
	return errors.As(err, &e) && (e.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		e.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// withTimeout bounds ctx by defaultTimeout when it has no deadline; cancel
// is nil when it has one.
func withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, nil
	}
	return context.WithTimeout(ctx, defaultTimeout)
}

// fail returns the store error of err, which an operation op of key (or
// prefix) met: the server refused a value too large as invalid, and
// every other failure — no connection, no answer in time, a server that
// refused for its own reasons — as unavailable, naming the bucket.
func (c *conn) fail(op, key string, err error) error {
	if errors.Is(err, nats.ErrMaxPayload) {
		return store.ErrInvalid.Wrap(err, errs.P("field", "value"), errs.P("reason", "is too large for the NATS servers, with its key and metadata"))
	}
	if c.s.isClosed() {
		return store.ErrClosed.Wrap(err)
	}
	return store.ErrUnavailable.Wrap(fmt.Errorf("natsstore: %s %q in bucket %s: %w", op, key, c.bucket, err))
}

func (s *Store) isClosed() bool {
	select {
	case <-s.closing:
		return true
	default:
		return false
	}
}
