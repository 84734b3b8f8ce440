package newrelic_test

import (
	"context"
	"fmt"

	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/middleware/newrelic"
)

// Without a license key the middleware is off: no agent application is
// created and commands run exactly as without it.
func Example() {
	cfg := newrelic.DefaultConfig()
	cfg.AppName = "inventory"
	// cfg.LicenseKey = os.Getenv("WEGO_MIDDLEWARE_NEWRELIC_LICENSE_KEY")
	nrmw, err := newrelic.New(cfg)
	if err != nil {
		panic(err)
	}
	defer nrmw.Shutdown(0)

	cat := catalog.New()
	cat.UseServerSide(nrmw)
	cat.UseClientSide(nrmw)
	reserve, _ := catalog.RegisterIn(cat, "inventory.Reserve", func(_ context.Context, qty int) (int, error) {
		return 100 - qty, nil
	})
	fmt.Println(cfg.On(), nrmw.Application() == nil)
	fmt.Println(reserve.Call(context.Background(), 2))
	// With an application, the HTTP transport wraps its handler:
	//	handler = newrelic.HTTPServerMiddleware(nrmw.Application())(handler)
	// Output:
	// false true
	// 98 <nil>
}
