// Package cache is a client-side middleware that keeps the responses of
// cacheable commands in memory (github.com/patrickmn/go-cache), so that a
// repeated request within the command's TTL is answered without calling
// the command.
//
//	c, err := cache.New(cfg) // cfg from the section middleware.cache
//	cat.UseClientSide(timeoutMW, c, retryMW, breakerMW)
//
// [New] returns a *[Cache], a [middleware.Middleware] with an invalidation
// API ([Cache.Invalidate], [Cache.InvalidateCommand]) for the code that
// changes what a command reads.
//
// # Which commands
//
// A command is cached when it has a TTL: the [TTL] attribute set at
// registration, or the ttl of a configuration entry for the command or its
// service (entries win over the attribute; disable: true turns caching
// off). Other commands get their handler back unchanged and cost nothing
// per call. Cache only commands whose response depends on the request
// alone, and that do not change anything.
//
// # Keys
//
// The key of a call is its request encoded with encoding/json, which is
// canonical for structs (fields in declaration order) and maps (sorted
// keys); each command has its own store, so keys of two commands never
// meet. A command whose request does not encode well (floats that must
// compare exactly, unexported fields, ...) sets a [KeyFunc] attribute; it
// receives the request as a pointer (*Req) and may return false to leave
// a call uncached.
//
// # Values are copies
//
// The response a command returns is copied into the cache, and a hit
// copies the cached value into the caller's response: a middleware must
// not keep a Call's pointers (see package middleware). The copy is
// shallow: slices, maps and pointers inside a response are shared by every
// caller that gets it from the cache, so treat cached responses as
// read-only.
//
// # Concurrent misses
//
// When several calls miss the same key at once, one of them runs the
// command and the others wait for it and get a copy of its response or its
// error ("single flight"). A waiting call whose context ends returns its
// context's error. If the running call's own context ends first, the
// waiting calls run the command themselves.
//
// # Errors
//
// Errors are not cached, unless cache_errors is set: then errors that are
// not server faults and not cancellations (not found, invalid argument,
// ...) are cached for error_ttl.
//
// # Size
//
// Each cached command's store holds at most max_entries entries. go-cache
// has no eviction order, so when a store is full the middleware first
// removes expired entries (at most once per cleanup_interval) and, if it is
// still full, does not store the new response: calls keep working, and
// entries make room as they expire. Expired entries are also removed
// every cleanup_interval, on a later insert; the middleware starts no
// goroutine.
//
// # Configuration (section middleware.cache)
//
//	max_entries         10000   entries per command
//	cache_errors        false   cache errors that are not server faults
//	error_ttl           5s      TTL of cached errors (at most the command's ttl)
//	cleanup_interval    1m      how often expired entries are removed
//	commands.<pattern>  -       per-command entry; the pattern is
//	                            "service.Operation", "service.*" or "*":
//	  ttl               0       cache these commands for ttl (0 inherits)
//	  max_entries       0       override (0 inherits)
//	  error_ttl         0       override (0 inherits)
//	  disable           false   never cache these commands
//
// For example:
//
//	middleware:
//	  cache:
//	    max_entries: 10000
//	    commands:
//	      inventory.Stock: {ttl: 5s}
//	      inventory.*: {max_entries: 1000}
//	      inventory.Reserve: {disable: true}
//
// Entries apply from the least specific to the most specific, each
// overriding what it sets, above the Config and the [TTL] attribute: an
// entry with a ttl makes the commands it matches cacheable, so give "*"
// or "service.*" a ttl only when every command it matches is safe to
// cache. Keys match command names without regard to case, since the
// configuration loader lower-cases them.
package cache
