package mesh_test

import (
	"testing"

	"github.com/wegomesh/wego/bdd"
	"github.com/wegomesh/wego/catalog"
	"github.com/wegomesh/wego/examples/mesh/inventory"
	inventorysvc "github.com/wegomesh/wego/examples/mesh/inventory/service"
	"github.com/wegomesh/wego/examples/mesh/orders"
	orderssvc "github.com/wegomesh/wego/examples/mesh/orders/service"
	"github.com/wegomesh/wego/examples/mesh/shipping"
	shippingsvc "github.com/wegomesh/wego/examples/mesh/shipping/service"
	"github.com/wegomesh/wego/i18n"
)

// TestFeatures runs the example mesh's feature files (features/*.feature),
// each scenario in a world of its own with fresh stores, and shipping
// subscribed to orders' events on the world's in-process bus.
func TestFeatures(t *testing.T) {
	bundle, err := i18n.New(i18n.Files(inventory.Messages, "locales/*.toml"), i18n.Files(orders.Messages, "locales/*.toml"),
		i18n.Files(shipping.Messages, "locales/*.toml"))
	if err != nil {
		t.Fatal(err)
	}
	bdd.Run(t,
		bdd.Paths("features"),
		bdd.I18n(bundle),
		bdd.Setup(func(w *bdd.World) error {
			undoInv, err := catalog.ReplaceDep(w.Catalog, inventorysvc.StoreDep, inventorysvc.NewStore(seed))
			if err != nil {
				return err
			}
			undoOrd, err := catalog.ReplaceDep(w.Catalog, orderssvc.StoreDep, orderssvc.NewStore())
			if err != nil {
				return err
			}
			undoShip, err := catalog.ReplaceDep(w.Catalog, shippingsvc.StoreDep, shippingsvc.NewStore())
			if err != nil {
				return err
			}
			w.Cleanup(undoInv)
			w.Cleanup(undoOrd)
			w.Cleanup(undoShip)
			// Shipping runs in the scenario, on its in-process bus.
			return shippingsvc.Subscribe(w.Catalog)
		}),
	)
}
