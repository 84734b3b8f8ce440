// Package errs is WeGO's error model: one error type, [Error], with a stable
// machine-readable code, an HTTP status, an i18n message key with parameters,
// optional field violations and a cause.
//
// The package lives in the folder err but is named errs, so that call sites
// read well next to the everyday err variable:
//
//	if err != nil {
//		return nil, errs.NotFound(errs.P("id", id)).WithCause(err)
//	}
//
// # Kinds and codes
//
// Every error has a [Kind] — one of a small, closed set such as [KindNotFound] or
// [KindUnavailable] — that decides its HTTP status and how middleware treat it
// (a breaker counts only server faults, a retry only transient ones). Every
// error also has a code: the kind's own code ("not_found") for generic
// errors, or an application code ("inventory.unknown_sku") declared once
// with [Define]:
//
//	var ErrUnknownSKU = errs.Define("inventory.unknown_sku", errs.KindNotFound,
//		"SKU {{.sku}} is unknown")
//
//	return Resp{}, ErrUnknownSKU.New(errs.P("sku", req.SKU))
//
// Codes are the contract with clients and the message keys of translations;
// the English message given to Define is the default text (see package
// github.com/wegomesh/wego/i18n, which checks that every defined code has a
// message in every shipped language).
//
// # Causes never leak
//
// A cause attached with [Error.WithCause] is kept for logs ([Error.Error],
// errors.Is and errors.As see it) but never for clients: transports render
// [Error.Message] or a localized message, both built from the code and
// parameters only. Any error that is not an *Error when it reaches a
// boundary is converted by [From] into an internal error whose text stays
// in the logs.
//
// # Who sees a parameter
//
// A parameter made with [P] is client-safe: it fills the message and
// travels in error bodies and across remote routes. One made with
// [InternalParam] — the address of a node, the name of an internal
// command — is for logs only: [Error.Error] lists it, and nothing a
// client or a peer receives holds it.
//
// # Values are cut
//
// Parameters often echo what a client sent. Every parameter value, and
// every field name and parameter of a field violation, is cut to
// [MaxParamBytes] (256 bytes, on a character boundary, ending in "…") when
// it enters an Error, so that one large request cannot make a large error
// body, relayed error or log line.
package errs
