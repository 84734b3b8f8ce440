package templates

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"
	"time"

	"go.yaml.in/yaml/v3"

	errs "github.com/wegomesh/wego/err"
)

// Spec is a parsed, validated service spec (wego.yaml). Make one with
// ParseSpec; Generate renders a service from it.
type Spec struct {
	// File is the name the spec was read from, for messages.
	File string
	// Source is the YAML as read; Generate copies it to wego.yaml.
	Source []byte
	// Service is the service's name, a lower-case identifier: the prefix
	// of its command names and error codes and the name of its API package.
	Service string
	// Module is the Go module path of the service, or "" when the spec has
	// none (Options.Module then gives it).
	Module string
	// Port is the port the service listens on by default (8080).
	Port int
	// Operations are the commands of the service, in the spec's order.
	Operations []Operation
	// Errors are the service's error codes, in the spec's order.
	Errors []ErrorCode
}

// Operation is one command of a service.
type Operation struct {
	// Name is the operation's exported Go name, such as CreateInvoice; the
	// command is "<service>.<Name>".
	Name string
	// Doc describes the operation (optional).
	Doc string
	// Method is the HTTP method: GET, POST, PUT, PATCH or DELETE.
	// Default POST.
	Method string
	// Path is the HTTP path pattern, such as /invoices/{id}. Default
	// /<service>/<name in lower case>, the transport's default route.
	Path string
	// Status is the HTTP status of a success, 200–299. Default 200.
	Status int
	// Idempotent marks the command safe to retry. Default true for GET,
	// PUT and DELETE, false otherwise.
	Idempotent bool
	// Cacheable is the cache TTL of the command's responses; 0 means not
	// cached.
	Cacheable time.Duration
	// Auditable makes the audit middleware record every call.
	Auditable bool
	// Request and Response are the fields of the typed request and
	// response.
	Request, Response []Field
	// Line is the operation's line in the spec.
	Line int
}

// Field is one field of a request or a response.
type Field struct {
	// Name is the field's wire name in snake_case, such as customer_id:
	// its JSON name, path wildcard or query parameter. A header field's
	// header is the name in Canonical-Kebab-Case (x_tenant is X-Tenant).
	Name string
	// Type is one of string, bool, int, int32, int64, uint, float64,
	// time.Time and []string.
	Type string
	// In says where a request field comes from: body (the default), path,
	// query or header. Response fields are always in the body.
	In string
	// Audit is "include" or "secret" to put a request field in audit
	// records (secret ones redacted), or "" to leave it out.
	Audit string
	// Line is the field's line in the spec.
	Line int
}

// ErrorCode is one application error code of a service.
type ErrorCode struct {
	// Code is the stable code, prefixed by the service's name:
	// billing.invoice_not_found.
	Code string
	// Kind is the code's kind as its own code says it: not_found,
	// conflict, invalid_argument, ... (see errs.Kinds).
	Kind string
	// En and Es are the English and Spanish messages, go-i18n templates
	// such as "Invoice {{.id}} does not exist.".
	En, Es string
	// Line is the error's line in the spec.
	Line int
}

// SpecError is one problem of a spec, with the line that has it.
// ParseSpec joins several with errors.Join; errors.As finds the first.
type SpecError struct {
	File   string
	Line   int
	Reason string
}

// Error returns "file:line: reason".
func (e *SpecError) Error() string {
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Reason)
}

// fieldTypes are the field types a spec may use.
var fieldTypes = []string{"string", "bool", "int", "int32", "int64", "uint", "float64", "time.Time", "[]string"}

// methods are the HTTP methods a spec may use.
var methods = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}

var (
	serviceRE = regexp.MustCompile(`^[a-z][a-z0-9]*$`)
	opRE      = regexp.MustCompile(`^[A-Z][A-Za-z0-9]*$`)
	fieldRE   = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)
	literalRE = regexp.MustCompile(`^[A-Za-z0-9._~-]+$`)
	moduleRE  = regexp.MustCompile(`^[A-Za-z0-9][-A-Za-z0-9._~]*(/[-A-Za-z0-9._~]+)*$`)
)

// reservedServices are names a service cannot have: Go keywords, the
// generated layout's folders and the packages generated code imports.
var reservedServices = []string{
	"break", "case", "chan", "const", "continue", "default", "defer", "else",
	"fallthrough", "for", "func", "go", "goto", "if", "import", "interface",
	"map", "package", "range", "return", "select", "struct", "switch", "type", "var",
	"main", "service", "cmd", "features", "internal", "testdata", "vendor",
	"audit", "bdd", "cache", "catalog", "catalogtest", "config", "context",
	"embed", "errors", "errs", "flag", "fmt", "fs", "fw", "httptransport", "i18n",
	"os", "retry", "testing", "time", "wego",
}

// ParseSpec parses and validates a service spec. Every problem is a
// *SpecError naming filename and the line; several are joined with
// errors.Join, in the order of their lines. Nothing is generated from a
// spec with problems.
func ParseSpec(data []byte, filename string) (*Spec, error) {
	p := &parser{file: filename}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line := 1
		if m := regexp.MustCompile(`line (\d+)`).FindStringSubmatch(err.Error()); m != nil {
			line, _ = strconv.Atoi(m[1])
		}
		reason := regexp.MustCompile(`^yaml: (line \d+: )?`).ReplaceAllString(err.Error(), "")
		return nil, &SpecError{File: filename, Line: line, Reason: "not valid YAML: " + reason}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, &SpecError{File: filename, Line: 1, Reason: "the spec is empty"}
	}
	s := &Spec{File: filename, Source: slices.Clone(data), Port: 8080}
	p.spec(doc.Content[0], s)
	if len(p.errs) > 0 {
		slices.SortStableFunc(p.errs, func(a, b *SpecError) int { return a.Line - b.Line })
		out := make([]error, len(p.errs))
		for i, e := range p.errs {
			out[i] = e
		}
		return nil, errors.Join(out...)
	}
	return s, nil
}

// parser walks the YAML tree and collects problems.
type parser struct {
	file string
	errs []*SpecError
}

func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	line := 1
	if n != nil {
		line = n.Line
	}
	p.errs = append(p.errs, &SpecError{File: p.file, Line: line, Reason: fmt.Sprintf(format, args...)})
}

// pair is one key of a mapping, with its key node for line numbers.
type pair struct {
	key, value *yaml.Node
}

// mapping returns the keys of a mapping node, reporting keys that are not
// allowed or repeated. what names the mapping in messages.
func (p *parser) mapping(n *yaml.Node, what string, allowed ...string) map[string]pair {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s must be a mapping of keys to values", what)
		return nil
	}
	m := map[string]pair{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if v.Kind == yaml.AliasNode {
			v = v.Alias
		}
		switch {
		case !slices.Contains(allowed, k.Value):
			p.errorf(k, "unknown key %q in %s (known keys: %s)", k.Value, what, strings.Join(allowed, ", "))
		case m[k.Value].key != nil:
			p.errorf(k, "key %q repeated in %s (first on line %d)", k.Value, what, m[k.Value].key.Line)
		default:
			m[k.Value] = pair{k, v}
		}
	}
	return m
}

// str returns a scalar's text, reporting other nodes.
func (p *parser) str(v *yaml.Node, key string) (string, bool) {
	if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
		p.errorf(v, "%s must be a string", key)
		return "", false
	}
	return v.Value, true
}

func (p *parser) boolean(v *yaml.Node, key string) (bool, bool) {
	var b bool
	if v.Kind != yaml.ScalarNode || v.Tag != "!!bool" || v.Decode(&b) != nil {
		p.errorf(v, "%s must be true or false, not %q", key, v.Value)
		return false, false
	}
	return b, true
}

func (p *parser) integer(v *yaml.Node, key string) (int, bool) {
	var i int
	if v.Kind != yaml.ScalarNode || v.Tag != "!!int" || v.Decode(&i) != nil {
		p.errorf(v, "%s must be an integer, not %q", key, v.Value)
		return 0, false
	}
	return i, true
}

func (p *parser) sequence(v *yaml.Node, key string) []*yaml.Node {
	if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
		return nil
	}
	if v.Kind != yaml.SequenceNode {
		p.errorf(v, "%s must be a list", key)
		return nil
	}
	return v.Content
}

func (p *parser) spec(root *yaml.Node, s *Spec) {
	top := p.mapping(root, "the spec", "service", "module", "port", "operations", "errors")
	if top == nil {
		return
	}
	serviceOK := false
	if kv, ok := top["service"]; !ok {
		p.errorf(root, "missing key service (the service's name, such as billing)")
	} else if name, ok := p.str(kv.value, "service"); ok {
		switch {
		case !serviceRE.MatchString(name):
			p.errorf(kv.value, "service %q must be a lower-case identifier of letters and digits, such as billing", name)
		case slices.Contains(reservedServices, name):
			p.errorf(kv.value, "service %q is reserved: it would clash with Go or with a package the generated code uses", name)
		default:
			s.Service, serviceOK = name, true
		}
	}
	if kv, ok := top["module"]; ok {
		if m, ok := p.str(kv.value, "module"); ok {
			if !ValidModule(m) {
				p.errorf(kv.value, "module %q is not a valid Go module path, such as example.com/billing", m)
			} else {
				s.Module = m
			}
		}
	}
	if kv, ok := top["port"]; ok {
		if port, ok := p.integer(kv.value, "port"); ok {
			if port < 1 || port > 65535 {
				p.errorf(kv.value, "port %d is not a TCP port (1–65535)", port)
			} else {
				s.Port = port
			}
		}
	}
	if kv, ok := top["operations"]; !ok {
		p.errorf(root, "missing key operations (a service needs at least one)")
	} else {
		items := p.sequence(kv.value, "operations")
		if len(items) == 0 && (kv.value.Kind == yaml.SequenceNode || kv.value.Tag == "!!null") {
			p.errorf(kv.value, "operations is empty: a service needs at least one")
		}
		for _, n := range items {
			if op, ok := p.operation(n, s.Service); ok {
				s.Operations = append(s.Operations, op)
			}
		}
	}
	if kv, ok := top["errors"]; ok {
		for _, n := range p.sequence(kv.value, "errors") {
			if e, ok := p.errorCode(n, s.Service, serviceOK); ok {
				s.Errors = append(s.Errors, e)
			}
		}
	}
	p.crossCheck(s)
}

func (p *parser) operation(n *yaml.Node, service string) (Operation, bool) {
	m := p.mapping(n, "an operation", "name", "doc", "method", "path", "status", "idempotent", "cacheable", "auditable", "request", "response")
	if m == nil {
		return Operation{}, false
	}
	before := len(p.errs)
	op := Operation{Line: n.Line, Method: "POST", Status: 200}
	if kv, ok := m["name"]; !ok {
		p.errorf(n, "operation without a name")
	} else if name, ok := p.str(kv.value, "name"); ok {
		if !opRE.MatchString(name) {
			p.errorf(kv.value, "operation name %q must be an exported Go identifier in MixedCaps, such as CreateInvoice", name)
		}
		op.Name = name
	}
	if kv, ok := m["doc"]; ok {
		op.Doc, _ = p.str(kv.value, "doc")
	}
	if kv, ok := m["method"]; ok {
		if meth, ok := p.str(kv.value, "method"); ok {
			if !slices.Contains(methods, meth) {
				p.errorf(kv.value, "unknown method %q (use %s)", meth, strings.Join(methods, ", "))
			}
			op.Method = meth
		}
	}
	op.Idempotent = op.Method == "GET" || op.Method == "PUT" || op.Method == "DELETE"
	if kv, ok := m["idempotent"]; ok {
		op.Idempotent, _ = p.boolean(kv.value, "idempotent")
	}
	if kv, ok := m["auditable"]; ok {
		op.Auditable, _ = p.boolean(kv.value, "auditable")
	}
	if kv, ok := m["status"]; ok {
		if st, ok := p.integer(kv.value, "status"); ok {
			if st < 200 || st > 299 {
				p.errorf(kv.value, "status %d is not a success status (200–299)", st)
			}
			op.Status = st
		}
	}
	if kv, ok := m["cacheable"]; ok {
		if v, ok := p.str(kv.value, "cacheable"); ok {
			d, err := time.ParseDuration(v)
			switch {
			case v == "0":
			case err != nil:
				p.errorf(kv.value, "cacheable %q is not a duration such as 30s or 5m (0s: not cached)", v)
			case d < 0:
				p.errorf(kv.value, "cacheable %q is negative", v)
			case d > 0 && !op.Idempotent:
				p.errorf(kv.value, "operation %s is cacheable but not idempotent: a cache hit would skip its effects", op.Name)
			default:
				op.Cacheable = d
			}
		}
	}
	if kv, ok := m["request"]; ok {
		op.Request = p.fields(kv.value, "request of "+op.Name, true)
	}
	if kv, ok := m["response"]; ok {
		op.Response = p.fields(kv.value, "response of "+op.Name, false)
	}
	pathNode := n
	if kv, ok := m["path"]; ok {
		pathNode = kv.value
		op.Path, _ = p.str(kv.value, "path")
	} else if service != "" && op.Name != "" {
		op.Path = "/" + service + "/" + strings.ToLower(op.Name)
	}
	if op.Path != "" {
		p.checkPath(pathNode, &op)
	}
	if op.Method == "GET" || op.Method == "DELETE" {
		for _, f := range op.Request {
			if f.In == "body" {
				p.errorf(lineNode(f.Line), "field %s of %s: a %s request has no body; use in: path, query or header", f.Name, op.Name, op.Method)
			}
		}
	}
	return op, len(p.errs) == before
}

// lineNode is a node that only carries a line, for errorf.
func lineNode(line int) *yaml.Node { return &yaml.Node{Line: line} }

func (p *parser) fields(n *yaml.Node, what string, request bool) []Field {
	var out []Field
	seen := map[string]int{}
	goNames := map[string]string{}
	for _, fn := range p.sequence(n, what) {
		allowed := []string{"name", "type"}
		if request {
			allowed = append(allowed, "in", "audit")
		}
		m := p.mapping(fn, "a field of the "+what, allowed...)
		if m == nil {
			continue
		}
		f := Field{Line: fn.Line, In: "body"}
		if kv, ok := m["name"]; !ok {
			p.errorf(fn, "field without a name in the %s", what)
		} else if name, ok := p.str(kv.value, "name"); ok {
			f.Name = name
			switch {
			case !fieldRE.MatchString(name):
				p.errorf(kv.value, "field name %q in the %s must be snake_case, such as customer_id", name, what)
			case seen[name] != 0:
				p.errorf(kv.value, "field %q repeated in the %s (first on line %d)", name, what, seen[name])
			case goNames[goName(name)] != "":
				p.errorf(kv.value, "fields %q and %q of the %s would both be the Go field %s", goNames[goName(name)], name, what, goName(name))
			default:
				seen[name], goNames[goName(name)] = fn.Line, name
			}
		}
		if kv, ok := m["type"]; !ok {
			p.errorf(fn, "field %s has no type (use %s)", f.Name, strings.Join(fieldTypes, ", "))
		} else if t, ok := p.str(kv.value, "type"); ok {
			if !slices.Contains(fieldTypes, t) {
				p.errorf(kv.value, "unknown type %q for field %s (use %s)", t, f.Name, strings.Join(fieldTypes, ", "))
			}
			f.Type = t
		}
		if kv, ok := m["in"]; ok {
			if in, ok := p.str(kv.value, "in"); ok {
				if !slices.Contains([]string{"body", "path", "query", "header"}, in) {
					p.errorf(kv.value, "field %s: in %q must be body, path, query or header", f.Name, in)
				}
				f.In = in
				if in == "path" && f.Type == "[]string" {
					p.errorf(kv.value, "field %s: a path wildcard cannot fill a []string", f.Name)
				}
			}
		}
		if kv, ok := m["audit"]; ok {
			if a, ok := p.str(kv.value, "audit"); ok {
				if a != "include" && a != "secret" {
					p.errorf(kv.value, "field %s: audit %q must be include or secret", f.Name, a)
				}
				f.Audit = a
			}
		}
		out = append(out, f)
	}
	return out
}

// checkPath checks a path pattern against the operation's path fields.
func (p *parser) checkPath(n *yaml.Node, op *Operation) {
	path := op.Path
	if !strings.HasPrefix(path, "/") {
		p.errorf(n, "path %q of %s must start with /", path, op.Name)
		return
	}
	wild := map[string]bool{}
	if path != "/" {
		for seg := range strings.SplitSeq(path[1:], "/") {
			switch {
			case seg == "" && !strings.HasSuffix(path, "/"):
				p.errorf(n, "path %q of %s has an empty segment", path, op.Name)
				return
			case seg == "":
				// a trailing slash: allowed, ServeMux matches the subtree.
			case strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}"):
				name := seg[1 : len(seg)-1]
				if !fieldRE.MatchString(name) {
					p.errorf(n, "path %q of %s: wildcard {%s} must name a snake_case field ({name...} and {$} are not supported)", path, op.Name, name)
					return
				}
				if wild[name] {
					p.errorf(n, "path %q of %s: wildcard {%s} appears twice", path, op.Name, name)
					return
				}
				wild[name] = true
			case !literalRE.MatchString(seg):
				p.errorf(n, "path %q of %s: segment %q must be letters, digits, '.', '_', '~', '-' or a whole {wildcard}", path, op.Name, seg)
				return
			}
		}
	}
	inPath := map[string]bool{}
	for _, f := range op.Request {
		if f.In == "path" {
			inPath[f.Name] = true
			if !wild[f.Name] {
				p.errorf(lineNode(f.Line), "field %s of %s is in: path but path %q has no {%s}", f.Name, op.Name, path, f.Name)
			}
		}
	}
	for _, name := range sortedKeys(wild) {
		if !inPath[name] {
			p.errorf(n, "path %q of %s: wildcard {%s} has no request field with in: path", path, op.Name, name)
		}
	}
}

func (p *parser) errorCode(n *yaml.Node, service string, serviceOK bool) (ErrorCode, bool) {
	m := p.mapping(n, "an error", "code", "kind", "en", "es")
	if m == nil {
		return ErrorCode{}, false
	}
	before := len(p.errs)
	e := ErrorCode{Line: n.Line}
	if kv, ok := m["code"]; !ok {
		p.errorf(n, "error without a code")
	} else if code, ok := p.str(kv.value, "code"); ok {
		e.Code = code
		switch {
		case !errs.ValidCode(code):
			p.errorf(kv.value, "code %q is not valid: lower-case letters, digits, '_' and '.', such as %s.invoice_not_found", code, orDefault(service, "billing"))
		case serviceOK && !strings.HasPrefix(code, service+"."):
			p.errorf(kv.value, "code %q must start with the service's name: %s.", code, service)
		case serviceOK && code == service+".not_implemented":
			p.errorf(kv.value, "code %q is reserved: wego defines it for operations not implemented yet", code)
		}
	}
	if kv, ok := m["kind"]; !ok {
		p.errorf(n, "error %s has no kind (use %s)", e.Code, kindList())
	} else if kind, ok := p.str(kv.value, "kind"); ok {
		if _, ok := errs.KindFromCode(kind); !ok {
			p.errorf(kv.value, "unknown kind %q for %s (use %s)", kind, e.Code, kindList())
		}
		e.Kind = kind
	}
	for _, lang := range []string{"en", "es"} {
		kv, ok := m[lang]
		if !ok {
			p.errorf(n, "error %s has no %s message", e.Code, lang)
			continue
		}
		msg, ok := p.str(kv.value, lang)
		if !ok {
			continue
		}
		if strings.TrimSpace(msg) == "" {
			p.errorf(kv.value, "error %s: the %s message is empty", e.Code, lang)
			continue
		}
		if _, err := template.New(lang).Parse(msg); err != nil {
			p.errorf(kv.value, "error %s: the %s message is not a valid template: %v", e.Code, lang, err)
			continue
		}
		if lang == "en" {
			e.En = msg
		} else {
			e.Es = msg
		}
	}
	if e.En != "" && e.Es != "" {
		en := placeholders(e.En)
		for _, ph := range sortedKeys(placeholders(e.Es)) {
			if !en[ph] {
				p.errorf(m["es"].value, "error %s: the es message uses {{.%s}}, which the en message does not", e.Code, ph)
			}
		}
	}
	return e, len(p.errs) == before
}

// crossCheck finds problems between operations and errors: repeated
// names, routes and codes, and Go identifiers that would clash.
func (p *parser) crossCheck(s *Spec) {
	idents := map[string]string{
		"Messages":          "the embedded locales",
		"ErrNotImplemented": "the not-implemented error",
	}
	claim := func(line int, ident, owner string) {
		if other, ok := idents[ident]; ok {
			p.errorf(lineNode(line), "%s would declare the Go name %s, which %s declares already", owner, ident, other)
			return
		}
		idents[ident] = owner
	}
	opLines := map[string]int{}
	routes := map[string]string{}
	for _, op := range s.Operations {
		if first, ok := opLines[op.Name]; ok {
			p.errorf(lineNode(op.Line), "operation %s repeated (first on line %d)", op.Name, first)
			continue
		}
		opLines[op.Name] = op.Line
		what := "operation " + op.Name
		claim(op.Line, op.Name, what)
		claim(op.Line, op.Name+"Request", what)
		claim(op.Line, op.Name+"Response", what)
		key := op.Method + " " + wildcardRE.ReplaceAllString(op.Path, "{}")
		if other, ok := routes[key]; ok {
			p.errorf(lineNode(op.Line), "operation %s: route %s %s is %s's already", op.Name, op.Method, op.Path, other)
		} else {
			routes[key] = op.Name
		}
	}
	codes := map[string]int{}
	for _, e := range s.Errors {
		if first, ok := codes[e.Code]; ok {
			p.errorf(lineNode(e.Line), "code %s repeated (first on line %d)", e.Code, first)
			continue
		}
		codes[e.Code] = e.Line
		claim(e.Line, errVar(s.Service, e.Code), "error "+e.Code)
	}
}

var wildcardRE = regexp.MustCompile(`\{[^}]*\}`)

// placeholders returns the names of the {{.name}} fields a message uses.
func placeholders(msg string) map[string]bool {
	out := map[string]bool{}
	t, err := template.New("").Parse(msg)
	if err != nil || t.Tree == nil {
		return out
	}
	var walk func(n parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n == nil {
				return
			}
			for _, c := range n.Nodes {
				walk(c)
			}
		case *parse.ActionNode:
			for _, c := range n.Pipe.Cmds {
				for _, a := range c.Args {
					walk(a)
				}
			}
		case *parse.FieldNode:
			out[n.Ident[0]] = true
		case *parse.IfNode:
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walk(n.List)
			walk(n.ElseList)
		}
	}
	walk(t.Tree.Root)
	return out
}

func kindList() string {
	var names []string
	for _, k := range errs.Kinds() {
		names = append(names, k.String())
	}
	return strings.Join(names, ", ")
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// ValidModule reports whether path looks like a Go module path:
// slash-separated elements of letters, digits and -._~, not starting with
// a dot or a slash.
func ValidModule(path string) bool {
	if !moduleRE.MatchString(path) || strings.Contains(path, "..") {
		return false
	}
	return true
}

// ValidService reports whether name can be a service's name: a lower-case
// identifier of letters and digits that clashes with nothing the
// generated code uses.
func ValidService(name string) bool {
	return serviceRE.MatchString(name) && !slices.Contains(reservedServices, name)
}
