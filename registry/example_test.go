package registry_test

import (
	"context"
	"fmt"

	"github.com/wegomesh/wego/registry"
)

// A node registers itself; others look it up, or watch its service.
func Example() {
	ctx := context.Background()
	mesh, err := registry.NewMemory(registry.Config{}) // one process's view of the mesh
	if err != nil {
		panic(err)
	}
	defer mesh.Close(ctx)
	other := mesh.Peer() // another process of the same mesh
	defer other.Close(ctx)

	watch, err := other.Watch(ctx, "inventory")
	if err != nil {
		panic(err)
	}
	fmt.Println("nodes at first:", len(<-watch))

	err = mesh.Register(ctx, registry.Node{
		Service:   "inventory",
		ID:        "i-1",
		Endpoints: map[string]string{"http": "http://10.0.0.5:8081"},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("after Register:", (<-watch)[0].Endpoints["http"])

	nodes, _ := other.Lookup("inventory") // shared: read, never modify
	fmt.Println("Lookup:", nodes[0].ID)

	_ = mesh.Deregister(ctx, "inventory", "i-1")
	fmt.Println("after Deregister:", len(<-watch))
	// Output:
	// nodes at first: 0
	// after Register: http://10.0.0.5:8081
	// Lookup: i-1
	// after Deregister: 0
}
