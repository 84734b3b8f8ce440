package log

import (
	"sync/atomic"

	"go.uber.org/zap"
)

// nop is the default logger until [ReplaceDefault] is called.
var nop = zap.NewNop()

// defaultLogger holds the logger returned by L; nil means nop.
var defaultLogger atomic.Pointer[zap.Logger]

// L returns the process's default logger: a no-op logger until
// [ReplaceDefault] installs another one. It is safe for concurrent use and
// never returns nil.
//
// Prefer the logger carried by a context ([FromContext], [For]); L is the
// fallback when there is none.
func L() *zap.Logger {
	if l := defaultLogger.Load(); l != nil {
		return l
	}
	return nop
}

// ReplaceDefault makes l the logger returned by [L] and returns a function
// that restores the previous one, like [zap.ReplaceGlobals]. A nil l
// restores the no-op logger. It is safe for concurrent use.
//
// ReplaceDefault does not touch zap's own globals ([zap.L], [zap.S]).
func ReplaceDefault(l *zap.Logger) (undo func()) {
	prev := defaultLogger.Swap(l)
	return func() { defaultLogger.Store(prev) }
}
