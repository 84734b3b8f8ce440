package store

import (
	"context"
	"strings"
)

// reservedKeys is the context key of [WithReservedKeys].
type reservedKeys struct{}

// WithReservedKeys returns a copy of ctx under which a store accepts keys
// that start with "_", which [ValidKey] reserves for WeGO's own records,
// so that they never collide with an application's. It is meant for
// WeGO's packages (package lock keeps its locks under "_lock." and its
// elections under "_leader."), not for applications.
func WithReservedKeys(ctx context.Context) context.Context {
	return context.WithValue(ctx, reservedKeys{}, true)
}

// CheckKeyContext is [CheckKey] for an operation under ctx: under a
// context from [WithReservedKeys] it also accepts a key that starts with
// "_" and is otherwise valid, such as "_lock.orders". A backend checks
// every key it is given with it (and a Put with [CheckPutContext]). A valid key costs no look-up in ctx.
func CheckKeyContext(ctx context.Context, key string) error {
	if ValidKey(key) || ReservedKey(ctx, key) {
		return nil
	}
	return CheckKey(key)
}

// ReservedKey reports whether key is a reserved key (one that starts with
// "_" and is otherwise valid) and ctx comes from [WithReservedKeys].
func ReservedKey(ctx context.Context, key string) bool {
	return len(key) > 1 && len(key) <= MaxKeyLen && key[0] == '_' && ValidKey(key[1:]) && ctx.Value(reservedKeys{}) != nil
}

// CheckPutContext is [CheckPut] for a Put under ctx: it checks the key
// with [CheckKeyContext].
func CheckPutContext(ctx context.Context, key string, value []byte, opts PutOptions, maxValue int) error {
	if err := CheckKeyContext(ctx, key); err != nil {
		return err
	}
	return checkPut(value, opts, maxValue)
}

// Under reports whether List, Keys and Watch of prefix include key: key
// starts with prefix and, if it is a reserved key (it starts with "_"),
// so does prefix. An application's listing of every record (prefix "")
// never returns WeGO's own records.
func Under(key, prefix string) bool {
	return strings.HasPrefix(key, prefix) && (key == "" || key[0] != '_' || prefix != "")
}
