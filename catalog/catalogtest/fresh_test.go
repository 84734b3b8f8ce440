package catalogtest_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wegomesh/wego/catalog/catalogtest"
)

// freshEnv marks a child process of TestIsolationInFreshProcesses.
const freshEnv = "WEGO_CATALOGTEST_FRESH_CHILD"

// TestIsolationInFreshProcesses runs the first isolated catalogs of a
// process, made by parallel tests at the same moment, in many fresh
// processes. The first scope of a process is where a catalog's typed
// handles change from calling the function directly to looking at their
// context; a test that gets its isolated catalog in that window must still
// see its own fake, never the real command or another test's fake, and no
// interleaving may deadlock.
func TestIsolationInFreshProcesses(t *testing.T) {
	if os.Getenv(freshEnv) != "" {
		t.Skip("in a child process")
	}
	runs := 40
	if testing.Short() {
		runs = 12
	}
	if os.Getenv("WEGO_SOAK") != "" {
		runs = 1000
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu       sync.Mutex
		failures []string
		wg       sync.WaitGroup
		sem      = make(chan struct{}, 2)
	)
	for i := range runs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, exe, "-test.run=^TestFreshChild$", "-test.count=1", "-test.shuffle=on", "-test.parallel=16")
			cmd.Env = append(os.Environ(), freshEnv+"=1")
			out, err := cmd.CombinedOutput()
			if err != nil {
				why := err.Error()
				if ctx.Err() != nil {
					why = "hung for 30 s (killed)"
				}
				mu.Lock()
				failures = append(failures, fmt.Sprintf("run %d: %s\n%s", i, why, out))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d of %d fresh processes failed; the first:\n%s", len(failures), runs, failures[0])
	}
}

// TestFreshChild is the body of one fresh process: parallel tests, each
// with its own isolated catalog and fake, released at the same moment
// (the parent passes -test.parallel high enough for all of them to run).
func TestFreshChild(t *testing.T) {
	if os.Getenv(freshEnv) == "" {
		t.Skip("run by TestIsolationInFreshProcesses in a fresh process")
	}
	const n = 8
	start := make(chan struct{})
	var ready sync.WaitGroup
	ready.Add(n)
	go func() { ready.Wait(); close(start) }()
	for i := range n {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			ready.Done()
			<-start
			cat, ctx := catalogtest.New(t)
			want := fmt.Sprintf("fake %d", i)
			catalogtest.Fake(t, cat, greet, greetResp{Text: want}, nil)
			for range 20 {
				// Both the direct handle and a command that calls it.
				if got, err := greet.Call(ctx, greetReq{Name: "x"}); err != nil || got.Text != want {
					t.Fatalf("greet: got %q, %v; want %q", got.Text, err, want)
				}
				if got, err := welcome.Call(ctx, greetReq{Name: "x"}); err != nil || !strings.HasPrefix(got.Text, want+",") {
					t.Fatalf("welcome: got %q, %v; want %q", got.Text, err, want+", welcome")
				}
			}
		})
	}
}
