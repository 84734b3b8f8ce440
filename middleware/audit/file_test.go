package audit_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/wegomesh/wego/middleware/audit"
)

// readLines parses every line of path as a record, failing on a partial
// or invalid line.
func readLines(t testing.TB, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path) // another handle than the sink's
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s: line %d is not a complete JSON record: %v: %q", path, len(out)+1, err, sc.Text())
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// The file holds every record written, complete, even when the sink is
// never closed, as after a crash between calls.
func TestFileSinkSurvivesCrash(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	a, err := audit.New(audit.Config{Sink: "file", File: audit.FileConfig{Path: path, Sync: "always"}})
	if err != nil {
		t.Fatal(err)
	}
	f := setup(t, a)
	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if _, err := f.close.Call(ctxFor(fmt.Sprintf("req-%d", i), "alice"), closeReq(fmt.Sprintf("A-%d", i))); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	// No Close: read what a crash would leave.
	lines := readLines(t, path)
	if len(lines) != n {
		t.Fatalf("%d records in the file, want %d", len(lines), n)
	}
	seen := map[any]bool{}
	for _, m := range lines {
		seen[m["request_id"]] = true
		if m["command"] != "accounts.Close" || m["outcome"] != "ok" || m["principal"] != "alice" {
			t.Errorf("record = %v", m)
		}
	}
	if len(seen) != n {
		t.Errorf("%d distinct request ids, want %d", len(seen), n)
	}
	if a.Failures() != 0 {
		t.Errorf("Failures() = %d", a.Failures())
	}
	t.Cleanup(func() { _ = a.Close() }) // release the file after the check
}

func TestFileSinkRotation(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.jsonl")
	s, err := audit.NewFileSink(audit.FileConfig{Path: path, Sync: "never", MaxBytes: 1000, MaxFiles: 2})
	if err != nil {
		t.Fatal(err)
	}
	const n = 100
	for i := range n {
		r := &audit.Record{Time: time.Unix(int64(i), 0).UTC(), Command: "a.B", Side: "server", Phase: "after",
			Outcome: "ok", Request: audit.Fields{{Name: "i", Value: i}}}
		if err := s.Write(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 3 {
		t.Fatalf("files = %v, want audit.jsonl, .1 and .2", names)
	}
	last := -1
	total := 0
	for _, name := range []string{"audit.jsonl.2", "audit.jsonl.1", "audit.jsonl"} {
		p := filepath.Join(dir, name)
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() > 1000 {
			t.Errorf("%s has %d bytes, more than max_bytes", name, st.Size())
		}
		for _, m := range readLines(t, p) {
			i := int(m["request"].(map[string]any)["i"].(float64))
			if i <= last {
				t.Errorf("%s: record %d after %d: rotation lost the order", name, i, last)
			}
			last = i
			total++
		}
	}
	if last != n-1 || total >= n {
		t.Errorf("newest record %d, %d kept: want %d newest and older ones dropped", last, total, n-1)
	}
}

func TestFileSinkIntervalFlusherStops(t *testing.T) {
	// Not parallel: goleak compares the goroutines before and after.
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	s, err := audit.NewFileSink(audit.FileConfig{Path: path, Sync: "interval", SyncInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if err := s.Write(context.Background(), &audit.Record{Command: "a.B"}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := s.Write(context.Background(), &audit.Record{}); !errors.Is(err, audit.ErrClosed) {
		t.Errorf("Write after Close: %v, want ErrClosed", err)
	}
	if got := len(readLines(t, path)); got != 10 {
		t.Errorf("%d records, want 10", got)
	}
}

// Reopening appends to what is there.
func TestFileSinkAppends(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	for range 2 {
		s, err := audit.NewFileSink(audit.FileConfig{Path: path})
		if err != nil {
			t.Fatal(err)
		}
		_ = s.Write(context.Background(), &audit.Record{Command: "a.B"})
		_ = s.Close()
	}
	if got := len(readLines(t, path)); got != 2 {
		t.Errorf("%d records, want 2", got)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
}
