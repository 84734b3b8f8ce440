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

// TestMain starts building the inventory binary that TestSIGTERMChildProcess
// runs while the other tests run, and fails the run when any goroutine is
// left once every test has ended, whatever test started it (the per-test
// checks of the sequential tests say which one).
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

// child is the inventory binary, built from its main package.
var child struct {
	dir, bin string
	out      []byte
	err      error
	done     chan struct{}
}

func startBuild() {
	child.done = make(chan struct{})
	child.dir, child.err = os.MkdirTemp("", "wego-reliability-")
	if child.err != nil {
		close(child.done)
		return
	}
	child.bin = filepath.Join(child.dir, "inventory")
	go func() {
		defer close(child.done)
		cmd := exec.Command("go", "build", "-o", child.bin, "github.com/wegomesh/wego/examples/mesh/inventory/cmd/inventory")
		child.out, child.err = cmd.CombinedOutput()
	}()
}

// inventoryBinary waits for the build and returns the binary.
func inventoryBinary(t *testing.T) string {
	t.Helper()
	if child.done == nil {
		t.Skip("no binary: -short")
	}
	<-child.done
	if child.err != nil {
		t.Fatalf("go build: %v\n%s", child.err, child.out)
	}
	return child.bin
}
