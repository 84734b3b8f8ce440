// Package validate is the request validation middleware: it calls the
// Validate method of a command's request before the command runs, and turns
// a failure into an invalid-argument error (HTTP 400) that names the fields
// at fault.
//
// # Request types opt in
//
// A request type opts in by having a method
//
//	Validate() error
//
// on the type or on its pointer. [Middleware.Wrap] decides, once per
// command, whether the command's request type has one and returns the next
// handler unchanged when it does not, so commands without validation cost
// nothing. Per call, the check is a type assertion and the method call.
//
// Validate methods build their errors with [Check], a small allocation-free
// rule set, or with [Fields]:
//
//	func (r ReserveRequest) Validate() error {
//		return validate.Check().
//			NotEmpty("sku", r.SKU).
//			Min("qty", r.Qty, 1).
//			Err()
//	}
//
// What a Validate method returns reaches the caller as follows:
//   - nil: the command runs;
//   - an error with an *errs.Error in its chain (what Check and Fields
//     return, or any application error): that error, as it is;
//   - any other error: an invalid-argument error with one field violation
//     per error (errors joined with errors.Join give several), field
//     "request" and the error's text as the reason, with the error as its
//     cause. Its text reaches the client, as a Validate method's text is
//     meant to; return errs errors when it must not.
//
// # Localized messages
//
// Every violation that the rules of [Checker] report, and the middleware's
// own for a nil request, carries an English Reason ("must be at least 1")
// and a message key with parameters ([KeyMin] with {"min": "1"}). The
// framework's i18n bundle ships the keys' messages in English and Spanish,
// so a transport's error body reads "Invalid request: qty must be at least
// 1." or, for Accept-Language: es, "Solicitud no válida: qty debe ser al
// menos 1.". An application rewords them, or adds a language, in its own
// locale files under the same keys. Violations without a key (those of
// [Checker.That], errs.Field, and converted errors) read the same in every
// language.
//
// # When to use it
//
// Put it in the server chain, after recovery and logging, so that every
// transport and every local call is validated where the command runs:
//
//	v, err := validate.New(validate.DefaultConfig())
//	...
//	cat.UseServerSide(recovery, logging, v)
//
// It works in a client chain too, to fail before a remote call is made.
//
// # Configuration
//
// Section "middleware.validate":
//
//	enabled   bool  true   validate requests at all
//	commands  map   {}     per "service.Operation", "service.*" or "*":
//	                       {enabled: false} turns validation off for the
//	                       commands, {enabled: true} back on; the most
//	                       specific entry wins
//
// For example:
//
//	middleware:
//	  validate:
//	    commands:
//	      inventory.*: {enabled: false}
//	      inventory.Reserve: {enabled: true}
//
// Keys match command names without regard to case, since the
// configuration loader lower-cases them.
package validate
