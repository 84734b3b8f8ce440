package httptransport

import (
	"net/http"
	"strings"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/middleware"
)

// Endpoint is the HTTP method and path pattern of a command, as declared with
// [GET], [POST], [PUT], [PATCH] or [DELETE]. Path is a Go 1.22 ServeMux
// pattern without method or host, such as "/orders/{id}"; each wildcard
// must name a field of the request tagged path:"name".
type Endpoint struct {
	Method string
	Path   string
}

// String returns "METHOD /path".
func (r Endpoint) String() string { return r.Method + " " + r.Path }

// Attribute keys that the HTTP transport reads from a command's
// [middleware.Spec]. The functions below ([GET], [SuccessStatus], [NoHTTP],
// ...) set them; tools read them through [EndpointOf].
var (
	// EndpointKey is the command's endpoint. Without it the endpoint is
	// POST /{service}/{operation}, lower-cased.
	EndpointKey = middleware.NewKey[Endpoint]("http.endpoint")
	// SuccessStatusKey is the status of a successful response (200 unless
	// set, or 204 for an empty response type).
	SuccessStatusKey = middleware.NewKey[int]("http.success_status")
	// NoHTTPKey, when true, keeps the command off the HTTP server.
	NoHTTPKey = middleware.NewKey[bool]("http.disabled")
)

// GET serves the command on GET requests to pattern ("/orders/{id}"). A
// GET request has no body, so every field of the request must come from
// the path, the query or a header, or be left out of JSON (json:"-").
func GET(pattern string) catalog.Option { return endpointOption(http.MethodGet, pattern) }

// POST serves the command on POST requests to pattern.
func POST(pattern string) catalog.Option { return endpointOption(http.MethodPost, pattern) }

// PUT serves the command on PUT requests to pattern.
func PUT(pattern string) catalog.Option { return endpointOption(http.MethodPut, pattern) }

// PATCH serves the command on PATCH requests to pattern.
func PATCH(pattern string) catalog.Option { return endpointOption(http.MethodPatch, pattern) }

// DELETE serves the command on DELETE requests to pattern. Like a GET, a
// DELETE request has no body.
func DELETE(pattern string) catalog.Option { return endpointOption(http.MethodDelete, pattern) }

func endpointOption(method, pattern string) catalog.Option {
	return catalog.With(EndpointKey.Value(Endpoint{Method: method, Path: pattern}))
}

// SuccessStatus sets the status of the command's successful responses,
// such as 201 (Created) or 202 (Accepted). With 204 (No Content) the
// response value is not sent. A status outside 200–299 makes the server
// fail to start, naming the command.
func SuccessStatus(code int) catalog.Option {
	return catalog.With(SuccessStatusKey.Value(code))
}

// NoHTTP keeps the command off the HTTP server: it is callable in its
// process only (or through another transport).
func NoHTTP() catalog.Option { return catalog.With(NoHTTPKey.Value(true)) }

// EndpointOf returns the HTTP endpoint of the command that spec describes:
// the one set with [EndpointKey], or the default POST /{service}/{operation} in
// lower case. It returns false when the command opted out with [NoHTTP].
func EndpointOf(spec *middleware.Spec) (Endpoint, bool) {
	if off, _ := NoHTTPKey.Get(spec.Attributes); off {
		return Endpoint{}, false
	}
	if r, ok := EndpointKey.Get(spec.Attributes); ok {
		return r, true
	}
	return Endpoint{Method: http.MethodPost,
		Path: "/" + strings.ToLower(spec.Service()) + "/" + strings.ToLower(spec.Operation())}, true
}

// bodyless reports whether requests of this method carry no body.
func bodyless(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodDelete
}
