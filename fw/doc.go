// Package fw is the WeGO application: it reads the configuration, builds
// the logger, the i18n bundle, the catalog's chains and remote routes and
// the transports, runs them, and shuts them down gracefully.
//
// A service's main is a few lines; its packages register commands from
// init functions, which only record what to do:
//
//	func main() {
//		app, err := fw.New(
//			fw.ConfigOptions(config.FS(defaults)),
//			fw.Transports(httptransport.NewServer()),
//		)
//		if err != nil {
//			log.Fatal(err)
//		}
//		if err := app.Run(context.Background()); err != nil {
//			log.Fatal(err)
//		}
//	}
//
// # Lifecycle
//
// [New] does the work that can fail on bad configuration — loading and
// validating every known section, building the logger, applying routes —
// but starts nothing. [App.Run] starts the application, waits for SIGINT or
// SIGTERM (or the cancellation of its context), then stops it within the
// configured shutdown timeout. [App.Start] and [App.Stop] are the two
// halves, for tests and for programs that manage their own lifetime.
//
//	New ─▶ BeforeStart hooks ─▶ engine, registry, store, events ─▶ transports start ─▶ AfterStart hooks ─▶ running
//	running ─▶ BeforeStop hooks ─▶ transports stop (reverse order, drain) ─▶ events, registry, store, engine ─▶ AfterStop hooks
//
// Starting twice, stopping before starting, and starting after stopping are
// errors ([ErrAlreadyStarted], [ErrNotStarted], [ErrStopped]).
//
// # Configuration
//
// The sections fw reads itself are app (name, shutdown_timeout), log (see
// package log), routes (remote routes, see below), middleware, registry,
// store, events and config; each transport reads the section named after it
// (http). Any other top-level key fails start-up, so that a typo is not
// silently ignored; declare the application's own sections with
// [Sections].
//
// config.kv ([DynamicConfig]; WEGO_CONFIG_KV) names a NATS key-value
// bucket that the application lays over its files and environment
// variables once its engine has started, and follows while it runs: a
// change is checked as a file change is, reaches the subscribers of
// [config.Watch] (log.level is fw's own) or is refused and logged. The
// application's configuration logs with its logger.
//
// # Middleware
//
// [New] sets the catalog's global chains from middleware.server and
// middleware.client, else from [DefaultServerChain] and
// [DefaultClientChain]. Each name is a middleware that the application
// builds once from its section, middleware.<name>: fw's built-in ones
// (recovery, requestid, logging, deadline, audit, ratelimit, faultinject,
// validate, cache, timeout, retry, breaker), those that imported packages register
// with [RegisterMiddleware], and the application's own, given to
// [Middleware]. A middleware that implements [io.Closer] is closed when the
// application stops; one that implements [HostExtender] extends what the
// transports are handed.
//
// [Middleware] with positions adds to the default chains without listing
// them:
//
//	fw.Middleware("counter", newCounter, fw.After("logging"))
//
// At start-up, one warning names the registered middleware that no chain
// uses.
//
// New Relic is not linked by fw: a program that reports to New Relic
// imports package fw/newrelic for its side effect,
//
//	import _ "github.com/wegomesh/wego/fw/newrelic"
//
// and the default chains' newrelic entries then build it. Without the
// import the chains skip newrelic, and a configuration that turns New Relic
// on fails [New] with [ErrNotLinked], naming the import.
//
// # Store
//
// [New] opens the application's store from the store section (see
// package store: kind memory by default; bbolt, sqlite, postgres and nats
// need their package imported, or New fails with [ErrStoreNotLinked],
// naming it). Start starts it after the engine, before the transports;
// Stop closes it after the transports. Code reaches it with [App.Store],
// and commands with the dependency [StoreDep], which tests replace with
// package catalogtest.
//
// # Events
//
// [New] makes the application's event bus from the events section (see
// package events: backend memory by default; nats needs package
// events/natsevents imported, jetstream package events/jsevents, or New
// fails with [ErrEventsNotLinked], naming it; both need the NATS engine). Start starts it
// after the store and before the transports, subscribing every subscriber
// of the catalog; Stop stops it after the transports, delivering what it
// holds, before the store and the engine close. [App.Events] is the bus;
// [OnDeadLetter] receives its dead letters.
//
// # Routes
//
// The routes section maps command names or patterns to base URLs; the
// matching commands are then called over the transport registered for the
// URL scheme (import the transport package to register it):
//
//	routes:
//	  inventory.*: http://127.0.0.1:8081
//	  payments.Charge: [http://10.0.0.5:8080, http://10.0.0.6:8080]
package fw
