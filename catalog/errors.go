package catalog

import (
	"errors"
	"fmt"

	errs "github.com/wegomesh/wego/err"
)

// Registration fails with a *RegistrationError that wraps one of these, so
// that errors.Is(err, catalog.ErrDuplicate) works.
var (
	// ErrInvalidName: a command or dependency name is empty or malformed.
	ErrInvalidName = errors.New("invalid name")
	// ErrNilFunc: a command's function or a dependency's value is nil.
	ErrNilFunc = errors.New("nil function or value")
	// ErrDuplicate: the name is registered already.
	ErrDuplicate = errors.New("registered twice")
	// ErrTypeMismatch: the name is declared already with other types.
	ErrTypeMismatch = errors.New("types differ from an earlier declaration")
	// ErrNotRegistered: a replacement or a lookup names something that is not
	// in the catalog.
	ErrNotRegistered = errors.New("not registered")
)

// RegistrationError reports a registration, declaration, replacement or
// lookup that failed, with the sites involved.
type RegistrationError struct {
	// Name is the command's or dependency's name.
	Name string
	// Site is the file:line of the failing call.
	Site string
	// Other is the file:line of the earlier registration it collides with,
	// if any.
	Other string
	// Detail adds what the sentinel does not say, such as the two types.
	Detail string
	// Err is one of the sentinels above.
	Err error
}

// Error describes the failure, naming both sites of a collision.
func (e *RegistrationError) Error() string {
	msg := fmt.Sprintf("catalog: %q %s", e.Name, e.Err)
	if e.Detail != "" {
		msg += " (" + e.Detail + ")"
	}
	if e.Site != "" {
		msg += ": at " + e.Site
	}
	if e.Other != "" {
		msg += " and at " + e.Other
	}
	return msg
}

// Unwrap returns the sentinel.
func (e *RegistrationError) Unwrap() error { return e.Err }

// Errors returned by calls. They are errs errors, so transports map them to
// statuses and clients see codes, never Go details. The command or
// dependency they concern is an internal parameter (errs.InternalParam,
// "command" or "dependency"): logs show it, error bodies do not.
var (
	// ErrUnknownCommand: a call by name names no command (404).
	ErrUnknownCommand = errs.Define("wego.unknown_command", errs.KindNotFound,
		"The requested command does not exist.")
	// ErrWrongType: a dynamic caller passed a request or response of the
	// wrong type (a bug in the caller: 500).
	ErrWrongType = errs.Define("wego.wrong_type", errs.KindInternal,
		"An internal error occurred.")
	// ErrNoRoute: the command is declared but has neither a local function
	// nor a remote route (a configuration mistake: 503, so callers may try
	// again after a fix).
	ErrNoRoute = errs.Define("wego.no_route", errs.KindUnavailable,
		"A command this request needs is not available here.")
	// ErrUnknownDependency: a dependency is resolved that was never provided.
	ErrUnknownDependency = errs.Define("wego.unknown_dependency", errs.KindInternal,
		"An internal error occurred.")
)

func wrongType(name, what string, got any, want string) error {
	return ErrWrongType.Wrap(fmt.Errorf("catalog: %s: %s is %T, want %s", name, what, got, want),
		errs.InternalParam("command", name))
}
