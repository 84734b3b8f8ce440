package lock_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/wegomesh/wego/lock/locktest"
	"github.com/wegomesh/wego/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestMemory(t *testing.T) {
	locktest.Run(t, func(t *testing.T) store.Store {
		s := store.NewMemory()
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}
