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

// violation renders one field violation in language want.
func (b *Bundle) violation(want int, f errs.FieldViolation) string {
	if f.Key != "" {
		if i := b.find(want, f.Key); i >= 0 {
			params := make(map[string]string, len(f.Params)+1)
			for k, v := range f.Params {
				params[k] = v
			}
			params[fieldParam] = f.Field
			if msg, err := b.execute(i, f.Key, params); err == nil {
				return msg
			}
		}
	}
	if f.Reason == "" {
		return f.Field
	}
	return f.Field + " " + f.Reason
}

func hasKeys(fields []errs.FieldViolation) bool {
	for _, f := range fields {
		if f.Key != "" {
			return true
		}
	}
	return false
}
