package errs

import (
	"context"
	"errors"
	"slices"
	"strings"
)

// FieldViolation names one field of a request that is invalid and why.
// Field is the field's name as the client sees it (its JSON name); Reason
// is the English text that follows it, such as "must be at least 1".
//
// Key and Params make the violation localizable: Key is the i18n message
// ID of the whole violation, a template that names the field itself, such
// as "validate.min" = "{{.field}} must be at least {{.min}}", and Params
// are the template's parameters other than "field". Package i18n renders
// the violations that have a Key in the client's language when it
// localizes an [InvalidArgument] error; one without a Key reads "Field
// Reason" in every language. A FieldViolation is not comparable with ==.
type FieldViolation struct {
	Field  string            `json:"field"`
	Reason string            `json:"reason"`
	Key    string            `json:"key,omitempty"`
	Params map[string]string `json:"params,omitempty"`
}

// Error is WeGO's error. Build one with a [Def] or a kind constructor such
// as [NotFound]; an Error is immutable, and its With methods return copies.
//
// The zero Error is not useful; a nil *Error is never returned as an error
// by this package.
type Error struct {
	kind    Kind
	status  int // 0: the kind's status
	code    string
	key     string // i18n message ID; "" means code
	message string // default (English) message template
	literal bool   // message is final text, not a template (see Remote)
	remote  bool   // rebuilt by Remote: the cause is not part of Error's text
	params  []Param
	fields  []FieldViolation
	cause   error
}

// Kind returns the error's kind.
func (e *Error) Kind() Kind { return e.kind }

// Code returns the stable code: an application code such as
// "inventory.unknown_sku" or the kind's own code such as "not_found".
func (e *Error) Code() string { return e.code }

// Status returns the HTTP status: the one given at definition, or the kind's.
func (e *Error) Status() int {
	if e.status != 0 {
		return e.status
	}
	return e.kind.Status()
}

// MessageKey returns the i18n message ID of the error's text: the code,
// except for errors that name invalid fields (see [InvalidArgument]).
func (e *Error) MessageKey() string {
	if e.key != "" {
		return e.key
	}
	return e.code
}

// Params returns the message parameters in the order they were given,
// internal ones included (see [Param]): for logs. The caller must not
// modify the slice.
func (e *Error) Params() []Param { return e.params }

// Param returns the value of the named parameter, client-safe or
// internal.
func (e *Error) Param(key string) (string, bool) {
	for _, p := range e.params {
		if p.Key == key {
			return p.Value, true
		}
	}
	return "", false
}

// ParamMap returns the client-safe parameters as a new map, the form that
// message templates use; internal parameters ([InternalParam]) are left
// out. It returns nil when there are none.
func (e *Error) ParamMap() map[string]string {
	return e.paramMap(false)
}

// WireParams returns the parameters a transport sends to a client or a
// peer: [Error.ParamMap] (the client-safe parameters) without the
// "fields" parameter that [InvalidArgument] derives from the field
// violations for its message, since the violations travel as a list of
// their own ([Error.Fields]) and [Remote] derives the parameter again. It
// returns nil when no parameter is left.
func (e *Error) WireParams() map[string]string {
	return e.paramMap(e.key == invalidFields.code && len(e.fields) > 0)
}

// paramMap returns the client-safe parameters, without "fields" when
// noFields is set, or nil.
func (e *Error) paramMap(noFields bool) map[string]string {
	var m map[string]string
	for _, p := range e.params {
		if p.Internal || noFields && p.Key == fieldsParam {
			continue
		}
		if m == nil {
			m = make(map[string]string, len(e.params))
		}
		m[p.Key] = p.Value
	}
	return m
}

// Fields returns the field violations of an invalid-argument error. The
// caller must not modify the slice.
func (e *Error) Fields() []FieldViolation { return e.fields }

// DefaultMessage returns the untranslated message template of the error,
// such as "SKU {{.sku}} is unknown". For an error rebuilt by [Remote] it
// is the message received.
func (e *Error) DefaultMessage() string { return e.message }

// Message returns the default (English) message with its client-safe
// parameters filled in. It never contains the cause or an internal
// parameter, so it is safe to show to a client.
func (e *Error) Message() string {
	if e.literal {
		return e.message
	}
	return Render(e.message, e.params)
}

// MissingParams returns the keys of the placeholders of the error's
// message template that none of its client-safe parameters fills (see
// [MissingParams]), or nil: a placeholder that only an internal parameter
// fills is missing too, since clients never see its value. An error
// rebuilt by [Remote] has none: its message is final text. Tests assert
// that it is empty for the errors a command returns:
//
//	if e, ok := errs.As(err); ok && e.MissingParams() != nil {
//		t.Errorf("%s: message lacks parameters %v", e.Code(), e.MissingParams())
//	}
func (e *Error) MissingParams() []string {
	if e.literal {
		return nil
	}
	return MissingParams(e.message, e.params)
}

// Cause returns the error this one wraps, or nil.
func (e *Error) Cause() error { return e.cause }

// Unwrap returns the cause, for errors.Is and errors.As.
func (e *Error) Unwrap() error { return e.cause }

// Error returns the code, the message, the internal parameters (in
// brackets, as key=value) and the cause's text, for logs. Use
// [Error.Message] or a localized message for clients.
//
// An error rebuilt by [Remote] is the peer's error: its text is its code
// and message only. The cause a transport attaches to it (a record of
// where the error came from, such as the node that answered) stays
// reachable with [Error.Cause], errors.Unwrap and errors.As, but is not
// glued to the text, which can be relayed further as it was received.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.code)
	if msg := e.Message(); msg != "" {
		b.WriteString(": ")
		b.WriteString(msg)
	}
	open := false
	for _, p := range e.params {
		if !p.Internal {
			continue
		}
		if open {
			b.WriteByte(' ')
		} else {
			b.WriteString(" [")
			open = true
		}
		b.WriteString(p.Key)
		b.WriteByte('=')
		b.WriteString(p.Value)
	}
	if open {
		b.WriteByte(']')
	}
	if e.cause != nil && !e.remote {
		b.WriteString(": ")
		b.WriteString(e.cause.Error())
	}
	return b.String()
}

// Is reports whether target is an *Error or a [*Def] with the same code, so
// that errors.Is(err, ErrUnknownSKU) works for errors made from a Def and
// for the same error decoded on the other side of a remote route.
func (e *Error) Is(target error) bool {
	switch t := target.(type) {
	case *Error:
		return t != nil && t.code == e.code
	case *Def:
		return t != nil && t.code == e.code
	}
	return false
}

func (e *Error) clone() *Error {
	c := *e
	return &c
}

// WithCause returns a copy of e that wraps cause. The cause is for logs and
// errors.Is/As; clients never see its text.
func (e *Error) WithCause(cause error) *Error {
	c := e.clone()
	c.cause = cause
	return c
}

// WithParams returns a copy of e with params added after its own, their
// values cut to [MaxParamBytes].
func (e *Error) WithParams(params ...Param) *Error {
	c := e.clone()
	c.params = append(append([]Param(nil), e.params...), cutParams(params)...)
	return c
}

// WithFields returns a copy of e with field violations added after its
// own, their field names and parameter values cut to [MaxParamBytes].
func (e *Error) WithFields(fields ...FieldViolation) *Error {
	c := e.clone()
	c.fields = append(append([]FieldViolation(nil), e.fields...), cutFields(fields)...)
	return c
}

// WithStatus returns a copy of e with another HTTP status. Transports use
// it for statuses more precise than the kind's, such as 415 or 413.
func (e *Error) WithStatus(status int) *Error {
	c := e.clone()
	c.status = status
	return c
}

// Render fills {{.key}} placeholders of a message template with the
// client-safe params; internal ones ([InternalParam]) fill nothing. It
// understands only that form (the one go-i18n templates use for plain
// substitution); anything else is left as it is. A placeholder that no
// client-safe parameter fills renders as nothing (the empty string, as text/template's
// missingkey=zero renders a missing key of a map of strings), never as
// text/template's "<no value>", which would reach a client; find such
// placeholders with [MissingParams].
func Render(template string, params []Param) string {
	if !strings.Contains(template, "{{") {
		return template
	}
	var b strings.Builder
	rest := template
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			b.WriteString(rest)
			break
		}
		j := strings.Index(rest[i:], "}}")
		if j < 0 {
			b.WriteString(rest)
			break
		}
		if k := strings.LastIndex(rest[i:i+j], "{{"); k > 0 {
			// "{{x {{.a}}": the action is the innermost "{{".
			b.WriteString(rest[:i+k])
			rest = rest[i+k:]
			continue
		}
		b.WriteString(rest[:i])
		expr := strings.TrimSpace(rest[i+2 : i+j])
		if key, ok := strings.CutPrefix(expr, "."); ok && isIdent(key) {
			if p, ok := findParam(params, key); ok {
				b.WriteString(p.Value)
			}
		} else {
			b.WriteString(rest[i : i+j+2])
		}
		rest = rest[i+j+2:]
	}
	return b.String()
}

// findParam returns the first client-safe parameter named key.
func findParam(params []Param, key string) (Param, bool) {
	for _, p := range params {
		if p.Key == key && !p.Internal {
			return p, true
		}
	}
	return Param{}, false
}

// MissingParams returns the keys of the {{.key}} placeholders of template
// that no client-safe parameter in params fills, in the order they first appear, or
// nil when every placeholder is filled. [Render] renders those as
// nothing; a message missing one is the mark of a call site that forgot a
// parameter, such as ErrUnknownSKU.New() for "SKU {{.sku}} is unknown.".
// Tests catch it with [Error.MissingParams]; the HTTP transport logs it.
func MissingParams(template string, params []Param) []string {
	var missing []string
	rest := template
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			return missing
		}
		j := strings.Index(rest[i:], "}}")
		if j < 0 {
			return missing
		}
		if k := strings.LastIndex(rest[i:i+j], "{{"); k > 0 {
			rest = rest[i+k:] // the innermost "{{" starts the action, as in Render
			continue
		}
		expr := strings.TrimSpace(rest[i+2 : i+j])
		if key, ok := strings.CutPrefix(expr, "."); ok && isIdent(key) {
			if _, ok := findParam(params, key); !ok && !slices.Contains(missing, key) {
				missing = append(missing, key)
			}
		}
		rest = rest[i+j+2:]
	}
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (i > 0 && r >= '0' && r <= '9') {
			continue
		}
		return false
	}
	return true
}

// As returns the *Error in err's chain, if there is one.
func As(err error) (*Error, bool) {
	if err == nil {
		return nil, false
	}
	if e, ok := err.(*Error); ok { // fast path
		return e, true
	}
	return errors.AsType[*Error](err) // unlike errors.As, does not allocate
}

// KindOf returns the kind of err: the kind of its *Error, [KindCanceled] or
// [KindDeadlineExceeded] for the context errors, [KindInternal] for any
// other error, and 0 for nil. It does not allocate.
func KindOf(err error) Kind {
	if err == nil {
		return 0
	}
	if e, ok := As(err); ok {
		return e.kind
	}
	switch {
	case errors.Is(err, context.Canceled):
		return KindCanceled
	case errors.Is(err, context.DeadlineExceeded):
		return KindDeadlineExceeded
	}
	return KindInternal
}

// CodeOf returns the code of err as [From] would give it, without
// allocating: "" for nil.
func CodeOf(err error) string {
	if err == nil {
		return ""
	}
	if e, ok := As(err); ok {
		return e.code
	}
	return KindOf(err).Code()
}

// From converts any error into an *Error: nil stays nil, an *Error in the
// chain is returned as it is, context.Canceled and context.DeadlineExceeded
// become [KindCanceled] and [KindDeadlineExceeded], and anything else
// becomes an internal error that wraps it (its text is kept for logs only).
func From(err error) *Error {
	if err == nil {
		return nil
	}
	if e, ok := As(err); ok {
		return e
	}
	switch KindOf(err) {
	case KindCanceled:
		return Canceled().WithCause(err)
	case KindDeadlineExceeded:
		return DeadlineExceeded().WithCause(err)
	}
	return Internal().WithCause(err)
}

// Remote rebuilds an error received from a peer, such as the body of an
// HTTP error response. The kind comes from the code when it is a kind's
// code or a code defined in this process, and from the status otherwise;
// the status and the message received are kept. The message received is
// final text: [Error.Message] returns it as it is, without filling
// placeholders again. When no message is received, the code's definition
// gives it, or else the kind's. A status outside 400–599 is ignored. The
// text of the result ([Error.Error]) is its code and message only, whatever
// cause is attached to it later.
//
// Parameter values and field violations are cut like those of any error
// ([MaxParamBytes]); the parameters received are client-safe.
func Remote(status int, code, message string, params []Param, fields []FieldViolation) *Error {
	return RemoteKind(0, status, code, message, params, fields)
}

// RemoteKind is [Remote] for peers that send the error's kind beside its
// code, as every WeGO transport does: when the code is neither a kind's
// nor defined in this process, kind, when valid, gives the error's kind
// instead of the status, so that a transport without HTTP statuses (NATS)
// keeps it. An invalid kind (0) makes it the same as Remote.
func RemoteKind(kind Kind, status int, code, message string, params []Param, fields []FieldViolation) *Error {
	if status < 400 || status > 599 {
		status = 0
	}
	params, fields = cutParams(params), cutFields(fields)
	e := &Error{code: code, message: message, literal: message != "", remote: true, params: params, fields: fields, status: status}
	if d, ok := Lookup(code); ok { // the kinds' codes are defined too
		e.kind = d.kind
		if e.message == "" {
			e.message = d.message
		}
		if e.status == 0 {
			e.status = d.status
		}
	} else if kind.Valid() {
		e.kind = kind
	} else if status != 0 {
		e.kind = KindFromStatus(status)
	} else {
		e.kind = KindInternal
	}
	if code == "" {
		e.code = e.kind.Code()
	}
	if e.message == "" {
		e.message = kindDefs[e.kind].message
	}
	if e.code == KindInvalidArgument.Code() && len(fields) > 0 {
		// The same message key as InvalidArgument's, so that the error is
		// localized again with its list of fields.
		e.key = invalidFields.code
		if _, ok := e.Param(fieldsParam); !ok {
			e.params = append(append([]Param(nil), params...), Param{Key: fieldsParam, Value: describeFields(fields)})
		}
		if !e.literal {
			e.message = invalidFields.message
		}
	}
	if e.status == e.kind.Status() {
		e.status = 0
	}
	return e
}
