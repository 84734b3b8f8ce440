// Package jsonschema maps Go types to JSON Schema (2020-12) objects, for
// the documents that describe an API: the HTTP transport's OpenAPI
// document today, an AsyncAPI document or an explorer page later.
//
// A [Generator] follows encoding/json — field names from json tags,
// embedded structs flattened, json:"-" and unexported fields left out — and
// makes each named struct type a shared definition, referred to with $ref
// and named after its package and type ("inventory.ReserveRequest",
// "inventory.ReserveRequest2" for a second type of that name). Schemas and
// definitions are [Schema] values, maps that encoding/json encodes as they
// are, so that a document assembles them with its own parts.
//
// What a type's Validate method enforces (see package middleware/validate)
// can be in its schema: [Generator.ProbeRules] finds it by calling
// Validate on probe values ([RulesOf]) and the type's schema then lists
// the fields Validate rejects when absent as required, and gives the
// bounds of the rules of validate.Checker as minimum, maximum, minLength,
// maxLength, pattern and enum.
package jsonschema
