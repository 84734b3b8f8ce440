// Package audit is the middleware that writes an audit record for every
// call of the commands that must be audited: when, which request (id),
// who (the principal), which command, on which side, with which request
// fields, how it ended and how long it took.
//
// # Which commands
//
// A command is audited when it is marked at registration,
//
//	catalog.Register("accounts.Close", closeAccount, catalog.With(audit.Auditable.Value(true)))
//
// when the configuration says all: true, or when a per-command setting
// says audit: true. The configuration wins over the attribute, and the
// attribute over all. For commands that are not audited the middleware
// leaves the chain as it is and costs nothing.
//
// # Records
//
// A [Record] holds the request fields tagged audit:"include". Fields
// tagged audit:"secret" are included with the value "[REDACTED]", as are
// included fields tagged wego:"secret" — the tag that also hides them from
// logged bodies (package logging):
//
//	type CloseRequest struct {
//		Account string `json:"account" audit:"include"`
//		Reason  string `json:"reason"  audit:"include"`
//		OTP     string `json:"otp"     audit:"secret"`  // "otp":"[REDACTED]"
//		Note    string `json:"note"`                    // not in the record
//	}
//
// Only top-level fields count; the extractor is built once per command.
// The principal is who the authentication middleware found: fw passes
// [WithPrincipal] the account id of middleware/auth, and
// [ContextWithPrincipal] sets one by hand. Calls that a middleware before
// the auditor refuses — an authentication failure, a denied account —
// never reach it; [Auditor.Refused] records them (fw reports each).
//
// # Sinks
//
// Records go to a [Sink]. The default [ZapSink] writes one info line per
// record on the logger named "audit", so audit lines travel with the logs
// and can be routed by logger name. A [FileSink] appends JSON lines to a
// file of its own, with a durability policy — sync "always" fsyncs after
// each record, "interval" from a background goroutine every sync_interval,
// "never" leaves it to the OS — and rotation by size. Each record is one
// write system call, so a crashed process leaves complete lines only.
// Applications close the middleware ([Auditor.Close]) at shutdown, which
// closes the sink and stops its goroutine.
//
// # Failures and phases
//
// A sink that fails is never silent. By default (fail-open) the call goes
// on, the failure is counted ([Auditor.Failures]) and logged at error
// level. With fail_closed: true the call fails instead:
//
//   - phase "after" (default): the record is written when the command has
//     returned, and before its result goes back; if it cannot be written
//     the caller gets [ErrWriteFailed] (code "audit.write_failed", kind
//     internal) instead of the result. The command has run: fail-closed
//     cannot undo its side effects, only withhold its result.
//   - phase "before": a record with outcome "started" is written before the
//     command runs; if it cannot be, the command does not run and the caller
//     gets [ErrUnavailable] (code "audit.unavailable", kind unavailable, so
//     safe to retry). A second record with the outcome follows the call; its
//     failure is counted and logged but does not fail the call, which is
//     already on record. Use it for commands that must never run unaudited.
//
// # Configuration
//
// Section "middleware.audit"; the zero value of each key is its default:
//
//	middleware:
//	  audit:
//	    all: false            # audit every command, not only Auditable ones
//	    phase: after          # or before
//	    fail_closed: false
//	    sink: zap             # or file
//	    file:
//	      path: /var/log/app/audit.jsonl   # required for sink: file
//	      sync: always        # always | interval | never
//	      sync_interval: 100ms
//	      max_bytes: 104857600 # rotate past 100 MiB; negative: never
//	      max_files: 10       # rotated files kept: audit.jsonl.1 … .10
//	    commands:             # "service.Operation", "service.*" or "*"
//	      accounts.*: {audit: true}
//	      accounts.Close: {phase: before, fail_closed: true}
//
// Each setting of a command comes from the most specific entry that sets
// it ("accounts.Close", then "accounts.*", then "*"), then from the
// command's [Auditable] attribute and the top level. Keys match command
// names without regard to case, since the configuration loader
// lower-cases them.
package audit
