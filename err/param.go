package errs

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxParamBytes is the longest value, in bytes, that an [Error] keeps of a
// message parameter, of a field violation's field name and of its
// parameters. A longer value is cut to at most MaxParamBytes bytes on a
// character boundary, ending with "…" (see [Truncate]), when it enters
// an Error: in [Def.New], [Def.Wrap], [New], the kind constructors,
// [Error.WithParams], [InvalidArgument], [Error.WithFields] and [Remote].
// Parameters often echo what a client sent (a SKU, an id, a path, a
// field name); the cut bounds what one request can make an error body, a
// relayed error and a log line carry, whatever the request's size.
const MaxParamBytes = 256

// ellipsis ends a value cut by Truncate.
const ellipsis = "…"

// Param is one named parameter of an error message. Values are strings so
// that an error crosses a remote route unchanged; [P] formats other values.
//
// A parameter is client-safe unless Internal is set: client-safe
// parameters fill the message's placeholders and travel in error bodies
// ([Error.WireParams]) and across remote routes; internal ones, made with
// [InternalParam], are for logs only: [Error.Error] lists them, and
// [Error.Message], [Error.ParamMap] and [Error.WireParams] leave them out.
type Param struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	// Internal marks a parameter that only logs may see, such as the
	// address of a node or the name of an internal command.
	Internal bool `json:"-"`
}

// P returns a client-safe parameter, formatting value with fmt.Sprint when
// it is not a string. Use it for what a command tells its callers, such
// as the SKU that is unknown.
func P(key string, value any) Param {
	if s, ok := value.(string); ok {
		return Param{Key: key, Value: s}
	}
	return Param{Key: key, Value: sprint(value)}
}

// InternalParam returns a parameter for logs only, formatting value like
// [P]: its value never reaches a client, an error body or a peer. Use it
// for what a caller must not learn: the address of a node, the name of an
// internal command or dependency, a configured limit of an internal call.
// A message template should not use it: its placeholder renders as
// nothing in client text, and [Error.MissingParams] reports it.
func InternalParam(key string, value any) Param {
	p := P(key, value)
	p.Internal = true
	return p
}

// sprint formats a value. fmt.Sprint calls String or Error itself, and
// survives a nil pointer whose method panics.
func sprint(value any) string { return fmt.Sprint(value) }

// Truncate returns s when it is at most max bytes long, and otherwise its
// longest prefix that ends on a character boundary and leaves room for
// "…", followed by "…": at most max bytes in all. Invalid UTF-8 in
// the kept part is kept as it is. A max smaller than the ellipsis gives a
// prefix of at most max bytes without it. It is the one cut that errs
// applies to parameter values ([MaxParamBytes]); the logging middleware
// and the HTTP transport use it for the error text they log.
func Truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	if max < 0 {
		max = 0
	}
	keep := max - len(ellipsis)
	suffix := ellipsis
	if keep < 0 {
		keep, suffix = max, ""
	}
	for keep > 0 && !utf8.RuneStart(s[keep]) {
		keep--
	}
	var b strings.Builder
	b.Grow(keep + len(suffix))
	b.WriteString(s[:keep])
	b.WriteString(suffix)
	return b.String()
}

// cutParams returns params with every value cut to MaxParamBytes; the
// same slice when none is longer, so that the usual error does not
// allocate.
func cutParams(params []Param) []Param {
	for i, p := range params {
		if len(p.Value) > MaxParamBytes {
			out := append([]Param(nil), params...)
			for j := i; j < len(out); j++ {
				out[j].Value = Truncate(out[j].Value, MaxParamBytes)
			}
			return out
		}
	}
	return params
}

// cutFields returns fields with every field name and parameter value cut
// to MaxParamBytes; the same slice when none is longer.
func cutFields(fields []FieldViolation) []FieldViolation {
	var out []FieldViolation
	for i, f := range fields {
		if !longField(f) {
			continue
		}
		if out == nil {
			out = append([]FieldViolation(nil), fields...)
		}
		f.Field = Truncate(f.Field, MaxParamBytes)
		if len(f.Params) > 0 {
			ps := make(map[string]string, len(f.Params))
			for k, v := range f.Params {
				ps[k] = Truncate(v, MaxParamBytes)
			}
			f.Params = ps
		}
		out[i] = f
	}
	if out == nil {
		return fields
	}
	return out
}

func longField(f FieldViolation) bool {
	if len(f.Field) > MaxParamBytes {
		return true
	}
	for _, v := range f.Params {
		if len(v) > MaxParamBytes {
			return true
		}
	}
	return false
}
