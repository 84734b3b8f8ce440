package registry_test

import (
	"context"
	"testing"

	"go.uber.org/goleak"

	"github.com/wegomesh/wego/registry"
	"github.com/wegomesh/wego/registry/registrytest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestMemoryConformance(t *testing.T) {
	registrytest.Run(t, func(t *testing.T) registrytest.Harness {
		var root *registry.Memory
		return registrytest.Harness{
			New: func(t *testing.T, cfg registry.Config) registry.Registry {
				if root == nil {
					m, err := registry.NewMemory(cfg)
					if err != nil {
						t.Fatal(err)
					}
					root = m
					t.Cleanup(func() { _ = root.Close(context.Background()) })
				}
				return root.Peer()
			},
			PutRaw: func(t *testing.T, key string, value []byte) {
				registry.PutRaw(root, key, value)
			},
		}
	})
}
