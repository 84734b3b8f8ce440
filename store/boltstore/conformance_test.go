package boltstore_test

import (
	"path/filepath"
	"testing"

	"go.uber.org/goleak"

	"github.com/wegomesh/wego/store"
	"github.com/wegomesh/wego/store/boltstore"
	"github.com/wegomesh/wego/store/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := boltstore.Open(filepath.Join(t.TempDir(), "wego.db"), boltstore.Options{Bucket: storetest.Name(t)})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, storetest.ShortIncrements(100))
}
