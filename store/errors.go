package store

import errs "github.com/wegomesh/wego/err"

// The errors of every store. Each is an errs definition, so that the
// error a store returns has a code, a kind and a localized message, and
// matches its definition with [errors.Is].
var (
	// ErrNotFound: the key does not exist, or its record has expired.
	ErrNotFound = errs.Define("store.not_found", errs.KindNotFound,
		"Record {{.key}} does not exist.")
	// ErrConflict: a condition of the write failed: Create found the key,
	// or IfRevision did not match the key's revision (or the key was
	// gone). Read the record again and decide again.
	ErrConflict = errs.Define("store.conflict", errs.KindConflict,
		"Record {{.key}} was changed by someone else; read it again and retry.")
	// ErrFenced: a fenced write carried a fencing token older than the
	// newest that has written the key: its writer's lease has been taken
	// over by a newer holder.
	ErrFenced = errs.Define("store.fenced", errs.KindConflict,
		"Record {{.key}} was written under a newer lock; this writer no longer holds the lock.")
	// ErrInvalid: a key, value, option or name that no write can accept;
	// its field parameter names what was wrong (key, value, ttl, ...).
	ErrInvalid = errs.Define("store.invalid", errs.KindInvalidArgument,
		"Invalid {{.field}}: {{.reason}}.")
	// ErrUnavailable: the store's database or server cannot be reached;
	// nothing was written. Trying again later may succeed.
	ErrUnavailable = errs.Define("store.unavailable", errs.KindUnavailable,
		"The data store is unavailable; try again later.")
	// ErrUnsupported: the backend does not offer this operation (see
	// [Features]).
	ErrUnsupported = errs.Define("store.unsupported", errs.KindInternal,
		"The data store does not support this operation.")
	// ErrClosed: the store has been closed.
	ErrClosed = errs.Define("store.closed", errs.KindUnavailable,
		"The data store is closed.")
)

// MaxKeyLen is the longest key, in bytes, that every store accepts.
const MaxKeyLen = 512

// ValidKey reports whether key can be stored in every backend: 1 to
// [MaxKeyLen] bytes of ASCII letters, digits and "-_/=.", not starting
// with "_" (reserved for WeGO's own records), not starting or ending with
// ".", and without an empty dot-separated token (".."). The rule is the
// one NATS key-value imposes, so that records move between backends.
func ValidKey(key string) bool {
	if len(key) == 0 || len(key) > MaxKeyLen || key[0] == '_' || key[0] == '.' || key[len(key)-1] == '.' {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '/', c == '=':
		case c == '.':
			if key[i-1] == '.' {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// CheckKey returns nil for a valid key (see [ValidKey]) and otherwise an
// [ErrInvalid] error whose field is "key" and whose reason says what is
// wrong.
func CheckKey(key string) error {
	if ValidKey(key) {
		return nil
	}
	reason := "use 1 to 512 letters, digits and -_/=. with no leading _ or ., no trailing ., and no .."
	switch {
	case key == "":
		reason = "is empty"
	case len(key) > MaxKeyLen:
		reason = "is longer than 512 bytes"
	}
	return ErrInvalid.New(errs.P("field", "key"), errs.P("reason", reason))
}
