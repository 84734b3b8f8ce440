package templates

import (
	"bytes"
	"fmt"
)

// DefaultSpec returns the spec that `wego new service NAME` uses without
// --spec: one operation, Get<Name> on GET /<name>/{id}, and one error code,
// <name>.not_found, with comments that explain every key. module may be
// empty; the spec then has no module key.
func DefaultSpec(name, module string) ([]byte, error) {
	if !ValidService(name) {
		return nil, fmt.Errorf("templates: %q cannot name a service: use a lower-case identifier of letters and digits, such as billing, that is not a Go keyword or reserved", name)
	}
	if module != "" && !ValidModule(module) {
		return nil, fmt.Errorf("templates: %q is not a valid Go module path", module)
	}
	var b bytes.Buffer
	err := tmpl.ExecuteTemplate(&b, "wego.yaml.tmpl", struct {
		Service, Title, Module string
	}{name, title(name), module})
	return b.Bytes(), err
}
