package codec

import (
	errs "github.com/wegomesh/wego/err"
)

// reason is a field violation that decoding finds: the message key of its
// localized text, and the English reason (the text after the field's
// name), a template of the violation's parameters. The framework's locale
// files (i18n/locales/codec.*.toml) hold the message of each key,
// "{{.field}} " followed by the reason in English, and its Spanish
// translation; a test checks that they agree.
type reason = errs.Reason

// The reasons of decoding a JSON value.
var (
	reasonNotJSON        = reason{Key: "codec.not_valid_json", Text: "is not valid JSON (at byte {{.offset}})"}
	reasonDataAfterJSON  = reason{Key: "codec.data_after_json", Text: "has data after the JSON value"}
	reasonUnknownField   = reason{Key: "codec.unknown_field", Text: "is not a known field"}
	reasonGivenTwice     = reason{Key: "codec.given_twice", Text: "is given twice"}
	reasonInvalidUTF8    = reason{Key: "codec.invalid_utf8", Text: "is not valid UTF-8"}
	reasonKeyInvalidUTF8 = reason{Key: "codec.key_invalid_utf8", Text: "has a key that is not valid UTF-8"}
	reasonBoolean        = reason{Key: "codec.type.boolean", Text: "must be true or false"}
	reasonInteger        = reason{Key: "codec.type.integer", Text: "must be an integer"}
	reasonUnsigned       = reason{Key: "codec.type.unsigned", Text: "must be a non-negative integer"}
	reasonNumber         = reason{Key: "codec.type.number", Text: "must be a number"}
	reasonString         = reason{Key: "codec.type.string", Text: "must be a string"}
	reasonBase64         = reason{Key: "codec.type.base64", Text: "must be a base64 string"}
	reasonArray          = reason{Key: "codec.type.array", Text: "must be an array"}
	reasonObject         = reason{Key: "codec.type.object", Text: "must be an object"}
	reasonValid          = reason{Key: "codec.type.valid", Text: "must be a valid value"}
	allReasons           = []reason{reasonNotJSON, reasonDataAfterJSON, reasonUnknownField, reasonGivenTwice,
		reasonInvalidUTF8, reasonKeyInvalidUTF8, reasonBoolean, reasonInteger, reasonUnsigned, reasonNumber,
		reasonString, reasonBase64, reasonArray, reasonObject, reasonValid}
)
