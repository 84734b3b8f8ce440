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

// TestConformance runs the suite on files without fsync: the suite checks
// what the store does, not how long the disk takes, and 8,000 fsynced
// increments take minutes on a slow disk. The other tests of the package
// write with fsync.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := boltstore.Open(filepath.Join(t.TempDir(), "wego.db"), boltstore.Options{Bucket: storetest.Name(t), NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, storetest.ShortIncrements(100))
}
