package httptransport

import (
	"encoding"
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/middleware/idempotency"
)

// OpenAPI returns an OpenAPI 3.1 document, as JSON, that describes the
// routes a [Server] serving cat exposes: every command with a local
// function that did not opt out with [NoHTTP]. Request and response
// schemas are generated from the Go types by reflection, following
// encoding/json (field names from json tags); named struct types become
// components. title names the API ("WeGO" when empty). It fails like
// [NewHandler] on a malformed route.
//
// What a request type's Validate method enforces (see package
// middleware/validate) is in the schema: fields it rejects when absent are
// required, and the bounds of the rules of validate.Checker become
// minimum, maximum, minLength, maxLength and enum. They are found by
// calling Validate on probe values when the document is generated, so a
// Validate method must have no side effects. Request bodies are required.
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
		if !ok || !e.Local() || e.Routed() {
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
	g := &schemaGen{schemas: obj{}, names: map[reflect.Type]string{}, taken: map[string]bool{},
		rules: map[reflect.Type]requestRules{}}
	g.schemas["Error"] = errorSchema()
	g.taken["Error"] = true
	for _, ep := range eps {
		// Before any schema: a request type's component carries its rules
		// wherever it is used first.
		if t := structOf(ep.spec.Request); t != nil {
			if _, done := g.rules[t]; !done {
				g.rules[t] = validationRules(t)
			}
		}
	}
	paths := obj{}
	for _, ep := range eps {
		p := openAPIPath(ep.route.Path)
		item, _ := paths[p].(obj)
		if item == nil {
			item = obj{}
			paths[p] = item
		}
		item[strings.ToLower(ep.route.Method)] = g.operation(ep)
	}
	doc := obj{
		"openapi": "3.1.0",
		"info":    obj{"title": title, "version": "1"},
		"paths":   paths,
		"components": obj{
			"schemas": g.schemas,
			"responses": obj{"Error": obj{
				"description": "A WeGO error: its code, a localized message and the request id.",
				"content":     obj{"application/json": obj{"schema": ref("Error")}},
			}},
		},
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("httptransport: OpenAPI document: %w", err)
	}
	return b, nil
}

func ref(name string) obj { return obj{"$ref": "#/components/schemas/" + name} }

func errorSchema() obj {
	return obj{
		"type": "object",
		"properties": obj{
			"code":       obj{"type": "string", "description": "The stable error code, such as inventory.unknown_sku."},
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
		"required": []string{"code", "message"},
	}
}

// openAPIPath turns a ServeMux pattern into an OpenAPI path template.
func openAPIPath(p string) string {
	p = strings.ReplaceAll(p, "{$}", "")
	return strings.ReplaceAll(p, "...}", "}")
}

func (g *schemaGen) operation(ep *endpoint) obj {
	spec := ep.spec
	op := obj{"operationId": spec.Name, "tags": []string{spec.Service()}}
	if spec.Doc != "" {
		op["summary"] = spec.Doc
	}
	var params []obj
	rules := g.rules[structOf(spec.Request)]
	for _, p := range ep.shape.params {
		s := g.schema(p.typ)
		required := p.in == inPath
		if r := rules.lookup(p.name, p.in); r != nil {
			r.apply(s)
			required = required || r.required
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
		var s obj
		if len(ep.shape.params) > 0 {
			s = g.structSchema(spec.Request, true) // without the bound fields
		} else {
			s = g.schema(spec.Request)
		}
		op["requestBody"] = obj{"required": true, "content": obj{"application/json": obj{"schema": s}}}
	}
	ok := obj{"description": http.StatusText(ep.status)}
	if !ep.noContent {
		ok["content"] = obj{"application/json": obj{"schema": g.schema(spec.Response)}}
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

// schemaGen makes JSON schemas of Go types.
type schemaGen struct {
	schemas obj
	names   map[reflect.Type]string
	taken   map[string]bool
	rules   map[reflect.Type]requestRules // of the commands' request types
}

// structOf returns t, or what it points to, when that is a struct type.
func structOf(t reflect.Type) reflect.Type {
	if t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	return t
}

var (
	timeType      = reflect.TypeFor[time.Time]()
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

func (g *schemaGen) schema(t reflect.Type) obj {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		return obj{"type": "string", "format": "date-time"}
	case t == durationType:
		return obj{"type": "integer", "description": "A duration in nanoseconds."}
	case t.Implements(jsonMarshaler) || reflect.PointerTo(t).Implements(jsonMarshaler):
		return obj{}
	case t.Implements(textMarshaler) || reflect.PointerTo(t).Implements(textMarshaler):
		return obj{"type": "string"}
	}
	switch t.Kind() {
	case reflect.Bool:
		return obj{"type": "boolean"}
	case reflect.Int, reflect.Int64:
		return obj{"type": "integer", "format": "int64"}
	case reflect.Int8, reflect.Int16, reflect.Int32:
		return obj{"type": "integer", "format": "int32"}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return obj{"type": "integer", "minimum": 0}
	case reflect.Float32:
		return obj{"type": "number", "format": "float"}
	case reflect.Float64:
		return obj{"type": "number", "format": "double"}
	case reflect.String:
		return obj{"type": "string"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && t.Kind() == reflect.Slice {
			return obj{"type": "string", "contentEncoding": "base64"}
		}
		s := obj{"type": "array", "items": g.schema(t.Elem())}
		if t.Kind() == reflect.Array {
			s["minItems"], s["maxItems"] = t.Len(), t.Len()
		}
		return s
	case reflect.Map:
		return obj{"type": "object", "additionalProperties": g.schema(t.Elem())}
	case reflect.Struct:
		if t.Name() == "" {
			return g.structSchema(t, false)
		}
		name, ok := g.names[t]
		if !ok {
			name = g.name(t)
			g.names[t] = name
			g.schemas[name] = obj{} // a placeholder for recursive types
			g.schemas[name] = g.structSchema(t, false)
		}
		return ref(name)
	}
	return obj{} // interfaces, funcs, channels: anything
}

// name returns a component name for a named type: its package's name and
// its own, with what OpenAPI does not allow in names replaced.
func (g *schemaGen) name(t reflect.Type) string {
	n := t.Name()
	if pkg := t.PkgPath(); pkg != "" {
		n = path.Base(pkg) + "." + n
	}
	n = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' {
			return r
		}
		return '_'
	}, n)
	base := n
	for i := 2; g.taken[n]; i++ {
		n = base + strconv.Itoa(i)
	}
	g.taken[n] = true
	return n
}

// structSchema describes a struct as encoding/json encodes it; unbound
// leaves out the fields tagged path, query or header.
func (g *schemaGen) structSchema(t reflect.Type, unbound bool) obj {
	props := obj{}
	g.fields(t, props, unbound, 0)
	s := obj{"type": "object", "properties": props, "additionalProperties": false}
	var required []string
	for name, r := range g.rules[t] {
		p, ok := props[name].(obj)
		if !ok {
			continue // a parameter, or a name that is not a field
		}
		r.apply(p)
		if r.required {
			required = append(required, name)
		}
	}
	if required != nil {
		slices.Sort(required)
		s["required"] = required
	}
	return s
}

func (g *schemaGen) fields(t reflect.Type, props obj, unbound bool, depth int) {
	if depth > 8 {
		return
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, opts, skip := jsonField(f)
		if skip {
			continue
		}
		if unbound && (f.Tag.Get("path") != "" || f.Tag.Get("query") != "" || f.Tag.Get("header") != "") {
			continue
		}
		ft := f.Type
		if f.Anonymous && name == "" {
			et := ft
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				g.fields(et, props, unbound, depth+1)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, dup := props[name]; dup && depth > 0 {
			continue // an outer field hides a promoted one
		}
		s := g.schema(ft)
		if strings.Contains(","+opts+",", ",string,") {
			s = obj{"type": "string"}
		}
		props[name] = s
	}
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
