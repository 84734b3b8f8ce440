package templates

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	errs "github.com/wegomesh/wego/err"
)

// initialisms are the words Go spells in capitals (as golint does).
var initialisms = map[string]bool{
	"acl": true, "api": true, "ascii": true, "cpu": true, "css": true, "dns": true,
	"eof": true, "guid": true, "html": true, "http": true, "https": true, "id": true,
	"ip": true, "json": true, "lhs": true, "qps": true, "ram": true, "rhs": true,
	"rpc": true, "sku": true, "sla": true, "smtp": true, "sql": true, "ssh": true,
	"tcp": true, "tls": true, "ttl": true, "udp": true, "ui": true, "uid": true,
	"uri": true, "url": true, "utf8": true, "uuid": true, "vm": true, "xml": true,
	"xmpp": true, "xsrf": true, "xss": true,
}

// goName turns a snake_case name into an exported Go name:
// customer_id is CustomerID.
func goName(snake string) string {
	var b strings.Builder
	for part := range strings.SplitSeq(snake, "_") {
		if part == "" {
			continue
		}
		if initialisms[part] {
			b.WriteString(strings.ToUpper(part))
			continue
		}
		if stem, ok := strings.CutSuffix(part, "s"); ok && initialisms[stem] {
			b.WriteString(strings.ToUpper(stem) + "s") // ids is IDs
			continue
		}
		r, n := utf8.DecodeRuneInString(part)
		b.WriteRune(unicode.ToUpper(r))
		b.WriteString(part[n:])
	}
	return b.String()
}

// headerName is a header field's HTTP header: x_tenant is X-Tenant.
func headerName(snake string) string {
	parts := strings.Split(snake, "_")
	for i, p := range parts {
		if p != "" {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, "-")
}

// errVar is the Go variable of an error code: billing.invoice_not_found
// is ErrInvoiceNotFound.
func errVar(service, code string) string {
	rest := strings.TrimPrefix(code, service+".")
	return "Err" + goName(strings.NewReplacer(".", "_").Replace(rest))
}

// kindConst is the errs constant of a kind's code: not_found is
// errs.KindNotFound.
func kindConst(code string) string {
	return "errs.Kind" + goName(code)
}

// goType is the Go type of a spec type.
func goType(t string) string { return t }

// exampleValue is a value of type t for the generated feature files, as
// JSON (json true) or as text for a path or query.
func exampleValue(t string, json bool) string {
	var v string
	switch t {
	case "string":
		v = "example"
	case "bool":
		return "true"
	case "int", "int32", "int64", "uint":
		return "1"
	case "float64":
		return "1.5"
	case "time.Time":
		v = "2024-01-02T15:04:05Z"
	case "[]string":
		if json {
			return `["example"]`
		}
		return "example"
	}
	if json {
		return strconv.Quote(v)
	}
	return v
}

// goExample is a Go expression of type t, for generated tests.
func goExample(t string) string {
	switch t {
	case "time.Time":
		return "time.Date(2024, 1, 2, 15, 4, 5, 0, time.UTC)"
	case "[]string":
		return `[]string{"example"}`
	case "float64":
		return "1.5"
	}
	return exampleValue(t, true)
}

// tomlString quotes s as a TOML basic string.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// title is the service's name with a capital: billing is Billing.
func title(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// kindStatus is the HTTP status of a kind's code.
func kindStatus(code string) int {
	k, _ := errs.KindFromCode(code)
	return k.Status()
}
