package httptransport

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/codec/jsonschema"
	errs "github.com/wegomesh/wego/err"
	"github.com/wegomesh/wego/middleware"
	"github.com/wegomesh/wego/middleware/idempotency"
)

// OpenAPI returns an OpenAPI 3.1 document, as JSON, that describes the
// routes a [Server] serving cat exposes: every command with a local
// function that did not opt out with [NoHTTP]. Request and response
// schemas are generated from the Go types by package codec/jsonschema,
// following encoding/json (field names from json tags); named struct types
// become components. title names the API ("WeGO" when empty). It fails
// like [NewHandler] on a malformed route.
//
// What a request type's Validate method enforces (see package
// middleware/validate) is in the schema: fields it rejects when absent are
// required, and the bounds of the rules of validate.Checker become
// minimum, maximum, minLength, maxLength and enum, for body fields and
// path, query and header parameters alike. They are found by calling
// Validate on probe values when the document is generated, so a Validate
// method must have no side effects. Request bodies are required.
//
// The server serves the same document at GET /openapi.json.
func OpenAPI(cat *catalog.Catalog, title string) ([]byte, error) {
	if cat == nil {
		cat = catalog.Default
	}
	h := &handler{}
	var eps []*endpoint
	for _, e := range cat.Commands() {
		r, ok := EndpointOf(e.Spec())
		if !ok || !e.Local() || e.Routed() || e.Spec().Kind == middleware.Event {
			continue
		}
		ep, err := newEndpoint(h, e, r)
		if err != nil {
			return nil, err
		}
		eps = append(eps, ep)
	}
	return openAPIDocument(title, eps)
}

type obj = map[string]any

func openAPIDocument(title string, eps []*endpoint) ([]byte, error) {
	if title == "" {
		title = "WeGO"
	}
	g := jsonschema.NewGenerator("#/components/schemas/")
	g.Define("Error", errorSchema())
	for _, ep := range eps {
		// Before any schema: a request type's component carries its rules
		// wherever it is used first.
		g.ProbeRules(ep.spec.Request, paramName)
	}
	paths := obj{}
	for _, ep := range eps {
		p := openAPIPath(ep.route.Path)
		item, _ := paths[p].(obj)
		if item == nil {
			item = obj{}
			paths[p] = item
		}
		item[strings.ToLower(ep.route.Method)] = operation(g, ep)
	}
	doc := obj{
		"openapi": "3.1.0",
		"info":    obj{"title": title, "version": "1"},
		"paths":   paths,
		"components": obj{
			"schemas": g.Definitions(),
			"responses": obj{"Error": obj{
				"description": "A WeGO error: its code, a localized message and the request id.",
				"content":     obj{"application/json": obj{"schema": g.Ref("Error")}},
			}},
		},
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("httptransport: OpenAPI document: %w", err)
	}
	return b, nil
}

// errorSchema is the schema of an error body.
func errorSchema() jsonschema.Schema {
	return jsonschema.Schema{
		"type": "object",
		"properties": obj{
			"code":       obj{"type": "string", "description": "The stable error code, such as inventory.unknown_sku."},
			"kind":       obj{"type": "string", "enum": kinds(), "description": "The error's kind, which decides its status."},
			"message":    obj{"type": "string", "description": "The message, localized from Accept-Language."},
			"request_id": obj{"type": "string"},
			"params":     obj{"type": "object", "additionalProperties": obj{"type": "string"}},
			"fields": obj{"type": "array", "items": obj{
				"type": "object",
				"properties": obj{
					"field":  obj{"type": "string", "description": "The field's name as the client sent it."},
					"reason": obj{"type": "string", "description": "Why it is wrong, in English."},
					"key":    obj{"type": "string", "description": "The message key of the violation, such as validate.min."},
					"params": obj{"type": "object", "additionalProperties": obj{"type": "string"}},
				},
				"required": []string{"field", "reason"},
			}},
		},
		"required": []string{"code", "kind", "message"},
	}
}

// openAPIPath turns a ServeMux pattern into an OpenAPI path template.
func openAPIPath(p string) string {
	p = strings.ReplaceAll(p, "{$}", "")
	return strings.ReplaceAll(p, "...}", "}")
}

// operation describes the operation of one endpoint; its schemas come
// from g.
func operation(g *jsonschema.Generator, ep *endpoint) obj {
	spec := ep.spec
	op := obj{"operationId": spec.Name, "tags": []string{spec.Service()}}
	if spec.Doc != "" {
		op["summary"] = spec.Doc
	}
	var params []obj
	rules := g.ProbeRules(spec.Request, paramName)
	for _, p := range ep.shape.params {
		s := g.Schema(p.typ)
		required := p.in == inPath
		if r := paramRule(rules, p.name, p.in); r != nil {
			r.Apply(s)
			required = required || r.Required
		}
		params = append(params, obj{"name": p.name, "in": p.in.String(), "required": required, "schema": s})
	}
	keyed, _ := idempotency.Enabled.Get(spec.Attributes)
	if keyed && !slices.ContainsFunc(ep.shape.params, func(p param) bool {
		return p.in == inHeader && strings.EqualFold(p.name, HeaderIdempotencyKey)
	}) {
		params = append(params, idempotencyKeyParam())
	}
	if params != nil {
		op["parameters"] = params
	}
	if !ep.bodyless && len(ep.shape.body) > 0 {
		var s jsonschema.Schema
		if len(ep.shape.params) > 0 {
			s = g.StructSchema(spec.Request, isBound) // without the bound fields
		} else {
			s = g.Schema(spec.Request)
		}
		op["requestBody"] = obj{"required": true, "content": obj{"application/json": obj{"schema": s}}}
	}
	ok := obj{"description": http.StatusText(ep.status)}
	if !ep.noContent {
		ok["content"] = obj{"application/json": obj{"schema": g.Schema(spec.Response)}}
	}
	responses := obj{
		strconv.Itoa(ep.status): ok,
		"default":               obj{"$ref": "#/components/responses/Error"},
	}
	// What the transport and the server chain may answer for any command,
	// besides the command's own errors (default).
	for _, r := range transportAnswers {
		if r.body && ep.bodyless {
			continue
		}
		responses[r.status] = obj{"$ref": "#/components/responses/Error", "description": r.text}
	}
	if keyed {
		responses["422"] = obj{"$ref": "#/components/responses/Error",
			"description": "idempotency.key_reused: the Idempotency-Key was sent before with a different request."}
	}
	op["responses"] = responses
	return op
}

// transportAnswers are the error statuses that any operation may answer,
// whatever its command does: the transport's own (binding, body limits,
// the command budget, overload) and the server chain's (deadline, rate
// limit, panics). body marks those of operations with a request body.
var transportAnswers = []struct {
	status, text string
	body         bool
}{
	{"400", "invalid_argument: a malformed request (body, parameters, X-Wego-Timeout) or one the command's validation refuses.", false},
	{"413", "transport.body_too_large: the body is over the server's limit.", true},
	{"415", "transport.unsupported_media_type: the body is not JSON in UTF-8.", true},
	{"500", "internal: the server failed; the body says nothing more, the server's log has the cause under the request id.", false},
	{"503", "unavailable (or a more specific code such as transport.unavailable or circuit_open): the server is starting, " +
		"stopping or busy, or a service it depends on is unavailable; trying again later may work.", false},
	{"504", "deadline_exceeded: the command's budget (http.command_timeout) or the caller's X-Wego-Timeout ended " +
		"before it finished, or passed before it started.", false},
}

// idempotencyKeyParam describes the Idempotency-Key header of a command
// that accepts keys (idempotency.Enabled).
func idempotencyKeyParam() obj {
	return obj{
		"name": HeaderIdempotencyKey, "in": "header", "required": false,
		"description": "A key the client makes for one request and sends again with each retry of it: " +
			"the first outcome is stored and replayed, so the command runs once. The same key with a different " +
			"request is idempotency.key_reused (422).",
		"schema": obj{"type": "string", "minLength": 1, "maxLength": idempotency.MaxKeyLen, "pattern": "^[ -~]+$"},
	}
}

// paramName names the request fields bound to a path wildcard, a query
// parameter or a header as validation names them: by the parameter (a
// header by its canonical name).
func paramName(f reflect.StructField) (string, bool) {
	name, found := "", false
	for _, in := range []source{inPath, inQuery, inHeader} {
		if n, ok := f.Tag.Lookup(in.String()); ok && n != "" {
			name, found = n, true
			if in == inHeader {
				name = http.CanonicalHeaderKey(n)
			}
		}
	}
	return name, found
}

// isBound reports whether a request field is bound to the path, the query
// or a header.
func isBound(f reflect.StructField) bool {
	return f.Tag.Get("path") != "" || f.Tag.Get("query") != "" || f.Tag.Get("header") != ""
}

// paramRule returns the rule of a parameter, or nil. Header names match
// without regard to case, as HTTP compares them.
func paramRule(rs jsonschema.Rules, name string, in source) *jsonschema.Rule {
	if r := rs[name]; r != nil {
		return r
	}
	if in == inHeader {
		for n, r := range rs {
			if strings.EqualFold(n, name) {
				return r
			}
		}
	}
	return nil
}

type listed struct {
	Name   string `json:"name"`
	Method string `json:"method"`
	Path   string `json:"path"`
	Doc    string `json:"doc,omitempty"`
}

// listing returns the body of GET /: the application's name and its
// commands with their routes.
func listing(name string, eps []*endpoint) []byte {
	out := struct {
		Name     string   `json:"name,omitempty"`
		Commands []listed `json:"commands"`
	}{Name: name, Commands: []listed{}}
	for _, ep := range eps {
		out.Commands = append(out.Commands, listed{ep.name, ep.route.Method, ep.route.Path, ep.spec.Doc})
	}
	b, _ := json.Marshal(out)
	return b
}

// kinds returns the codes of the error kinds, for the error schema.
func kinds() []string {
	var out []string
	for _, k := range errs.Kinds() {
		out = append(out, k.String())
	}
	return out
}
