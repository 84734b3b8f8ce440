// Package httptransport is WeGO's HTTP transport: a [Server] that exposes
// a catalog's commands as JSON over HTTP, and a [Client] whose routes call
// commands that run in another process, so that configuration alone decides
// where a command runs.
//
// The package lives in the folder transport/http but is named
// httptransport, because it is always used beside net/http: call sites read
// httptransport.NewServer next to http.Handler, with no import alias.
//
// # Server
//
// Every command of the catalog gets an HTTP endpoint: POST
// /{service}/{operation} in lower case by default ("inventory.Reserve" is
// POST /inventory/reserve), or the one its registration declares with
// [GET], [POST], [PUT], [PATCH] or [DELETE] (Go ServeMux patterns such as
// "/orders/{id}"); [NoHTTP] keeps a command off HTTP. The request is
// decoded strictly from the JSON body, and fields tagged path, query or
// header are taken from the URL and the headers:
//
//	type GetOrder struct {
//		ID     string `path:"id" json:"-"`
//		Fields []string `query:"fields" json:"-"`
//		Tenant string `header:"X-Tenant" json:"-"`
//	}
//
//	var Get = catalog.Register("orders.Get", get, httptransport.GET("/orders/{id}"))
//
// The command runs through its server chain ([catalog.Entry.Serve]); its
// response is written as JSON with status 200, the status given with
// [SuccessStatus], or 204 for an empty response type. Errors become the
// WeGO error body, {"code", "message", "request_id", "params", "fields"},
// with the status of the error and a message localized from
// Accept-Language; causes, stack traces and Go type names stay in the
// server's logs.
//
// The server also answers /healthz, /readyz, GET /openapi.json (an OpenAPI
// 3.1 document generated from the catalog, see [OpenAPI]), GET
// /asyncapi.json (an AsyncAPI 3.0 document of the events the deployable
// publishes and receives, see events.AsyncAPI) and GET / (the list of
// commands). Topics and subscribers of package events are not served as
// endpoints, even with an endpoint attribute.
//
// # Client
//
// A [Client] is a pool of keep-alive connections; [Client.Route] returns a
// [catalog.Route] that sends a command's calls to one or more base URLs:
//
//	cat.SetRoute("inventory.*", client.Route("http://inventory:8080"))
//
// With several base URLs, a route chooses the node of each call and ejects
// nodes that keep failing, as the client's balance configuration says
// ([ClientConfig.Balance], see package balance), and discovery can
// replace its nodes ([RouteUpdater]).
//
// Errors come back as the same *errs.Error the server returned (code,
// status and parameters), so errors.Is(err, inventory.ErrUnknownSKU) works
// in the caller; failures to reach the server are [ErrUnavailable]. The
// request id and the deadline travel with the call (X-Request-Id,
// X-Wego-Timeout). Importing the package registers route factories for the
// "http" and "https" schemes (see [transport.NewRoute]), which use one
// shared client configured from the http_client section.
package httptransport
