// Package i18n localizes WeGO error messages with go-i18n
// (github.com/nicksnyder/go-i18n/v2).
//
// A [Bundle] holds the messages of every language an application ships:
// the framework's own messages (English and Spanish, one per code of
// package errs, embedded in this package) and the application's message
// files, added with [Files] or [Messages]. Transports call
// [Bundle.Localize] with the Accept-Language header of the request to turn
// an *errs.Error into the text of its error body:
//
//	msg := bundle.Localize(errs.From(err), r.Header.Values("Accept-Language")...)
//
// # How a message is found
//
// The message ID of an error is its [errs.Error.MessageKey] — its code,
// such as "inventory.unknown_sku" — and the template data are its
// parameters. The language is the best match of the Accept-Language header
// among the bundle's languages; when the message is missing in that
// language, its parent languages in the bundle are tried (es-MX, es-419,
// es), then the default language, and finally the error's own English
// message ([errs.Error.Message]). A localized message never contains the
// error's cause, nor an internal parameter ([errs.InternalParam]).
// [Bundle.LocalizeFields] gives the reason of each field violation that
// has a message key in the same language, for the fields of an error body.
//
// The Accept-Language header is parsed entry by entry: an entry that is
// malformed or names an unknown language is skipped ("es, zz" is
// Spanish), and a header over 1 KiB is parsed up to that bound (at most
// 16 entries) rather than ignored.
//
// # Completeness
//
// Every code declared with errs.Define should have a message in every
// language the application ships: the default language and those its
// message files add. The English text given to errs.Define is the code's
// English message, so a program without message files lacks nothing; the
// framework's Spanish does not make Spanish one of the application's
// languages until it adds Spanish messages of its own. [Bundle.Check]
// reports the codes that lack a message; call it from a test of the
// application's main package, whose test binary links every package that
// defines codes:
//
//	func TestMessages(t *testing.T) {
//		b, err := i18n.New(i18n.Files(locales.FS, "*.toml"))
//		if err != nil {
//			t.Fatal(err)
//		}
//		if err := b.Check(); err != nil {
//			t.Error(err)
//		}
//	}
//
// The package imports only the standard library, go-i18n, x/text, the TOML
// and YAML decoders and package errs: it is a leaf that the rest of WeGO
// builds on.
package i18n
