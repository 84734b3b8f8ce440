// Package storetest is the conformance suite of package store: the same
// tests, run against every backend, of the promises that the doc comments
// of [store.Store], [store.PutOptions] and [store.Features] make.
//
// A backend's test calls [Run] with a function that opens a fresh, empty
// store for each subtest:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store {
//			s, err := mystore.Open(sharedServer, storetest.Name(t))
//			if err != nil {
//				t.Fatal(err)
//			}
//			return s
//		}, storetest.ShortIncrements(100))
//	}
//
// The suite tests each feature the backend claims in its [store.Features]
// and that an operation it does not claim fails with
// [store.ErrUnsupported]. Backends that share one server between subtests
// (a database, a NATS server) keep them apart with [Name], which gives
// each subtest its own table or bucket name.
package storetest

import (
	"regexp"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wegomesh/wego/store"
)

// Option changes how [Run] tests a backend.
type Option func(*options)

type options struct {
	shortIncrements int
	noExpiryEvents  bool
	watchChanges    int
}

// ShortIncrements makes each of the 8 goroutines of the compare-and-set
// test do n increments instead of 1,000 when the tests run with -short,
// for backends whose writes take milliseconds (a synced file, a remote
// database).
func ShortIncrements(n int) Option { return func(o *options) { o.shortIncrements = n } }

// NoExpiryEvents says that the backend's watches do not report expired
// records as deleted, so the suite does not expect them to.
func NoExpiryEvents() Option { return func(o *options) { o.noExpiryEvents = true } }

// WatchChanges sets how many changes the test of a receiver that falls
// behind writes while it does not read (default 3,000): more than the
// backend buffers, so that the watch must reset.
func WatchChanges(n int) Option { return func(o *options) { o.watchChanges = n } }

// Run runs the conformance suite against the stores that open returns.
// Each subtest calls open once, for a new empty store, and closes the
// store when it ends (open may register its own cleanup as well: Close is
// idempotent).
func Run(t *testing.T, open func(t *testing.T) store.Store, opts ...Option) {
	o := options{watchChanges: 3000}
	for _, opt := range opts {
		opt(&o)
	}
	s := &suite{open: open, opts: o}
	tests := []struct {
		name string
		run  func(*testing.T)
	}{
		{"Features", s.features},
		{"RoundTrip", s.roundTrip},
		{"Metadata", s.metadata},
		{"NotFound", s.notFound},
		{"InvalidKey", s.invalidKey},
		{"ReservedKeys", s.reservedKeys},
		{"ValueTooLarge", s.valueTooLarge},
		{"NegativeTTL", s.negativeTTL},
		{"Create", s.create},
		{"IfRevision", s.ifRevision},
		{"IfRevisionWithCreate", s.ifRevisionWithCreate},
		{"DeleteIfRevision", s.deleteIfRevision},
		{"Revisions", s.revisions},
		{"Fence", s.fence},
		{"Expiry", s.expiry},
		{"List", s.list},
		{"ListPaging", s.listPaging},
		{"Keys", s.keys},
		{"Watch", s.watch},
		{"WatchExpiry", s.watchExpiry},
		{"WatchCancel", s.watchCancel},
		{"WatchBehind", s.watchBehind},
		{"CASCounter", s.casCounter},
		{"CASOneWinner", s.casOneWinner},
		{"Closed", s.closed},
		{"Unsupported", s.unsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}
}

var names atomic.Uint64

var notName = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// Name returns a name for the test's table or bucket that no other test
// of the process has: letters, digits, "-" and "_", at most 64 bytes, so
// that it passes [store.Config.Validate].
func Name(t testing.TB) string {
	n := "t" + strconv.FormatUint(names.Add(1), 10) + "_"
	base := notName.ReplaceAllString(t.Name(), "_")
	if len(n)+len(base) > 64 {
		base = base[len(base)-(64-len(n)):]
	}
	return n + base
}

type suite struct {
	open func(t *testing.T) store.Store
	opts options
}

// store opens a fresh store for the subtest and closes it when it ends.
func (s *suite) store(t *testing.T) store.Store {
	t.Helper()
	st := s.open(t)
	if st == nil {
		t.Fatal("open returned a nil store")
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return st
}

// within is how long the suite waits for something that should happen
// promptly, such as a watch event.
const within = 10 * time.Second
