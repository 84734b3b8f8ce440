package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wegomesh/wego/events"
	"github.com/wegomesh/wego/events/jsevents"
	"github.com/wegomesh/wego/examples/mesh/orders"
	"github.com/wegomesh/wego/examples/mesh/shipping"
	shippingsvc "github.com/wegomesh/wego/examples/mesh/shipping/service"
	"github.com/wegomesh/wego/store"
	"github.com/wegomesh/wego/store/boltstore"
)

// The events target of the mesh: orders placed while the shipping
// service is killed (SIGKILL) and restarted twice and the JetStream
// server is restarted once, its store directory kept, each get exactly
// one shipment. Every piece runs as its own process, built from its main
// package: a NATS server with JetStream on file storage, inventory,
// orders (which publishes orders.OrderPlaced through its outbox) and
// shipping (which subscribes durably, and makes a shipment per order
// only if there is none). Deliveries are counted from shipping's own log
// lines (at debug level), the outcome from its API, its store and the
// server's streams: nothing in the services is there for the test.

// The settings of the events test. A delivery of shipping takes
// milliseconds, so an ack wait of 5s redelivers soon what a killed
// shipping held; max_ack_pending bounds what each crash may deliver again.
const (
	evAckWait       = 5 * time.Second
	evMaxAckPending = 64
)

// jsServer is a NATS server with JetStream on file storage, running as
// its own process (the nats-server of the module's dependencies), on a
// fixed port and store directory that its restarts keep.
type jsServer struct {
	t    *testing.T
	bin  string
	dir  string // the store directory, the configuration and the log
	url  string
	cmd  *exec.Cmd
	done chan struct{}
}

// startJetStream starts a NATS server with JetStream on a free port, in
// a new directory; it is killed when the test ends.
func startJetStream(t *testing.T, bin string) *jsServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().(*net.TCPAddr)
	_ = l.Close()
	s := &jsServer{t: t, bin: bin, dir: t.TempDir(), url: fmt.Sprintf("nats://127.0.0.1:%d", addr.Port)}
	// As the engine's embedded server: every write synced to disk before
	// it is acknowledged, stale clients dropped within 1.5s.
	conf := fmt.Sprintf("listen: \"127.0.0.1:%d\"\nping_interval: \"500ms\"\nping_max: 2\n"+
		"jetstream {\n  store_dir: %q\n  sync_interval: always\n}\n", addr.Port, filepath.Join(s.dir, "jetstream"))
	if err := os.WriteFile(filepath.Join(s.dir, "nats.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	s.start()
	t.Cleanup(func() {
		if s.cmd != nil {
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	})
	return s
}

// start runs the server and waits until JetStream answers.
func (s *jsServer) start() {
	s.t.Helper()
	logf, err := os.OpenFile(filepath.Join(s.dir, "nats.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		s.t.Fatal(err)
	}
	defer logf.Close()
	s.cmd = exec.Command(s.bin, "-c", filepath.Join(s.dir, "nats.conf"))
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	done := make(chan struct{})
	s.done = done
	go func(cmd *exec.Cmd) { _ = cmd.Wait(); close(done) }(s.cmd)
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := s.ready()
		if err == nil {
			return
		}
		select {
		case <-done:
			s.t.Fatalf("nats-server exited at start:\n%s", s.log())
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("JetStream not ready 30s after the server started: %v\n%s", err, s.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ready returns nil once the server accepts a connection and JetStream
// answers on it.
func (s *jsServer) ready() error {
	return s.inspect(func(ctx context.Context, js jetstream.JetStream) error {
		_, err := js.AccountInfo(ctx)
		return err
	})
}

// stop stops the server with sig and waits until it has exited.
func (s *jsServer) stop(sig os.Signal) {
	s.t.Helper()
	_ = s.cmd.Process.Signal(sig)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		s.t.Fatalf("nats-server still running 30s after %v", sig)
	}
	s.cmd = nil
}

// log returns the server's log, at most its last 8 KiB.
func (s *jsServer) log() string {
	data, _ := os.ReadFile(filepath.Join(s.dir, "nats.log"))
	if len(data) > 8<<10 {
		data = data[len(data)-8<<10:]
	}
	return string(data)
}

// inspect connects to the server and calls fn with its JetStream API.
func (s *jsServer) inspect(fn func(ctx context.Context, js jetstream.JetStream) error) error {
	nc, err := nats.Connect(s.url, nats.Timeout(2*time.Second), nats.MaxReconnects(0))
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return fn(ctx, js)
}

// The lines of shipping's subscriber (examples/mesh/shipping/service)
// and of the bus, which the test counts in shipping's log.
const (
	msgShipmentCreated = "shipping: shipment created"
	msgShipmentExists  = "shipping: the order has its shipment already"
	msgDeadLetter      = "events: dead letter"
	msgNotPublished    = "orders: OrderPlaced not published yet; it stays in the outbox to be published again"
	msgRepublished     = "orders: republished OrderPlaced events from the outbox"
)

// eventLog counts, from the JSON log lines of the services, the
// deliveries of shipping's subscriber by order and what went wrong. Its
// line method is the services' onLine.
type eventLog struct {
	mu          sync.Mutex
	created     map[string]int // shipments created, by order id
	exists      map[string]int // deliveries that found the shipment, by order id
	deadLetters []string
	errorLines  []string // lines at error level, the first 20
	errorCount  int
	notPub      int // publishes that failed, left in orders' outbox
	republished int // events the outbox published again
}

func newEventLog() *eventLog {
	return &eventLog{created: map[string]int{}, exists: map[string]int{}}
}

func (l *eventLog) line(s string) {
	if !strings.HasPrefix(s, "{") {
		return
	}
	if !strings.Contains(s, `"msg":"shipping: `) && !strings.Contains(s, `"msg":"orders: `) && !strings.Contains(s, `"level":"error"`) {
		return
	}
	var e struct {
		Level   string `json:"level"`
		Msg     string `json:"msg"`
		OrderID string `json:"order_id"`
		Events  int    `json:"events"`
	}
	if json.Unmarshal([]byte(s), &e) != nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch e.Msg {
	case msgShipmentCreated:
		l.created[e.OrderID]++
	case msgShipmentExists:
		l.exists[e.OrderID]++
	case msgDeadLetter:
		l.deadLetters = append(l.deadLetters, s)
	case msgNotPublished:
		l.notPub++
	case msgRepublished:
		l.republished += e.Events
	}
	if e.Level == "error" {
		l.errorCount++
		if len(l.errorLines) < 20 {
			l.errorLines = append(l.errorLines, s)
		}
	}
}

// TestShipmentsAcrossCrashes places 1,000 orders (soak: 10,000) from 8
// goroutines through orders' HTTP API while shipping is killed (SIGKILL)
// and restarted twice, and the JetStream server is stopped (SIGTERM or,
// at random, SIGKILL) and started again once on its store directory, in
// a random order at random points of the run (logged). Once the orders
// are placed, and the consumer has nothing left to deliver or settle:
//
//   - every order was accepted (201) and has exactly one shipment, which
//     GET /shipments/{order_id} answers with the order's SKU, quantity
//     and reservation;
//   - no event is lost: the stream holds an event per order, and
//     shipping's store, read once it has stopped, one shipment per order
//     and no other;
//   - duplicates reach the subscriber but create nothing twice: shipping's
//     log has at most one "shipment created" per order; the deliveries
//     beyond one per order are reported, and must stay within
//     max_ack_pending per crash or restart;
//   - nothing is dead-lettered: the dead-letter stream and shipping's log
//     hold none;
//   - every process exits with status 0 on SIGTERM, and no goroutine is
//     left.
//
// The services run with auth off and configurations of the test's own:
// what is tested is delivery across crashes, which auth takes no part in
// (shipping's subscriber is not checked), and the example's dev configs
// and their rules are left to change.
func TestShipmentsAcrossCrashes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the mesh's services and a NATS server as processes")
	}
	verifyNoLeaks(t)
	n, conc := scale(1000, 10000), 8
	invBin, ordBin, shipBin, natsBin := binary(t, "inventory"), binary(t, "orders"), binary(t, "shipping"), binary(t, "nats-server")
	ran := time.Now() // once built
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 16))

	js := startJetStream(t, natsBin)
	natsSection := func(name string) string {
		return fmt.Sprintf("nats: {urls: [%q], name: %s, wait_at_start: true, reconnect_wait: 250ms}\n", js.url, name)
	}
	common := "http: {addr: \"127.0.0.1:0\", read_header_timeout: 1s, drain_delay: 100ms}\n" +
		fmt.Sprintf("events:\n  backend: jetstream\n  jetstream: {ack_wait: %s, max_ack_pending: %d}\n", evAckWait, evMaxAckPending)
	var stock strings.Builder
	for i := range 10 {
		fmt.Fprintf(&stock, "plenty-%d: 1000000, ", i)
	}
	inv := startProc(t, "inventory", invBin, "app: {name: inventory, shutdown_timeout: 10s}\nlog: {level: warn, format: json}\n"+
		"http: {addr: \"127.0.0.1:0\", read_header_timeout: 1s, drain_delay: 100ms}\n"+
		"inventory:\n  stock: {"+strings.TrimSuffix(stock.String(), ", ")+"}\n")

	// Shipping starts first: its group is made where the topic ends, so
	// it must exist before the first order.
	shipDB := filepath.Join(t.TempDir(), "shipping.db")
	shipYAML := "app: {name: shipping, shutdown_timeout: 10s}\nlog: {level: debug, format: json}\n" + common + natsSection("shipping") +
		"store: {kind: bbolt, path: " + shipDB + "}\n"
	el := newEventLog()
	ship := startProcWith(t, "shipping", shipBin, shipYAML, el.line)
	// The short run bounds a publish by 2s, and opens the breaker for 2s
	// rather than 30s: with the defaults (the long run), a publish under
	// way when the server goes away waits out Place's budget (10s), and
	// once the breaker opens, the publishes and the outbox fail for 30s
	// after the server is back.
	ordMiddleware := ""
	if !soak {
		ordMiddleware = "middleware:\n  timeout: {commands: {orders.OrderPlaced: {timeout: 2s}}}\n  breaker: {open_timeout: 2s}\n"
	}
	ord := startProcWith(t, "orders", ordBin, "app: {name: orders, shutdown_timeout: 10s}\nlog: {level: info, format: json}\n"+
		common+natsSection("orders")+ordMiddleware+
		"routes:\n  inventory.*: "+inv.url+"\n  shipping.*: nats://shipping\n", el.line)

	// The orders, from conc goroutines.
	c := newClient(conc)
	defer c.close()
	results, took := make([]result, n), make([]time.Duration, n)
	var next, placed atomic.Int64
	loadDone := make(chan struct{})
	began := time.Now()
	go func() {
		defer close(loadDone)
		var wg sync.WaitGroup
		for range conc {
			wg.Go(func() {
				for {
					i := int(next.Add(1) - 1)
					if i >= n {
						return
					}
					sku, qty := fmt.Sprintf("plenty-%d", i%10), i%3+1
					sent := time.Now()
					results[i] = c.placeOrder(context.Background(), ord.url, sku, qty)
					took[i] = time.Since(sent)
					placed.Add(1)
				}
			})
		}
		wg.Wait()
	}()
	defer func() { <-loadDone }() // when the test fails early
	// waitPlaced waits until k orders are placed, or all of them, or d
	// has passed.
	waitPlaced := func(k int, d time.Duration) {
		deadline := time.Now().Add(d)
		for int(placed.Load()) < k && time.Now().Before(deadline) {
			select {
			case <-loadDone:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}

	// The faults: two crashes of shipping and a restart of the server,
	// stopped by SIGTERM or, at random, killed, in a random order at
	// random points between 10% and 80% of the orders. After each, the
	// orders go on for a while (up to 3% more of them, 3s at most) before
	// the process comes back: its events wait in the consumer, or in
	// orders' outbox while the server is away.
	sig, sigName := os.Signal(syscall.SIGTERM), "SIGTERM"
	if rng.IntN(2) == 0 {
		sig, sigName = syscall.SIGKILL, "SIGKILL"
	}
	ops := []string{"kill shipping", "kill shipping", "restart nats (" + sigName + ")"}
	rng.Shuffle(len(ops), func(i, j int) { ops[i], ops[j] = ops[j], ops[i] })
	points := []float64{0.1 + 0.7*rng.Float64(), 0.1 + 0.7*rng.Float64(), 0.1 + 0.7*rng.Float64()}
	slices.Sort(points)
	var schedule []string
	for i, op := range ops {
		waitPlaced(int(points[i]*float64(n)), 10*time.Minute)
		at := int(placed.Load())
		away := int(rng.Float64() * 0.03 * float64(n))
		switch op {
		case "kill shipping":
			ship.kill(t)
			waitPlaced(at+away, 3*time.Second)
			ship = startProcWith(t, "shipping", shipBin, shipYAML, el.line)
		default:
			js.stop(sig)
			waitPlaced(at+away, 3*time.Second)
			js.start()
		}
		schedule = append(schedule, fmt.Sprintf("%s at %d, back at %d", op, at, placed.Load()))
	}
	<-loadDone
	placing := time.Since(began)
	slowest := slices.Max(took)
	t.Logf("faults: %s", strings.Join(schedule, "; "))

	accepted := map[string]result{}
	checkResults(t, results, map[int][]string{http.StatusCreated: {""}})
	for _, r := range results {
		if r.status == http.StatusCreated {
			accepted[r.orderID] = r
		}
	}
	if len(accepted) != n {
		t.Fatalf("%d orders of %d accepted", len(accepted), n)
	}

	// Every order gets its shipment: asked of shipping until none is
	// missing. Orders whose event waited in the outbox are published
	// again within about 15s (an age of 10s, every 5s).
	missing := make([]string, 0, n)
	for id := range accepted {
		missing = append(missing, id)
	}
	wrong := map[string]string{}
	shipStart := time.Now()
	deadline := time.Now().Add(time.Duration(scale(3, 10)) * time.Minute)
	for len(missing) > 0 {
		missing = fetchShipments(c, ship.url, missing, accepted, wrong, conc)
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	shipTook := time.Since(shipStart)
	for id, what := range wrong {
		t.Errorf("shipment of order %s: %s", id, what)
	}
	if len(missing) > 0 {
		t.Errorf("%d orders of %d without a shipment %s after the last order, such as %v", len(missing), n,
			shipTook.Round(time.Second), missing[:min(5, len(missing))])
	}

	// The consumer has nothing left to deliver or to settle: what was
	// delivered again after the last crash has arrived.
	jsDefaults := events.DefaultConfig().JetStream // the services' names
	stream := jsevents.StreamName(jsDefaults.StreamPrefix, orders.Placed.Name())
	consumer := jsevents.ConsumerName(shippingsvc.SubscriberName)
	var stored uint64
	var info *jetstream.ConsumerInfo
	var lastErr error
	deadline = time.Now().Add(evAckWait*6 + time.Minute)
	for {
		lastErr = js.inspect(func(ctx context.Context, jsc jetstream.JetStream) error {
			cons, err := jsc.Consumer(ctx, stream, consumer)
			if err != nil {
				return err
			}
			if info, err = cons.Info(ctx); err != nil {
				return err
			}
			st, err := jsc.Stream(ctx, stream)
			if err != nil {
				return err
			}
			stored = st.CachedInfo().State.Msgs
			return nil
		})
		if lastErr == nil && info.NumPending == 0 && info.NumAckPending == 0 && info.NumRedelivered == 0 {
			break
		}
		if time.Now().After(deadline) {
			if lastErr != nil {
				t.Errorf("consumer %s of stream %s: %v", consumer, stream, lastErr)
			} else {
				t.Errorf("consumer %s still has %d events to deliver, %d to settle, %d being delivered again",
					consumer, info.NumPending, info.NumAckPending, info.NumRedelivered)
			}
			break
		}
		time.Sleep(200 * time.Millisecond)
	}

	if lastErr == nil && stored < uint64(n) {
		t.Errorf("the stream holds %d events for %d orders: the server lost some across its restart", stored, n)
	}

	// Nothing was dead-lettered: no record in the dead-letter stream, no
	// dead letter in shipping's log.
	var dlq uint64
	if err := js.inspect(func(ctx context.Context, jsc jetstream.JetStream) error {
		st, err := jsc.Stream(ctx, jsDefaults.DeadLetterStream)
		if err != nil {
			return err
		}
		info, err := st.Info(ctx, jetstream.WithSubjectFilter(jsevents.DeadLetterSubject(jsDefaults.DeadLetterSubject, shippingsvc.SubscriberName)))
		if err != nil {
			return err
		}
		dlq = info.State.Msgs
		return nil
	}); err != nil {
		t.Errorf("dead-letter stream: %v", err)
	}

	// Every process stops cleanly; shipping's store then holds exactly
	// one shipment per order.
	ship.stop(t)
	ord.stop(t)
	inv.stop(t)
	js.stop(syscall.SIGTERM)
	checkShipmentStore(t, shipDB, accepted)

	el.mu.Lock()
	defer el.mu.Unlock()
	if dlq != 0 || len(el.deadLetters) > 0 {
		t.Errorf("%d dead letters stored, %d logged, such as %v", dlq, len(el.deadLetters), el.deadLetters[:min(3, len(el.deadLetters))])
	}
	deliveries, twice := 0, 0
	for id := range accepted {
		deliveries += el.created[id] + el.exists[id]
		if el.created[id] > 1 {
			twice++
			if twice <= 5 {
				t.Errorf("shipment of order %s created %d times", id, el.created[id])
			}
		}
	}
	for id := range el.created {
		if _, ok := accepted[id]; !ok {
			t.Errorf("shipment created for order %q, which no client placed", id)
		}
	}
	duplicates := deliveries - n
	if most := 3 * evMaxAckPending; duplicates > most {
		t.Errorf("%d deliveries beyond one per order, more than max_ack_pending (%d) for each of the 3 crashes and restarts", duplicates, evMaxAckPending)
	}
	t.Logf("FIGURES shipping: %d orders placed in %s, the slowest in %s, all shipped %s later; %d events stored; %d deliveries logged, %d duplicates;"+
		" %d publishes failed and left in the outbox, %d republished; %d error lines; %s from the start of the services",
		n, placing.Round(time.Millisecond), slowest.Round(time.Millisecond), shipTook.Round(time.Millisecond), stored, deliveries, duplicates,
		el.notPub, el.republished, el.errorCount, time.Since(ran).Round(time.Millisecond))
	for _, l := range el.errorLines {
		t.Logf("error line: %.400s", l)
	}
}

// fetchShipments asks shipping at base for the shipment of each order of
// ids, conc at a time, and returns the ids that have none yet; what is
// wrong with a shipment that exists goes to wrong.
func fetchShipments(c *client, base string, ids []string, accepted map[string]result, wrong map[string]string, conc int) []string {
	var mu sync.Mutex
	var still []string
	work := make(chan string)
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for id := range work {
				sh, status, err := getShipment(c, base, id)
				mu.Lock()
				switch {
				case err != nil || status == http.StatusNotFound:
					still = append(still, id) // shipping away, or not there yet
				case status != http.StatusOK:
					wrong[id] = fmt.Sprintf("GET answered %d", status)
				default:
					r := accepted[id]
					if sh.OrderID != id || sh.SKU != r.sku || sh.Qty != r.qty || sh.ReservationID != r.resID {
						wrong[id] = fmt.Sprintf("%+v for an order of %d %s, reservation %s", sh, r.qty, r.sku, r.resID)
					}
				}
				mu.Unlock()
			}
		})
	}
	for _, id := range ids {
		work <- id
	}
	close(work)
	wg.Wait()
	return still
}

// getShipment sends GET /shipments/{id}.
func getShipment(c *client, base, id string) (shipping.Shipment, int, error) {
	var sh shipping.Shipment
	resp, err := c.hc.Get(base + "/shipments/" + id)
	if err != nil {
		return sh, 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return sh, 0, err
	}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(data, &sh); err != nil {
			return sh, 0, fmt.Errorf("GET /shipments/%s: %w: %q", id, err, data)
		}
	}
	return sh, resp.StatusCode, nil
}

// checkShipmentStore opens shipping's store, once shipping has stopped,
// and checks that it holds one shipment per accepted order and no other.
func checkShipmentStore(t *testing.T, path string, accepted map[string]result) {
	t.Helper()
	st, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Errorf("open shipping's store: %v", err)
		return
	}
	defer st.Close()
	recs, err := store.NewTyped[shipping.Shipment](st).List(context.Background(), "shipment.", store.ListOptions{})
	if err != nil {
		t.Errorf("list shipping's store: %v", err)
		return
	}
	seen := map[string]bool{}
	for _, r := range recs {
		id := strings.TrimPrefix(r.Key, "shipment.")
		if _, ok := accepted[id]; !ok || r.Value.OrderID != id {
			t.Errorf("shipping's store holds %s = %+v, of no order placed", r.Key, r.Value)
		}
		seen[id] = true
	}
	if len(recs) != len(accepted) {
		lost := 0
		for id := range accepted {
			if !seen[id] {
				lost++
			}
		}
		t.Errorf("shipping's store holds %d shipments for %d orders (%d orders without one)", len(recs), len(accepted), lost)
	}
}
