package errs

// Reason is a kind of field violation that a package finds again and
// again (a value that is not an integer, a key given twice): the message
// key of its localized text, and the English reason, the text after the
// field's name, which may hold {{.name}} placeholders for its parameters.
// The package's locale files hold the message of each key, "{{.field}} "
// followed by the reason, in each language.
type Reason struct {
	Key  string
	Text string
}

// At returns the violation of field, with params given as key, value
// pairs that fill the reason's placeholders.
func (r Reason) At(field string, params ...string) FieldViolation {
	fv := FieldViolation{Field: field, Reason: r.Text, Key: r.Key}
	if len(params) >= 2 {
		fv.Params = make(map[string]string, len(params)/2)
		ps := make([]Param, 0, len(params)/2)
		for i := 0; i+1 < len(params); i += 2 {
			fv.Params[params[i]] = params[i+1]
			ps = append(ps, Param{Key: params[i], Value: params[i+1]})
		}
		fv.Reason = Render(r.Text, ps)
	}
	return fv
}

// Invalid returns the invalid-argument error of one violation of r.
func (r Reason) Invalid(field string, params ...string) *Error {
	return InvalidArgument(r.At(field, params...))
}
