// Package templates generates WeGO services from a small YAML spec: the code
// behind `wego new service` and `wego gen` (package cmd/wego).
//
// A spec (see docs/codegen.md) names a service, its operations — HTTP endpoint,
// request and response fields, retry, cache and audit attributes — and its
// error codes with English and Spanish messages:
//
//	spec, err := templates.ParseSpec(data, "wego.yaml") // *SpecError with file:line
//	files, err := templates.Generate(spec, templates.Options{Module: "example.com/billing"})
//	report, err := templates.Write(dir, files, templates.WriteRegen)
//
// The generated service mirrors examples/mesh: an API package that declares
// the commands (catalog.Declare) and is also the client package of remote
// callers, a service package that registers them and calls a user-owned
// Impl held as a catalog dependency, a main running fw with the HTTP
// transport, feature files run by package bdd, a Makefile and a Dockerfile.
//
// Generated files start with Header and are rewritten by every generation;
// the others (the implementation, its tests, the features, the
// configuration, go.mod, README.md) belong to the user once written, and
// WriteRegen never creates or changes them. Generation is deterministic and
// Write leaves files whose content is already right untouched, so
// regenerating from the same spec changes nothing, not even a modification
// time.
//
// The templates are embedded (files/*.tmpl) and rendered with text/template;
// Go files are gofmt-ed with go/format.
package templates
