package errs

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// Def is the definition of an application error code: its kind, its
// default (English) message and optionally a more precise HTTP status.
// Declare each code once, at package level, with [Define]; make errors
// from it with [Def.New]. A *Def is also an error, so that
// errors.Is(err, ErrUnknownSKU) matches any error with its code.
type Def struct {
	code    string
	kind    Kind
	status  int
	message string
	site    string
}

// DefOption configures a [Def].
type DefOption interface{ applyDef(*Def) }

type statusOption int

func (s statusOption) applyDef(d *Def) { d.status = int(s) }

// WithHTTPStatus gives a code an HTTP status other than its kind's, such as
// 415 for an unsupported media type (kind invalid argument). The status
// must be an error status (400–599); [Define] panics otherwise.
func WithHTTPStatus(status int) DefOption { return statusOption(status) }

var registry struct {
	sync.RWMutex
	defs map[string]*Def
}

// Define declares an error code. It is meant for package-level variables
// and init functions, and panics, naming both definition sites, when the
// code is defined twice with a different kind, status or message, when the
// code is empty or not made of lower-case letters, digits, '_' and '.',
// when the kind is not valid, or when the status given with
// [WithHTTPStatus] is not in 400–599. Defining the same code identically twice
// returns the first definition.
func Define(code string, kind Kind, message string, opts ...DefOption) *Def {
	d, err := define(code, kind, message, callerSite(2), opts...)
	if err != nil {
		panic(err)
	}
	return d
}

func define(code string, kind Kind, message, site string, opts ...DefOption) (*Def, error) {
	if !ValidCode(code) {
		return nil, fmt.Errorf("errs: invalid code %q at %s: use lower-case letters, digits, '_' and '.'", code, site)
	}
	if !kind.Valid() {
		return nil, fmt.Errorf("errs: code %q at %s: invalid kind %d", code, site, kind)
	}
	d := &Def{code: code, kind: kind, message: message, site: site}
	for _, o := range opts {
		o.applyDef(d)
	}
	if d.status != 0 && (d.status < 400 || d.status > 599) {
		return nil, fmt.Errorf("errs: code %q at %s: HTTP status %d is not an error status (400-599)", code, site, d.status)
	}
	registry.Lock()
	defer registry.Unlock()
	if prev, ok := registry.defs[code]; ok {
		if prev.kind == d.kind && prev.status == d.status && prev.message == d.message {
			return prev, nil
		}
		return nil, fmt.Errorf("errs: code %q defined twice, differently: at %s and at %s", code, prev.site, site)
	}
	if registry.defs == nil {
		registry.defs = make(map[string]*Def)
	}
	registry.defs[code] = d
	return d, nil
}

// ValidCode reports whether code is a well-formed error code: non-empty,
// at most 128 bytes of lower-case ASCII letters, digits, '_' and '.', and
// not starting or ending with '.'.
func ValidCode(code string) bool {
	if code == "" || len(code) > 128 || code[0] == '.' || code[len(code)-1] == '.' {
		return false
	}
	for i := 0; i < len(code); i++ {
		c := code[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func callerSite(skip int) string {
	_, file, line, ok := runtime.Caller(skip)
	if !ok {
		return "unknown site"
	}
	return fmt.Sprintf("%s:%d", file, line)
}

// Lookup returns the definition of a code, if one was made in this process.
// The kinds' own codes are defined too.
func Lookup(code string) (*Def, bool) {
	registry.RLock()
	d, ok := registry.defs[code]
	registry.RUnlock()
	return d, ok
}

// Defs returns every definition, sorted by code. The i18n package uses it
// to check that every code has a message in every shipped language.
func Defs() []*Def {
	registry.RLock()
	defs := make([]*Def, 0, len(registry.defs))
	for _, d := range registry.defs {
		defs = append(defs, d)
	}
	registry.RUnlock()
	slices.SortFunc(defs, func(a, b *Def) int { return strings.Compare(a.code, b.code) })
	return defs
}

// Code returns the code.
func (d *Def) Code() string { return d.code }

// Kind returns the kind.
func (d *Def) Kind() Kind { return d.kind }

// Status returns the HTTP status of errors made from d.
func (d *Def) Status() int {
	if d.status != 0 {
		return d.status
	}
	return d.kind.Status()
}

// Message returns the default (English) message template.
func (d *Def) Message() string { return d.message }

// Site returns the file and line of the definition.
func (d *Def) Site() string { return d.site }

// Error returns the code, so that a *Def can be an errors.Is target.
func (d *Def) Error() string { return d.code }

// New returns an error with d's code and the given message parameters,
// their values cut to [MaxParamBytes].
func (d *Def) New(params ...Param) *Error {
	return &Error{kind: d.kind, status: d.status, code: d.code, message: d.message, params: cutParams(params)}
}

// Wrap returns an error with d's code that wraps cause.
func (d *Def) Wrap(cause error, params ...Param) *Error {
	e := d.New(params...)
	e.cause = cause
	return e
}

// The definitions of the kinds' own codes, with their default messages.
var kindDefs [kindCount]*Def

func init() {
	messages := [kindCount]string{
		KindInvalidArgument:   "The request is not valid.",
		KindNotFound:          "The requested resource was not found.",
		KindAlreadyExists:     "The resource already exists.",
		KindConflict:          "The request conflicts with the current state.",
		KindUnauthenticated:   "Authentication is required.",
		KindPermissionDenied:  "You do not have permission to do this.",
		KindResourceExhausted: "Too many requests; try again later.",
		KindCanceled:          "The request was canceled.",
		KindInternal:          "An internal error occurred.",
		KindUnavailable:       "The service is unavailable; try again later.",
		KindDeadlineExceeded:  "The deadline was exceeded.",
	}
	for _, k := range Kinds() {
		d, err := define(k.Code(), k, messages[k], "github.com/wegomesh/wego/err")
		if err != nil {
			panic(err)
		}
		kindDefs[k] = d
	}
}

// New returns an error of the given kind with the kind's own code and
// message. An invalid kind gives an internal error.
func New(kind Kind, params ...Param) *Error {
	if !kind.Valid() {
		kind = KindInternal
	}
	return kindDefs[kind].New(params...)
}

// InvalidArgument returns an invalid-argument error naming the fields that
// are wrong and why. Its code is "invalid_argument"; its message lists the
// fields ("Invalid request: qty must be at least 1.") and comes from the
// message key "invalid_argument.fields", whose only parameter is "fields".
// Reasons are English; the violations that have a message key
// ([FieldViolation].Key) are localized by package i18n. Field names and
// the violations' parameter values are cut to [MaxParamBytes].
func InvalidArgument(fields ...FieldViolation) *Error {
	e := kindDefs[KindInvalidArgument].New()
	if len(fields) > 0 {
		fields = cutFields(fields)
		e.key = invalidFields.code
		e.message = invalidFields.message
		e.fields = fields
		e.params = []Param{{Key: fieldsParam, Value: describeFields(fields)}}
	}
	return e
}

// invalidFields is the message of invalid-argument errors that name fields.
var invalidFields = Define("invalid_argument.fields", KindInvalidArgument, "Invalid request: {{.fields}}.")

// fieldsParam is the parameter of invalidFields's message: the violations
// as one text.
const fieldsParam = "fields"

func describeFields(fields []FieldViolation) string {
	var b strings.Builder
	for i, f := range fields {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(f.Field)
		if f.Reason != "" {
			b.WriteString(" ")
			b.WriteString(f.Reason)
		}
	}
	return b.String()
}

// Field returns a field violation: a shorthand for InvalidArgument's
// arguments.
func Field(field, reason string) FieldViolation {
	return FieldViolation{Field: field, Reason: reason}
}

// NotFound returns a not-found error with the kind's code.
func NotFound(params ...Param) *Error { return New(KindNotFound, params...) }

// AlreadyExists returns an already-exists error with the kind's code.
func AlreadyExists(params ...Param) *Error { return New(KindAlreadyExists, params...) }

// Conflict returns a conflict error with the kind's code.
func Conflict(params ...Param) *Error { return New(KindConflict, params...) }

// Unauthenticated returns an unauthenticated error with the kind's code.
func Unauthenticated(params ...Param) *Error { return New(KindUnauthenticated, params...) }

// PermissionDenied returns a permission-denied error with the kind's code.
func PermissionDenied(params ...Param) *Error { return New(KindPermissionDenied, params...) }

// ResourceExhausted returns a resource-exhausted error with the kind's code.
func ResourceExhausted(params ...Param) *Error { return New(KindResourceExhausted, params...) }

// Canceled returns a canceled error with the kind's code.
func Canceled(params ...Param) *Error { return New(KindCanceled, params...) }

// Internal returns an internal error with the kind's code. Attach what went
// wrong with [Error.WithCause]: it reaches the logs, not the client.
func Internal(params ...Param) *Error { return New(KindInternal, params...) }

// Unavailable returns an unavailable error with the kind's code.
func Unavailable(params ...Param) *Error { return New(KindUnavailable, params...) }

// DeadlineExceeded returns a deadline-exceeded error with the kind's code.
func DeadlineExceeded(params ...Param) *Error { return New(KindDeadlineExceeded, params...) }
