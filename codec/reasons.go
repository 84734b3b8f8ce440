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
type reason struct {
	key  string
	text string
}

// The reasons of decoding a JSON value.
var (
	reasonNotJSON        = reason{"codec.not_valid_json", "is not valid JSON (at byte {{.offset}})"}
	reasonDataAfterJSON  = reason{"codec.data_after_json", "has data after the JSON value"}
	reasonUnknownField   = reason{"codec.unknown_field", "is not a known field"}
	reasonGivenTwice     = reason{"codec.given_twice", "is given twice"}
	reasonInvalidUTF8    = reason{"codec.invalid_utf8", "is not valid UTF-8"}
	reasonKeyInvalidUTF8 = reason{"codec.key_invalid_utf8", "has a key that is not valid UTF-8"}
	reasonBoolean        = reason{"codec.type.boolean", "must be true or false"}
	reasonInteger        = reason{"codec.type.integer", "must be an integer"}
	reasonUnsigned       = reason{"codec.type.unsigned", "must be a non-negative integer"}
	reasonNumber         = reason{"codec.type.number", "must be a number"}
	reasonString         = reason{"codec.type.string", "must be a string"}
	reasonBase64         = reason{"codec.type.base64", "must be a base64 string"}
	reasonArray          = reason{"codec.type.array", "must be an array"}
	reasonObject         = reason{"codec.type.object", "must be an object"}
	reasonValid          = reason{"codec.type.valid", "must be a valid value"}
	allReasons           = []reason{reasonNotJSON, reasonDataAfterJSON, reasonUnknownField, reasonGivenTwice,
		reasonInvalidUTF8, reasonKeyInvalidUTF8, reasonBoolean, reasonInteger, reasonUnsigned, reasonNumber,
		reasonString, reasonBase64, reasonArray, reasonObject, reasonValid}
)

// at returns the violation of field, with params given as key, value
// pairs.
func (r reason) at(field string, params ...string) errs.FieldViolation {
	fv := errs.FieldViolation{Field: field, Reason: r.text, Key: r.key}
	if len(params) >= 2 {
		fv.Params = make(map[string]string, len(params)/2)
		ps := make([]errs.Param, 0, len(params)/2)
		for i := 0; i+1 < len(params); i += 2 {
			fv.Params[params[i]] = params[i+1]
			ps = append(ps, errs.Param{Key: params[i], Value: params[i+1]})
		}
		fv.Reason = errs.Render(r.text, ps)
	}
	return fv
}

// invalid returns the invalid-argument error of one violation.
func (r reason) invalid(field string, params ...string) *errs.Error {
	return errs.InvalidArgument(r.at(field, params...))
}
