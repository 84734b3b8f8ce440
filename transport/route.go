package transport

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/internal/kinds"
)

// RouteFactory builds the remote route that sends commands to targets,
// base URLs of the same scheme ("http://127.0.0.1:8081"). Transport
// packages register one per URL scheme they serve, so that configuration
// alone can route a command to another process.
type RouteFactory func(host Host, targets []string) (catalog.Route, error)

// factories are the route factories by URL scheme.
var factories kinds.Registry[RouteFactory]

// RegisterRouteFactory makes f build the routes for targets with the given
// URL scheme. It is meant for init functions of transport packages and
// panics when the scheme is empty, f is nil, or the scheme is registered
// already.
func RegisterRouteFactory(scheme string, f RouteFactory) {
	scheme = strings.ToLower(scheme)
	if scheme == "" || f == nil {
		panic("transport: RegisterRouteFactory needs a scheme and a factory")
	}
	if _, added := factories.Add(scheme, f); !added {
		panic("transport: route factory for scheme " + scheme + " registered twice")
	}
}

// Schemes returns the URL schemes that have a route factory, sorted.
func Schemes() []string { return factories.Kinds() }

// ErrUnknownScheme is returned by [NewRoute] for targets whose scheme no
// transport package registered (did the program import it?).
var ErrUnknownScheme = errors.New("transport: no route factory for scheme")

// NewRoute builds a route to targets, which must all be absolute URLs with
// one scheme, using the factory registered for that scheme.
func NewRoute(host Host, targets []string) (catalog.Route, error) {
	if len(targets) == 0 {
		return nil, errors.New("transport: a route needs at least one target URL")
	}
	scheme := ""
	for _, t := range targets {
		u, err := url.Parse(t)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return nil, fmt.Errorf("transport: route target %q is not an absolute URL", t)
		}
		s := strings.ToLower(u.Scheme)
		if scheme != "" && s != scheme {
			return nil, fmt.Errorf("transport: route targets mix schemes %q and %q", scheme, s)
		}
		scheme = s
	}
	f, ok := factories.Lookup(scheme)
	if !ok {
		return nil, fmt.Errorf("%w %q (known: %s)", ErrUnknownScheme, scheme, strings.Join(Schemes(), ", "))
	}
	return f(host, targets)
}
