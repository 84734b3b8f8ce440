package reliability

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"
)

// TestMain starts building the binaries that the process tests run
// (TestSIGTERMChildProcess, TestMemoryUnderLargeRequests,
// TestShipmentsAcrossCrashes...) while the other tests run, and fails the
// run when any goroutine is left once every test has ended, whatever test
// started it (the per-test checks of the sequential tests say which one).
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

// binaryPackages are the main packages TestMain builds, by the name of
// their binary: the mesh's services, and the NATS server of the module's
// dependencies.
var binaryPackages = map[string]string{
	"inventory":   "github.com/wegomesh/wego/examples/mesh/inventory/cmd/inventory",
	"orders":      "github.com/wegomesh/wego/examples/mesh/orders/cmd/orders",
	"shipping":    "github.com/wegomesh/wego/examples/mesh/shipping/cmd/shipping",
	"nats-server": "github.com/nats-io/nats-server/v2",
}

// child is the build of the binaries, into dir.
var child struct {
	dir  string
	out  []byte
	err  error
	done chan struct{}
}

// startBuild builds every binary of binaryPackages with one go command,
// in the background.
func startBuild() {
	child.done = make(chan struct{})
	child.dir, child.err = os.MkdirTemp("", "wego-reliability-")
	if child.err != nil {
		close(child.done)
		return
	}
	args := []string{"build", "-o", child.dir + string(filepath.Separator)}
	for _, pkg := range binaryPackages {
		args = append(args, pkg)
	}
	go func() {
		defer close(child.done)
		child.out, child.err = exec.Command("go", args...).CombinedOutput()
	}()
}

// binary waits for the build and returns the binary name, one of
// binaryPackages.
func binary(t *testing.T, name string) string {
	t.Helper()
	if _, ok := binaryPackages[name]; !ok {
		t.Fatalf("no binary %q is built", name)
	}
	if child.done == nil {
		t.Skip("no binary: -short")
	}
	<-child.done
	if child.err != nil {
		t.Fatalf("go build: %v\n%s", child.err, child.out)
	}
	return filepath.Join(child.dir, name)
}

// inventoryBinary waits for the build and returns the inventory binary.
func inventoryBinary(t *testing.T) string {
	t.Helper()
	return binary(t, "inventory")
}
