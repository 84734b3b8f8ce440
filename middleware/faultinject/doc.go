// Package faultinject is the fault injection middleware: at configured
// rates, calls of a command fail with an error, panic, or are delayed, so
// that tests and game days can check that timeouts, retries, breakers,
// recovery and clients behave when things go wrong.
//
// It is off unless configured: with enabled false (the default) or for a
// command that no entry matches, [Injector.Wrap] returns the next handler
// unchanged and costs nothing.
//
// # Faults
//
// For each call of a command that has faults (a [CommandConfig]), the
// injector draws two random numbers. With probability latency_rate the
// call first waits latency, or less if its context ends first (the call
// then fails with the context's error, as errs.From converts it). Then, with probability
// panic_rate, the handler panics with panic_message; with probability
// error_rate it returns an error of the code error_code (a kind's code such
// as "unavailable", or any code defined with errs.Define); otherwise the
// call goes on. An injected error is an *errs.Error of that code and kind,
// with the message "Injected fault: <code>.", the parameter fault=injected
// (which crosses remote routes) and [ErrInjected] as its cause (for logs
// and errors.Is). A panic carries panic_message, a string, so that a test
// can check that it never reaches a client.
//
// # Determinism
//
// Every command has its own random stream, a PCG seeded with seed and the
// command's name. When one goroutine makes the calls, the sequence of
// injections of a command is the same in every run with the same seed,
// whatever other commands do. Concurrent calls of one command share its
// stream in the order they reach it, so which call gets which fault then
// depends on scheduling, while the rates still hold. Seed 0 picks a random
// seed; [Injector.Seed] returns it, so that a run can be repeated.
//
// # Configuration
//
// Section "middleware.faultinject":
//
//	enabled   bool    false  inject at all
//	seed      uint64  0      seed of the random streams; 0: random
//	commands  map     {}     per "service.Operation", "service.*" or "*"
//	                         (the most specific entry wins, whole):
//	  error_rate     float     0                        probability of an error
//	  error_code     string    "unavailable"            code of the injected error
//	  panic_rate     float     0                        probability of a panic
//	  panic_message  string    "faultinject: injected panic"
//	  latency_rate   float     0                        probability of a delay
//	  latency        duration  0                        the delay
//
// For example:
//
//	middleware:
//	  faultinject:
//	    enabled: true
//	    seed: 42
//	    commands:
//	      inventory.Reserve: {error_rate: 0.05, panic_rate: 0.01, latency_rate: 0.05, latency: 200ms}
//	      inventory.*: {latency_rate: 0.1, latency: 50ms}
//
// Keys match command names without regard to case, since the
// configuration loader lower-cases them.
//
// Put it innermost in the server chain, just before the command, so that
// the other middleware see the faults as the command's own.
package faultinject
