// Package codec is JSON encoding and strict decoding shared by transports
// and bdd; content-type negotiation and other codecs come later.
//
// # Strict decoding
//
// [DecodeStrict] decodes a JSON value into a Go value as encoding/json
// does, and refuses what encoding/json lets pass: a key that is not
// exactly a field's JSON name (encoding/json ignores case), a key given
// twice in one object (encoding/json keeps the last), a string that is not
// valid UTF-8 (encoding/json turns it into U+FFFD) and data after the
// value. What it needs of the target type is computed once, by [TypeOf];
// per call it takes a reusable [Scanner], and the common body — a flat
// object of strings, numbers and booleans — is decoded in one walk without
// encoding/json and without allocating beyond the strings it sets.
// [Unmarshal] and [Parse] apply the same rule off the hot path, for tests
// and tools. [Decode] is the lenient counterpart, for what a peer answers:
// json.Unmarshal's result, with the common body taken in the same one walk.
//
// Every failure is an invalid-argument *errs.Error with one field
// violation: the path of the field ("items.0.qty"), or "body" for the
// value as a whole, and a reason of this package, never encoding/json's
// text or a Go type's name. The reasons' message keys, localized by
// package i18n from the framework's locale files (codec.en.toml,
// codec.es.toml), are:
//
//	codec.not_valid_json      is not valid JSON (at byte {{.offset}})
//	codec.data_after_json     has data after the JSON value
//	codec.unknown_field       is not a known field
//	codec.given_twice         is given twice
//	codec.invalid_utf8        is not valid UTF-8
//	codec.key_invalid_utf8    has a key that is not valid UTF-8
//	codec.type.boolean        must be true or false
//	codec.type.integer        must be an integer
//	codec.type.unsigned       must be a non-negative integer
//	codec.type.number         must be a number
//	codec.type.string         must be a string
//	codec.type.base64         must be a base64 string
//	codec.type.array          must be an array
//	codec.type.object         must be an object
//	codec.type.valid          must be a valid value
//
// # Encoding
//
// A [Plan] encodes values of a flat struct type (strings, integers,
// booleans) in one pass, byte for byte as json.Encoder would, into a
// caller's buffer: [Plan.Encode] with json.Encoder's HTML escaping, for
// responses, and [Plan.EncodeUnescaped] without it, for request bodies.
// It reports false for any value it cannot encode exactly so, and the
// caller falls back to json.Encoder.
package codec
