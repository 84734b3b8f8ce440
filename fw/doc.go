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
//	New ─▶ BeforeStart hooks ─▶ transports start ─▶ AfterStart hooks ─▶ running
//	running ─▶ BeforeStop hooks ─▶ transports stop (reverse order, drain) ─▶ AfterStop hooks
//
// Starting twice, stopping before starting, and starting after stopping are
// errors ([ErrAlreadyStarted], [ErrNotStarted], [ErrStopped]).
//
// # Configuration
//
// The sections fw reads itself are app (name, shutdown_timeout), log (see
// package log), routes (remote routes, see below) and middleware; each
// transport reads the section named after it (http). Any other top-level
// key fails start-up, so that a typo is not silently ignored; declare the
// application's own sections with [Sections].
//
// The routes section maps command names or patterns to base URLs; the
// matching commands are then called over the transport registered for the
// URL scheme (import the transport package to register it):
//
//	routes:
//	  inventory.*: http://127.0.0.1:8081
//	  payments.Charge: [http://10.0.0.5:8080, http://10.0.0.6:8080]
package fw
