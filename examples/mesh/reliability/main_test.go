package reliability

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

// TestMain starts building the inventory binary that the process tests
// run (TestSIGTERMChildProcess and others) while the other tests run, and
// fails the run when any goroutine is left once every test has ended,
// whatever test started it (the per-test checks of the sequential tests
// say which one).
func TestMain(m *testing.M) {
	flag.Parse()
	if !testing.Short() {
		startBuild()
	}
	code := m.Run()
	if child.done != nil {
		<-child.done
		_ = os.RemoveAll(child.dir)
	}
	if code == 0 {
		if err := goleak.Find(leakOptions()...); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: goroutines left after the tests: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// binaryPackages are the main packages the process tests run, by the
// name of their binary: the mesh's services, and the NATS server of the
// module's dependencies.
var binaryPackages = map[string]string{
	"inventory":   "github.com/wegomesh/wego/examples/mesh/inventory/cmd/inventory",
	"orders":      "github.com/wegomesh/wego/examples/mesh/orders/cmd/orders",
	"shipping":    "github.com/wegomesh/wego/examples/mesh/shipping/cmd/shipping",
	"nats-server": "github.com/nats-io/nats-server/v2",
}

// child is the build of the binaries, into dir: inventory's in the
// background from the start, the others on first use.
var child struct {
	dir  string
	out  []byte
	err  error
	done chan struct{} // closed when inventory's build has ended
}

// startBuild builds the inventory binary in the background.
func startBuild() {
	child.done = make(chan struct{})
	child.dir, child.err = os.MkdirTemp("", "wego-reliability-")
	if child.err != nil {
		close(child.done)
		return
	}
	go func() {
		defer close(child.done)
		child.out, child.err = goBuild("inventory")
	}()
}

// buildOthers builds every binary but inventory's with one go command,
// once, on first use: in the test that needs them, while no other test
// runs (the process tests are sequential), since a build in the
// background takes the CPU that the timings of other tests need.
var buildOthers = sync.OnceValues(func() ([]byte, error) {
	var names []string
	for name := range binaryPackages {
		if name != "inventory" {
			names = append(names, name)
		}
	}
	return goBuild(names...)
})

// goBuild builds the binaries of names into child.dir.
func goBuild(names ...string) ([]byte, error) {
	args := []string{"build", "-o", child.dir + string(filepath.Separator)}
	for _, name := range names {
		args = append(args, binaryPackages[name])
	}
	return exec.Command("go", args...).CombinedOutput()
}

// binary waits for the build of the binary name, one of binaryPackages,
// and returns it; it skips the test with -short, which builds nothing.
func binary(t *testing.T, name string) string {
	t.Helper()
	if _, ok := binaryPackages[name]; !ok {
		t.Fatalf("no binary %q is built", name)
	}
	if child.done == nil {
		t.Skip("no binary: -short")
	}
	<-child.done
	out, err := child.out, child.err
	if err == nil && name != "inventory" {
		out, err = buildOthers()
	}
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return filepath.Join(child.dir, name)
}

// inventoryBinary waits for the build and returns the inventory binary.
func inventoryBinary(t *testing.T) string {
	t.Helper()
	return binary(t, "inventory")
}
