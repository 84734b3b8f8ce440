package validate

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	errs "github.com/wegomesh/wego/err"
)

// Fields returns an invalid-argument error naming the violations, or nil
// when there are none. It is the plain way to fail a Validate method:
//
//	if r.Qty < 1 {
//		return validate.Fields(errs.Field("qty", "must be at least 1"))
//	}
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
// (JSON names); reasons are developer text, not translated.
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
		c.violations = append(c.violations, errs.FieldViolation{Field: field, Reason: "must not be empty"})
	}
	return c
}

// Min requires v >= minimum.
func (c Checker) Min(field string, v, minimum int) Checker {
	if v < minimum {
		c.violations = append(c.violations, errs.FieldViolation{Field: field, Reason: "must be at least " + strconv.Itoa(minimum)})
	}
	return c
}

// Max requires v <= maximum.
func (c Checker) Max(field string, v, maximum int) Checker {
	if v > maximum {
		c.violations = append(c.violations, errs.FieldViolation{Field: field, Reason: "must be at most " + strconv.Itoa(maximum)})
	}
	return c
}

// MaxLen requires a string of at most n characters (runes, not bytes).
func (c Checker) MaxLen(field, v string, n int) Checker {
	if len(v) > n && utf8.RuneCountInString(v) > n {
		c.violations = append(c.violations, errs.FieldViolation{Field: field, Reason: "must be at most " + strconv.Itoa(n) + " characters long"})
	}
	return c
}

// OneOf requires v to be one of allowed.
func (c Checker) OneOf(field, v string, allowed ...string) Checker {
	if !slices.Contains(allowed, v) {
		c.violations = append(c.violations, errs.FieldViolation{Field: field, Reason: "must be one of " + strings.Join(allowed, ", ")})
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
