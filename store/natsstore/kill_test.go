package natsstore_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wegomesh/wego/engine/enginetest"
	"github.com/wegomesh/wego/store"
)

// childDir is the variable that makes TestKillChild the child process of
// TestKillLosesNoAcknowledgedWrite, writing in this JetStream directory.
const childDir = "WEGO_NATSSTORE_CHILD_DIR"

// TestKillLosesNoAcknowledgedWrite runs a process that embeds the NATS
// server and writes as fast as it can from 8 goroutines, printing each
// acknowledged write; it kills the process with SIGKILL, starts a server
// on the same directory, and finds every acknowledged write there.
func TestKillLosesNoAcknowledgedWrite(t *testing.T) {
	if os.Getenv(childDir) != "" {
		t.Skip("in the child process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillChild$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), childDir+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[string]uint64{}
	lines := bufio.NewScanner(out)
	killed := false
	timeout := time.AfterFunc(60*time.Second, func() { _ = cmd.Process.Kill() })
	defer timeout.Stop()
	for lines.Scan() {
		f := strings.Fields(lines.Text())
		if len(f) != 3 || f[0] != "ack" {
			continue
		}
		rev, err := strconv.ParseUint(f[2], 10, 64)
		if err != nil {
			t.Fatalf("child: %q", lines.Text())
		}
		acked[f[1]] = rev
		if len(acked) == 500 && !killed {
			if err := cmd.Process.Kill(); err != nil { // SIGKILL
				t.Fatal(err)
			}
			killed = true
		}
	}
	_ = cmd.Wait()
	if !killed {
		t.Fatalf("the child ended after %d acknowledged writes without being killed", len(acked))
	}
	t.Logf("%d writes acknowledged before SIGKILL", len(acked))

	s := open(t, enginetest.Start(t, enginetest.StoreDir(dir)), "killed")
	lost := 0
	for key, rev := range acked {
		r, err := s.Get(t.Context(), key)
		if err != nil || r.Revision != rev {
			lost++
			t.Errorf("acknowledged write of %s (revision %d): after the restart %v, revision %d", key, rev, err, r.Revision)
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d acknowledged writes lost", lost, len(acked))
	}
}

// TestKillChild is the process TestKillLosesNoAcknowledgedWrite kills.
func TestKillChild(t *testing.T) {
	dir := os.Getenv(childDir)
	if dir == "" {
		t.Skip("run by TestKillLosesNoAcknowledgedWrite")
	}
	s := open(t, enginetest.Start(t, enginetest.StoreDir(dir)), "killed")
	if d := s.Features().Durability; d != store.DurabilitySynced {
		t.Fatalf("Durability = %d on the embedded server, want synced", d)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				key := fmt.Sprintf("g%d.k%d", g, i)
				rev, err := s.Put(context.Background(), key, []byte(key), store.PutOptions{})
				if err != nil {
					fmt.Fprintln(os.Stderr, "child:", err)
					return
				}
				mu.Lock()
				fmt.Fprintf(os.Stdout, "ack %s %d\n", key, rev)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}
