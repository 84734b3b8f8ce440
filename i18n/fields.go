package i18n

import (
	"strings"

	errs "github.com/wegomesh/wego/err"
)

// invalidFieldsID is the message ID of errs.InvalidArgument errors that
// name fields; fieldsParam is its parameter, the violations as one text.
const (
	invalidFieldsID = "invalid_argument.fields"
	fieldsParam     = "fields"
	fieldParam      = "field" // the field's name, in a violation's message
)

// data returns the template data of e's message in language want: e's
// parameters, except that for an invalid-argument error whose field
// violations have message keys the "fields" parameter is rendered again,
// each violation in language want (or the first of its fallbacks that has
// the key). A violation without a key, or whose key no language has or
// whose message fails, reads "field reason" as errs renders it.
func (b *Bundle) data(want int, e *errs.Error) map[string]string {
	data := e.ParamMap()
	if e.MessageKey() != invalidFieldsID || !hasKeys(e.Fields()) {
		return data
	}
	if _, ok := data[fieldsParam]; !ok {
		return data // not the message errs derives from the fields
	}
	var sb strings.Builder
	for n, f := range e.Fields() {
		if n > 0 {
			sb.WriteString("; ")
		}
		sb.WriteString(b.violation(want, f))
	}
	data[fieldsParam] = sb.String()
	return data
}

// LocalizeFields returns the field violations of e with their Reason in
// the language that best matches the Accept-Language header values given,
// as [Bundle.Localize] chooses it: what a transport puts in the "fields"
// of an error body, beside the localized message. A violation that has a
// message key (errs.FieldViolation's Key) found in that language, its
// parents or the default language gets the text of that message without
// the field's name when the message starts with it ("{{.field}} debe ser
// al menos {{.min}}" gives the reason "debe ser al menos 1" for field
// qty), and the whole text otherwise; its Field, Key and Params are kept.
// A violation without a key, or whose message fails, is returned as it
// is. The result is a new slice when a reason changed, and e.Fields()
// otherwise; it is nil for a nil e. LocalizeFields never panics.
func (b *Bundle) LocalizeFields(e *errs.Error, acceptLanguage ...string) (out []errs.FieldViolation) {
	if e == nil {
		return nil
	}
	fields := e.Fields()
	if b == nil || !hasKeys(fields) {
		return fields
	}
	defer func() {
		if recover() != nil {
			out = fields
		}
	}()
	want := b.match(acceptLanguage)
	for n, f := range fields {
		msg, ok := b.render(want, f)
		if !ok {
			continue
		}
		reason := msg
		if rest, cut := strings.CutPrefix(msg, f.Field+" "); cut && f.Field != "" {
			reason = rest
		}
		if reason == f.Reason {
			continue
		}
		if out == nil {
			out = append([]errs.FieldViolation(nil), fields...)
		}
		out[n].Reason = reason
	}
	if out == nil {
		return fields
	}
	return out
}

// violation renders one field violation in language want.
func (b *Bundle) violation(want int, f errs.FieldViolation) string {
	if msg, ok := b.render(want, f); ok {
		return msg
	}
	if f.Reason == "" {
		return f.Field
	}
	return f.Field + " " + f.Reason
}

// render renders the message of a violation's key in language want or
// the first of its fallbacks that has it, with the violation's parameters
// and its field; false when it has no key, no language has the key or
// the message fails.
func (b *Bundle) render(want int, f errs.FieldViolation) (string, bool) {
	if f.Key == "" {
		return "", false
	}
	i := b.find(want, f.Key)
	if i < 0 {
		return "", false
	}
	params := make(map[string]string, len(f.Params)+1)
	for k, v := range f.Params {
		params[k] = v
	}
	params[fieldParam] = f.Field
	msg, err := b.execute(i, f.Key, params)
	return msg, err == nil
}

func hasKeys(fields []errs.FieldViolation) bool {
	for _, f := range fields {
		if f.Key != "" {
			return true
		}
	}
	return false
}
