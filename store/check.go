package store

import (
	"strconv"

	errs "github.com/wegomesh/wego/err"
)

// CheckPut returns nil when a Put of key and value with opts is acceptable
// to a backend whose largest value is maxValue bytes, and otherwise the
// [ErrInvalid] error a backend returns for it: field "key" for a key that
// is not valid, "value" for a value over maxValue, "ttl" for a negative
// TTL and "if_revision" for IfRevision combined with Create. Backends call
// it before they write, so that every backend rejects the same input with
// the same error.
func CheckPut(key string, value []byte, opts PutOptions, maxValue int) error {
	if !ValidKey(key) {
		return CheckKey(key)
	}
	return checkPut(value, opts, maxValue)
}

// checkPut is CheckPut once the key has been checked.
func checkPut(value []byte, opts PutOptions, maxValue int) error {
	if len(value) > maxValue {
		return invalid("value", "is "+strconv.Itoa(len(value))+" bytes, more than the store's limit of "+strconv.Itoa(maxValue))
	}
	if opts.TTL < 0 {
		return invalid("ttl", "is negative ("+opts.TTL.String()+")")
	}
	if opts.Create && opts.IfRevision != 0 {
		return invalid("if_revision", "cannot be combined with create")
	}
	return nil
}

// CheckList returns nil when opts are acceptable to List and Keys, and
// otherwise an [ErrInvalid] error whose field is "limit" (a negative
// limit).
func CheckList(opts ListOptions) error {
	if opts.Limit < 0 {
		return invalid("limit", "is negative ("+strconv.Itoa(opts.Limit)+")")
	}
	return nil
}

func invalid(field, reason string) error {
	return ErrInvalid.New(errs.P("field", field), errs.P("reason", reason))
}
