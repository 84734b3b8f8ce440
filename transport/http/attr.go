package httptransport

import (
	"net/http"
	"strings"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/middleware"
)

// Route is the HTTP method and path pattern of a command, as declared with
// [GET], [POST], [PUT], [PATCH] or [DELETE]. Path is a Go 1.22 ServeMux
// pattern without method or host, such as "/orders/{id}"; each wildcard
// must name a field of the request tagged path:"name".
type Route struct {
	Method string
	Path   string
}

// String returns "METHOD /path".
func (r Route) String() string { return r.Method + " " + r.Path }

// Attribute keys that the HTTP transport reads from a command's
// [middleware.Spec]. The functions below ([GET], [SuccessStatus], [NoHTTP],
// ...) set them; tools read them through [RouteOf].
var (
	// RouteKey is the command's route. Without it the route is POST
	// /{service}/{operation}, lower-cased.
	RouteKey = middleware.NewKey[Route]("http.route")
	// SuccessStatusKey is the status of a successful response (200 unless
	// set, or 204 for an empty response type).
	SuccessStatusKey = middleware.NewKey[int]("http.success_status")
	// NoHTTPKey, when true, keeps the command off the HTTP server.
	NoHTTPKey = middleware.NewKey[bool]("http.disabled")
)

// GET routes the command to GET requests on pattern ("/orders/{id}"). A
// GET request has no body, so every field of the request must come from
// the path, the query or a header, or be left out of JSON (json:"-").
func GET(pattern string) catalog.Option { return route(http.MethodGet, pattern) }

// POST routes the command to POST requests on pattern.
func POST(pattern string) catalog.Option { return route(http.MethodPost, pattern) }

// PUT routes the command to PUT requests on pattern.
func PUT(pattern string) catalog.Option { return route(http.MethodPut, pattern) }

// PATCH routes the command to PATCH requests on pattern.
func PATCH(pattern string) catalog.Option { return route(http.MethodPatch, pattern) }

// DELETE routes the command to DELETE requests on pattern. Like a GET, a
// DELETE request has no body.
func DELETE(pattern string) catalog.Option { return route(http.MethodDelete, pattern) }

func route(method, pattern string) catalog.Option {
	return catalog.With(RouteKey.Value(Route{Method: method, Path: pattern}))
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

// RouteOf returns the HTTP route of the command that spec describes: the
// one set with [RouteKey], or the default POST /{service}/{operation} in
// lower case. It returns false when the command opted out with [NoHTTP].
func RouteOf(spec *middleware.Spec) (Route, bool) {
	if off, _ := NoHTTPKey.Get(spec.Attributes); off {
		return Route{}, false
	}
	if r, ok := RouteKey.Get(spec.Attributes); ok {
		return r, true
	}
	return Route{Method: http.MethodPost,
		Path: "/" + strings.ToLower(spec.Service()) + "/" + strings.ToLower(spec.Operation())}, true
}

// bodyless reports whether requests of this method carry no body.
func bodyless(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodDelete
}
