package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/catalog/catalogtest"
	"github.com/wegomesh/wego/config"
	"github.com/wegomesh/wego/examples/mesh/inventory"
	inventorysvc "github.com/wegomesh/wego/examples/mesh/inventory/service"
	"github.com/wegomesh/wego/examples/mesh/orders"
	orderssvc "github.com/wegomesh/wego/examples/mesh/orders/service"
	"github.com/wegomesh/wego/fw"
	"github.com/wegomesh/wego/log"
	"github.com/wegomesh/wego/middleware"
	"github.com/wegomesh/wego/middleware/breaker"
	"github.com/wegomesh/wego/middleware/faultinject"
	httptransport "github.com/wegomesh/wego/transport/http"
)

// soak is true for the long run (WEGO_SOAK=1, `make soak`).
var soak = os.Getenv("WEGO_SOAK") == "1"

// scale returns short for the default run and long for the soak run.
func scale(short, long int) int {
	if soak {
		return long
	}
	return short
}

// leakOptions are the goroutines goleak may find that are not leaks. There
// are none: every test closes its clients' idle connections and stops its
// servers, and http.Server.Shutdown closes the server side of the shared
// route client's keep-alive connections, which ends their read and write
// loops. Keep this list empty unless a goroutine is documented background
// work that ends by itself.
func leakOptions() []goleak.Option { return nil }

// verifyNoLeaks registers, as the test's first cleanup (so it runs last,
// after the applications have stopped), a goleak check of this test's
// goroutines. Only sequential tests use it: a parallel test would see the
// goroutines of the others.
func verifyNoLeaks(t *testing.T) {
	t.Helper()
	t.Cleanup(func() {
		if child.done != nil {
			<-child.done // the build of the inventory binary, started by TestMain, is not this test's
		}
		goleak.VerifyNone(t, leakOptions()...)
	})
}

// attempts is a server middleware that counts the calls that reach it, by
// command and by request id: retries of one call share its request id.
type attempts struct {
	mu    sync.Mutex
	byCmd map[string]int
	byID  map[string]int // "command request-id" -> attempts
}

func newAttempts() *attempts { return &attempts{byCmd: map[string]int{}, byID: map[string]int{}} }

func (a *attempts) Wrap(spec *middleware.Spec, next middleware.Handler) middleware.Handler {
	name := spec.Name
	return func(ctx context.Context, c *middleware.Call) error {
		id, _ := log.RequestIDFrom(ctx)
		a.mu.Lock()
		a.byCmd[name]++
		a.byID[name+" "+id.String()]++
		a.mu.Unlock()
		return next(ctx, c)
	}
}

// count returns the attempts at command name, and the most attempts one
// request id made.
func (a *attempts) count(name string) (total, maxPerID int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, n := range a.byID {
		if strings.HasPrefix(k, name+" ") {
			maxPerID = max(maxPerID, n)
		}
	}
	return a.byCmd[name], maxPerID
}

// serverChain is fw.DefaultServerChain with the attempt counter after the
// request id, so that every attempt that reaches the command's chain is
// counted, faults included.
const serverChain = "[recovery, requestid, attempts, newrelic, logging, deadline, audit, ratelimit, faultinject, validate, idempotency]"

// node is one WeGO application of the mesh, started on loopback.
type node struct {
	app  *fw.App
	url  string // http://127.0.0.1:port
	addr string // 127.0.0.1:port
	cat  *catalog.Catalog
	ctx  context.Context // carries cat
	inv  *inventorysvc.Store
	ord  *orderssvc.Store
	inj  *faultinject.Injector // the app's fault injector, as the configuration built it
	brk  *breaker.Breaker      // the app's breaker, as the configuration built it
	att  *attempts
	stop func() error
}

type nodeOpts struct {
	yaml   string         // the configuration file
	stock  map[string]int // inventory's initial stock
	logger *zap.Logger    // default: none
	addr   string         // default 127.0.0.1:0
	// reuse gives the node the stores of another node (a restarted
	// inventory keeps its stock).
	reuse *node
	// setup runs on the node's catalog before the application is built.
	setup func(cat *catalog.Catalog)
}

// start builds and starts an application on an isolated copy of the
// catalog, with fresh stores, the configuration yaml (environment variables
// are not read) and the middleware the configuration lists; the built-in
// faultinject and breaker factories are replaced by the same code that
// also keeps the instance, for the tests' counts. It stops when the test
// ends.
func start(t testing.TB, o nodeOpts) *node {
	t.Helper()
	n := &node{att: newAttempts()}
	n.cat, n.ctx = catalogtest.New(t)
	n.inv, n.ord = inventorysvc.NewStore(o.stock), orderssvc.NewStore()
	if o.reuse != nil {
		n.inv, n.ord = o.reuse.inv, o.reuse.ord
	}
	catalogtest.ReplaceDep(t, n.cat, inventorysvc.StoreDep, n.inv)
	catalogtest.ReplaceDep(t, n.cat, orderssvc.StoreDep, n.ord)
	if o.setup != nil {
		o.setup(n.cat)
	}
	logger := o.logger
	if logger == nil {
		logger = zap.NewNop()
	}
	addr := o.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	server := httptransport.NewServer(httptransport.Addr(addr))
	app, err := fw.New(
		fw.Catalog(n.cat),
		fw.Logger(logger),
		fw.ConfigOptions(
			config.FS(fstest.MapFS{"test.yaml": {Data: []byte(o.yaml)}}),
			config.Env("test"), config.Dir(t.TempDir()),
			config.LookupEnv(func(string) (string, bool) { return "", false }),
		),
		fw.Sections("inventory"),
		fw.Messages(inventory.Messages, "locales/*.toml"),
		fw.Messages(orders.Messages, "locales/*.toml"),
		fw.Transports(server),
		fw.Middleware("attempts", func(*fw.App) (middleware.Middleware, error) { return n.att, nil }),
		fw.Middleware("faultinject", func(a *fw.App) (middleware.Middleware, error) {
			cfg, err := config.GetWithDefaults(a.Config(), "middleware.faultinject", faultinject.DefaultConfig())
			if err != nil {
				return nil, err
			}
			n.inj, err = faultinject.New(cfg)
			return n.inj, err
		}),
		fw.Middleware("breaker", func(a *fw.App) (middleware.Middleware, error) {
			cfg, err := config.GetWithDefaults(a.Config(), "middleware.breaker", breaker.DefaultConfig())
			if err != nil {
				return nil, err
			}
			n.brk, err = breaker.New(cfg, breaker.WithLogger(a.Logger()))
			return n.brk, err
		}),
	)
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	n.app, n.addr = app, server.Addr()
	n.url = "http://" + n.addr
	var once sync.Once
	var stopErr error
	n.stop = func() error {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			began := time.Now()
			stopErr = app.Stop(ctx)
			if d := time.Since(began); d > time.Second {
				t.Logf("stopping %s took %s", app.Name(), d.Round(time.Millisecond))
			}
		})
		return stopErr
	}
	t.Cleanup(func() {
		if err := n.stop(); err != nil {
			t.Errorf("stopping %s: %v", app.Name(), err)
		}
	})
	return n
}

// testHTTP is the http section of the tests' servers. A connection that
// a client opened but has not used yet (http.Transport dials ahead, and
// pools the connection when another one frees up first) keeps
// http.Server.Shutdown waiting until read_header_timeout closes it, or 5s
// (net/http treats such connections as active that long, golang/go#22682):
// 1s keeps each stop short. The slowloris test depends on it too.
const testHTTP = "http: {read_header_timeout: 1s, drain_delay: 100ms}\n"

// inventoryYAML is the configuration of an inventory deployable; extra is
// appended at the top level (indent it yourself).
func inventoryYAML(extra string) string {
	return "app: {name: inventory, shutdown_timeout: 10s}\n" + testHTTP +
		"middleware:\n  server: " + serverChain + "\n" + extra
}

// ordersYAML is the configuration of an orders deployable routing
// inventory.* to invURL; extraMiddleware goes under middleware: (indent
// 2); httpSection replaces testHTTP when not empty.
func ordersYAML(invURL, extraMiddleware, httpSection string) string {
	if httpSection == "" {
		httpSection = testHTTP
	}
	return "app: {name: orders, shutdown_timeout: 10s}\n" + httpSection +
		"routes:\n  inventory.*: " + invURL + "\n" +
		"middleware:\n  server: " + serverChain + "\n" + extraMiddleware
}

// client is an HTTP client with its own connection pool that counts the
// connections it opens.
type client struct {
	hc    *http.Client
	tr    *http.Transport
	conns atomic.Int64
}

func newClient(conns int) *client {
	c := &client{}
	d := &net.Dialer{Timeout: 5 * time.Second}
	c.tr = &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := d.DialContext(ctx, network, addr)
			if err == nil {
				c.conns.Add(1)
			}
			return conn, err
		},
		MaxIdleConnsPerHost:   conns,
		MaxConnsPerHost:       conns,
		ResponseHeaderTimeout: 30 * time.Second,
		DisableCompression:    true,
	}
	c.hc = &http.Client{Transport: c.tr, Timeout: 60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return c
}

func (c *client) close() { c.tr.CloseIdleConnections() }

// errorBody is the WeGO error body.
type errorBody struct {
	Code      string            `json:"code"`
	Message   string            `json:"message"`
	RequestID string            `json:"request_id"`
	Params    map[string]string `json:"params"`
}

// result is what the suite keeps of one POST /orders.
type result struct {
	sku       string
	qty       int
	status    int
	code      string // of an error body
	requestID string // of an error body
	header    string // X-Request-Id
	orderID   string
	resID     string
	problem   string // what is wrong with the response, "" when nothing
	err       error  // the request failed without a response
	at        time.Time
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// placeOrder sends POST /orders and checks the shape of the response: a
// complete JSON body, an order with its ids for 201, a WeGO error body with
// a request id equal to X-Request-Id otherwise.
func (c *client) placeOrder(ctx context.Context, base, sku string, qty int) result {
	r := result{sku: sku, qty: qty}
	body := fmt.Sprintf(`{"sku":%q,"qty":%d}`, sku, qty)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/orders", strings.NewReader(body))
	if err != nil {
		r.err = err
		return r
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	r.at = time.Now()
	if err != nil {
		r.err = err
		return r
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	r.status, r.header = resp.StatusCode, resp.Header.Get("X-Request-Id")
	if err != nil {
		r.problem = "incomplete body: " + err.Error()
		return r
	}
	if what := leak(resp.Header, data); what != "" {
		r.problem = "leaks " + what
		return r
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		r.problem = "content type " + ct
		return r
	}
	if resp.StatusCode == http.StatusCreated {
		var o orders.Order
		if err := json.Unmarshal(data, &o); err != nil || !uuidRE.MatchString(o.OrderID) || !uuidRE.MatchString(o.ReservationID) ||
			o.SKU != sku || o.Qty != qty {
			r.problem = fmt.Sprintf("bad order %s", data)
		}
		r.orderID, r.resID = o.OrderID, o.ReservationID
		return r
	}
	var eb errorBody
	if err := json.Unmarshal(data, &eb); err != nil || eb.Code == "" || eb.Message == "" {
		r.problem = fmt.Sprintf("not an error body: %q", data)
		return r
	}
	r.code, r.requestID = eb.Code, eb.RequestID
	if eb.RequestID == "" || eb.RequestID != r.header || !uuidRE.MatchString(eb.RequestID) {
		r.problem = fmt.Sprintf("request id: body %q, header %q", eb.RequestID, r.header)
	}
	return r
}

// load sends n orders from conc goroutines; order i is gen(i). It stops
// early when ctx ends.
func (c *client) load(ctx context.Context, base string, n, conc int, gen func(i int) (string, int)) []result {
	out := make([]result, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				sku, qty := gen(i)
				out[i] = c.placeOrder(ctx, base, sku, qty)
			}
		})
	}
	wg.Wait()
	done := out[:0]
	for _, r := range out {
		if r.sku != "" && (r.status != 0 || r.err != nil) {
			done = append(done, r)
		}
	}
	return done
}

// tally counts results by "status code" (code empty for successes).
func tally(rs []result) map[string]int {
	m := map[string]int{}
	for _, r := range rs {
		switch {
		case r.err != nil:
			m["error"]++
		case r.code == "":
			m[fmt.Sprint(r.status)]++
		default:
			m[fmt.Sprintf("%d %s", r.status, r.code)]++
		}
	}
	return m
}

func fmtTally(m map[string]int) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(m)) {
		fmt.Fprintf(&b, "%s=%d ", k, m[k])
	}
	return strings.TrimSpace(b.String())
}

// checkResults fails the test for every response whose status and code are
// not allowed (allowed maps a status to its codes; "" is a success), or
// that is malformed; it reports at most 10.
func checkResults(t *testing.T, rs []result, allowed map[int][]string) {
	t.Helper()
	bad := 0
	for _, r := range rs {
		msg := ""
		switch {
		case r.err != nil:
			msg = "no response: " + r.err.Error()
		case r.problem != "":
			msg = r.problem
		case !slices.Contains(allowed[r.status], r.code):
			msg = "status and code not allowed here"
		}
		if msg != "" {
			bad++
			if bad <= 10 {
				t.Errorf("POST /orders %s×%d -> %d %s: %s", r.sku, r.qty, r.status, r.code, msg)
			}
		}
	}
	if bad > 10 {
		t.Errorf("... %d bad responses in all", bad)
	}
}

// checkAccounting checks that the stores agree with the responses: every
// 201 is one order and one reservation, no reservation or order is lost
// or made twice, and stock = initial − units of successful orders.
func checkAccounting(t *testing.T, inv *inventorysvc.Store, ord *orderssvc.Store, initial map[string]int, rs []result) {
	t.Helper()
	placed := map[string]int{}
	orderIDs, resIDs := map[string]bool{}, map[string]bool{}
	ok := 0
	for _, r := range rs {
		if r.status != http.StatusCreated {
			continue
		}
		ok++
		placed[r.sku] += r.qty
		if orderIDs[r.orderID] || resIDs[r.resID] {
			t.Errorf("order %s or reservation %s given twice", r.orderID, r.resID)
		}
		orderIDs[r.orderID], resIDs[r.resID] = true, true
	}
	if got := inv.Reservations(); got != ok {
		t.Errorf("inventory holds %d reservations, clients got %d orders", got, ok)
	}
	if got := ord.Len(); got != ok {
		t.Errorf("orders holds %d orders, clients got %d", got, ok)
	}
	for sku, n := range initial {
		left, _ := inv.Available(sku)
		if left != n-placed[sku] {
			t.Errorf("stock of %s = %d, want %d − %d = %d", sku, left, n, placed[sku], n-placed[sku])
		}
		if left < 0 {
			t.Errorf("stock of %s is negative: %d", sku, left)
		}
		if q := ord.Quantity(sku); q != placed[sku] {
			t.Errorf("orders hold %d units of %s, clients got %d", q, sku, placed[sku])
		}
	}
}

// catalogue is a stock: SKUs with plenty of stock, and scarce SKUs that run
// out during a run.
func catalogue(plenty, scarce int) map[string]int {
	m := map[string]int{}
	for i := range 10 {
		m[fmt.Sprintf("plenty-%d", i)] = plenty
	}
	for i := range 5 {
		m[fmt.Sprintf("scarce-%d", i)] = scarce
	}
	return m
}

// orderMix is the requests of a run, a fixed function of i: mostly valid
// orders of 1 to 3 units, 20% on scarce SKUs, 4% of an unknown SKU, 2% of
// zero units and 2% of negative units.
func orderMix(i int) (string, int) {
	h := uint32(i)*2654435761 + 12345
	switch r := h % 100; {
	case r < 4:
		return "kiwi-unknown", 1
	case r < 6:
		return "plenty-1", 0
	case r < 8:
		return "plenty-2", -3
	case r < 28:
		return fmt.Sprintf("scarce-%d", h/100%5), int(h/1000%3) + 1
	default:
		return fmt.Sprintf("plenty-%d", h/100%10), int(h/1000%3) + 1
	}
}

// normal is what a correct mesh answers to orderMix without faults.
var normal = map[int][]string{
	http.StatusCreated:    {""},
	http.StatusNotFound:   {"inventory.unknown_sku"},
	http.StatusConflict:   {"inventory.insufficient_stock"},
	http.StatusBadRequest: {"invalid_argument"},
}

func withFaults(m map[int][]string, more map[int][]string) map[int][]string {
	out := maps.Clone(m)
	for k, v := range more {
		out[k] = append(slices.Clone(out[k]), v...)
	}
	return out
}

// heap is the heap after two collections.
type heap struct {
	inuse uint64 // HeapInuse: spans in use, live objects and fragmentation
	live  uint64 // HeapAlloc: bytes of live objects
}

// heapInuse returns the heap after two collections (sync.Pool contents
// survive one).
func heapInuse() heap {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return heap{inuse: ms.HeapInuse, live: ms.HeapAlloc}
}

func (h heap) String() string {
	return fmt.Sprintf("inuse=%.1fMiB live=%.1fMiB", float64(h.inuse)/mib, float64(h.live)/mib)
}

// heapSampler records the largest HeapInuse seen until stopped.
func heapSampler() (stop func() uint64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tk := time.NewTicker(50 * time.Millisecond)
		defer tk.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-tk.C:
			}
		}
	}()
	return func() uint64 { close(done); <-finished; return peak.Load() }
}

const mib = 1 << 20

// checkHeap asserts loosely that the heap came back to its baseline once
// the applications stopped. Live bytes (HeapAlloc after two collections)
// may grow by 16 MiB: a leak of anything per request (5,000 requests and
// more, several KiB each through two servers) or a store kept alive is
// far above that. HeapInuse may grow by 64 MiB: after a run, spans stay in
// use for the few objects left in them (fragmentation), more so under the
// race detector; the soak run kept about 23 MiB of it with 1 MiB live.
func checkHeap(t *testing.T, before, after heap) {
	t.Helper()
	if after.live > before.live+16*mib {
		t.Errorf("live heap %.1f MiB after the run, %.1f MiB before", float64(after.live)/mib, float64(before.live)/mib)
	}
	if after.inuse > before.inuse+64*mib {
		t.Errorf("heap in use %.1f MiB after the run, %.1f MiB before", float64(after.inuse)/mib, float64(before.inuse)/mib)
	}
}

// sentinel is the text of injected panics and errors: it must reach the
// log, never a client.
const sentinel = "SENTINEL-b7e2c0"

// leak returns what a response reveals that it must not, or "": the
// sentinel, a stack trace, a Go source position, a Go type or package name.
func leak(h http.Header, body []byte) string {
	var b strings.Builder
	for k, vs := range h {
		b.WriteString(k)
		for _, v := range vs {
			b.WriteString(": ")
			b.WriteString(v)
		}
		b.WriteByte('\n')
	}
	b.Write(body)
	s := b.String()
	for _, bad := range []string{sentinel, "goroutine ", ".go:", "*errors.", "errors.errorString", "*fmt.", "wrapError",
		"main.", "runtime.", "runtime error", "panic(", "github.com/", "*errs.", "*httptransport.", "reflect.", "secretPanic"} {
		if strings.Contains(s, bad) {
			return fmt.Sprintf("%q", bad)
		}
	}
	return ""
}
