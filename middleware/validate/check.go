package validate

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	errs "github.com/wegomesh/wego/err"
)

// The message keys of the violations that the rules of [Checker] and the
// middleware report, with their English messages. Each message names the
// field itself ({{.field}}); the other parameters are the rule's. The
// framework's i18n bundle ships them in English and Spanish, and an
// application's locale files may reword them or add languages.
const (
	// KeyNotEmpty: "{{.field}} must not be empty" ([Checker.NotEmpty]).
	KeyNotEmpty = "validate.not_empty"
	// KeyMin: "{{.field}} must be at least {{.min}}" ([Checker.Min]).
	KeyMin = "validate.min"
	// KeyMax: "{{.field}} must be at most {{.max}}" ([Checker.Max]).
	KeyMax = "validate.max"
	// KeyMaxLen: "{{.field}} must be at most {{.max}} characters long"
	// ([Checker.MaxLen]).
	KeyMaxLen = "validate.max_len"
	// KeyOneOf: "{{.field}} must be one of {{.allowed}}", the allowed
	// values joined with ", " ([Checker.OneOf]).
	KeyOneOf = "validate.one_of"
	// KeyRequired: "{{.field}} is required": the request of a command
	// whose request type is a pointer was nil.
	KeyRequired = "validate.required"
)

// Fields returns an invalid-argument error naming the violations, or nil
// when there are none. It is the plain way to fail a Validate method:
//
//	if r.Qty < 1 {
//		return validate.Fields(errs.Field("qty", "must be at least 1"))
//	}
//
// A violation made with errs.Field reads the same in every language; give
// it a message key and parameters (errs.FieldViolation's Key and Params),
// and messages for the key in the application's locale files, to have it
// localized like the rules of [Checker].
func Fields(violations ...errs.FieldViolation) error {
	if len(violations) == 0 {
		return nil
	}
	return errs.InvalidArgument(slices.Clone(violations)...)
}

// Checker collects field violations for a Validate method. Start one with
// [Check], chain rules, and finish with [Checker.Err]:
//
//	return validate.Check().
//		NotEmpty("sku", r.SKU).
//		Min("qty", r.Qty, 1).
//		MaxLen("note", r.Note, 200).
//		Err()
//
// Every rule is checked and every violation reported, in order. A Checker
// is a small value: rules that pass allocate nothing, so a valid request
// costs a few comparisons. Field names are the names the client sees
// (JSON names), and are not translated.
//
// The violations of the built-in rules are localized: each has an English
// Reason and a message key with parameters (errs.FieldViolation's Key and
// Params), whose English and Spanish messages the framework's i18n bundle
// ships; see the constants Key*. The reason given to [Checker.That] is
// used as it is, in every language.
type Checker struct {
	violations []errs.FieldViolation
}

// Check returns an empty [Checker].
func Check() Checker { return Checker{} }

// That records a violation of field with reason unless ok: the rule for
// everything the others do not cover.
//
//	Check().That("end", r.End.After(r.Start), "must be after start")
func (c Checker) That(field string, ok bool, reason string) Checker {
	if !ok {
		c.violations = append(c.violations, errs.FieldViolation{Field: field, Reason: reason})
	}
	return c
}

// NotEmpty requires a string with something other than white space.
func (c Checker) NotEmpty(field, v string) Checker {
	if strings.TrimSpace(v) == "" {
		c.violations = append(c.violations, errs.FieldViolation{Field: field, Reason: "must not be empty", Key: KeyNotEmpty})
	}
	return c
}

// Min requires v >= minimum.
func (c Checker) Min(field string, v, minimum int) Checker {
	if v < minimum {
		m := strconv.Itoa(minimum)
		c.violations = append(c.violations, errs.FieldViolation{Field: field, Reason: "must be at least " + m,
			Key: KeyMin, Params: map[string]string{"min": m}})
	}
	return c
}

// Max requires v <= maximum.
func (c Checker) Max(field string, v, maximum int) Checker {
	if v > maximum {
		m := strconv.Itoa(maximum)
		c.violations = append(c.violations, errs.FieldViolation{Field: field, Reason: "must be at most " + m,
			Key: KeyMax, Params: map[string]string{"max": m}})
	}
	return c
}

// MaxLen requires a string of at most n characters (runes, not bytes).
func (c Checker) MaxLen(field, v string, n int) Checker {
	if len(v) > n && utf8.RuneCountInString(v) > n {
		m := strconv.Itoa(n)
		c.violations = append(c.violations, errs.FieldViolation{Field: field, Reason: "must be at most " + m + " characters long",
			Key: KeyMaxLen, Params: map[string]string{"max": m}})
	}
	return c
}

// OneOf requires v to be one of allowed.
func (c Checker) OneOf(field, v string, allowed ...string) Checker {
	if !slices.Contains(allowed, v) {
		list := strings.Join(allowed, ", ")
		c.violations = append(c.violations, errs.FieldViolation{Field: field, Reason: "must be one of " + list,
			Key: KeyOneOf, Params: map[string]string{"allowed": list}})
	}
	return c
}

// Violations returns the violations recorded so far. The caller must not
// modify the slice.
func (c Checker) Violations() []errs.FieldViolation { return c.violations }

// Err returns nil when no rule failed, and otherwise an invalid-argument
// error (an *errs.Error, code "invalid_argument") naming every violation.
func (c Checker) Err() error {
	if len(c.violations) == 0 {
		return nil
	}
	return errs.InvalidArgument(slices.Clip(c.violations)...)
}
