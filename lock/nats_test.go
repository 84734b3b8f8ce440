package lock_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/wegomesh/wego/engine"
	"github.com/wegomesh/wego/engine/enginetest"
	"github.com/wegomesh/wego/lock"
	"github.com/wegomesh/wego/lock/locktest"
	"github.com/wegomesh/wego/store"
	"github.com/wegomesh/wego/store/natsstore"
	"github.com/wegomesh/wego/store/storetest"
)

// openNATS returns the started store of bucket on eng, closed when the
// test ends.
func openNATS(t *testing.T, eng *engine.Engine, bucket string) store.Store {
	t.Helper()
	s, err := natsstore.New(eng, store.Config{Name: bucket}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNATS(t *testing.T) {
	srv := enginetest.Start(t)
	locktest.Run(t, func(t *testing.T) store.Store {
		return openNATS(t, enginetest.Client(t, srv.ClientURL()), storetest.Name(t))
	})
}

// The engine's messages that one acquisition and release of a lock cost:
// a request and its reply per round trip.
func TestNATSRoundTrips(t *testing.T) {
	srv := enginetest.Start(t)
	cl := enginetest.Client(t, srv.ClientURL())
	s := openNATS(t, cl, "roundtrips")
	l := lock.New(s)
	ctx := t.Context()
	cycle := func() (out, in uint64) {
		nc := cl.Conn()
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
		before := nc.Stats()
		ls, err := l.TryAcquire(ctx, "job", 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if err := ls.Release(ctx); err != nil {
			t.Fatal(err)
		}
		after := nc.Stats()
		return after.OutMsgs - before.OutMsgs, after.InMsgs - before.InMsgs
	}
	out, in := cycle()
	t.Logf("a lock never taken before: acquire + release = %d requests, %d replies", out, in)
	if out > 2 || in > 2 {
		t.Errorf("acquire + release of a new lock took %d requests and %d replies, want at most 2 round trips", out, in)
	}
	out, in = cycle()
	t.Logf("a lock released before (its delete marker in the bucket): acquire + release = %d requests, %d replies", out, in)
	if out > 2 || in > 2 {
		t.Errorf("acquire + release of a lock released before took %d requests and %d replies, want at most 2 round trips", out, in)
	}
	// Another store's release leaves a marker this one does not know of:
	// the create reads the key first, and still succeeds.
	other := lock.New(openNATS(t, enginetest.Client(t, srv.ClientURL()), "roundtrips"))
	ls, err := other.TryAcquire(ctx, "job", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := ls.Release(ctx); err != nil {
		t.Fatal(err)
	}
	out, in = cycle()
	t.Logf("a lock another store released: acquire + release = %d requests, %d replies", out, in)

	ls, err = l.TryAcquire(ctx, "refreshed", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	nc := cl.Conn()
	before := nc.Stats()
	if err := ls.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	after := nc.Stats()
	t.Logf("a refresh = %d requests, %d replies", after.OutMsgs-before.OutMsgs, after.InMsgs-before.InMsgs)
	if err := ls.Release(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestNATSTokensGrowAcrossALostBucket: a bucket that is lost (deleted,
// or gone with a one-replica server's disk) and made again by the next
// write gives out revisions, and so fencing tokens, above those of the
// bucket it replaces: the stale holder of a token of the old bucket is
// refused by a record that the new holder wrote.
func TestNATSTokensGrowAcrossALostBucket(t *testing.T) {
	srv := enginetest.Start(t)
	ctx := t.Context()
	s1 := openNATS(t, enginetest.Client(t, srv.ClientURL()), "lost")
	s2 := openNATS(t, enginetest.Client(t, srv.ClientURL()), "lost")
	for range 50 {
		if _, err := s1.Put(ctx, "filler", []byte("x"), store.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	stale, err := lock.New(s1).TryAcquire(ctx, "job", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := srv.JetStream()
	if err := js.DeleteKeyValue(ctx, "lost"); err != nil {
		t.Fatal(err)
	}
	fresh, err := lock.New(s2).TryAcquire(ctx, "job", time.Minute) // makes the bucket again
	if err != nil {
		t.Fatal(err)
	}
	if fresh.Token() <= stale.Token() {
		t.Fatalf("the token after the bucket was made again is %d, not above the lost bucket's %d", fresh.Token(), stale.Token())
	}
	if _, err := s2.Put(ctx, "data", []byte("fresh"), store.PutOptions{Fence: fresh.Token()}); err != nil {
		t.Fatal(err)
	}
	if _, err := s1.Put(ctx, "data", []byte("stale"), store.PutOptions{Fence: stale.Token()}); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("the stale holder's write: %v, want store.fenced", err)
	}
}

// childEnv names the server and bucket of a holder process that the
// paused-holder test starts.
const childEnv = "WEGO_LOCK_TEST_HOLDER"

// holder is the child process of TestNATSStoppedHolderIsFenced: it takes
// the lock "job" with a TTL of 1 s and keeps it alive, then writes the
// record "res" with its token every 20 ms, printing "token N" once, then
// "ok REV" for each write the store took and "fenced" for the first it
// refused, after which it exits. It never checks Lost: the test is that
// the store refuses its late writes even so.
func holder(spec string) int {
	url, bucket, _ := strings.Cut(spec, " ")
	ctx := context.Background()
	cfg := engine.DefaultConfig()
	cfg.URLs = []string{url}
	eng, err := engine.Start(ctx, cfg, zap.NewNop())
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	s, err := natsstore.New(eng, store.Config{Name: bucket}, zap.NewNop())
	if err == nil {
		err = s.Start(ctx)
	}
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	ls, err := lock.New(s, lock.WithOwner("child")).Acquire(ctx, "job", time.Second)
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	ls.KeepAlive(ctx)
	fmt.Println("token", ls.Token())
	for i := 0; ; i++ {
		rev, err := s.Put(ctx, "res", []byte("child "+strconv.Itoa(i)), store.PutOptions{Fence: ls.Token()})
		switch {
		case err == nil:
			fmt.Println("ok", rev)
		case errors.Is(err, store.ErrFenced):
			fmt.Println("fenced")
			return 0
		default:
			fmt.Println("error", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A holder process stopped with SIGSTOP past its TTL, while it holds the
// lock and writes what it protects, loses the lock to another process
// within TTL + 1 s; when it resumes, its next write is refused with
// store.ErrFenced. Three rounds, each with a new holder.
func TestNATSStoppedHolderIsFenced(t *testing.T) {
	if testing.Short() {
		t.Skip("stops a child process for seconds")
	}
	srv := enginetest.Start(t)
	s := openNATS(t, enginetest.Client(t, srv.ClientURL()), "paused")
	l := lock.New(s, lock.WithOwner("parent"))
	for round := range 3 {
		t.Run("round"+strconv.Itoa(round), func(t *testing.T) { stoppedHolder(t, srv.ClientURL(), s, l) })
	}
}

func stoppedHolder(t *testing.T, url string, s store.Store, l *lock.Locker) {
	ctx := t.Context()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+url+" paused")
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGCONT)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	lines := make(chan string, 1024)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	next := func(d time.Duration) string {
		t.Helper()
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatal("the holder exited")
			}
			if strings.HasPrefix(line, "error") {
				t.Fatalf("the holder: %s", line)
			}
			return line
		case <-time.After(d):
			t.Fatalf("the holder said nothing for %v", d)
		}
		return ""
	}
	var token uint64
	if _, err := fmt.Sscanf(next(10*time.Second), "token %d", &token); err != nil {
		t.Fatal(err)
	}
	for range 5 { // the holder writes
		if line := next(5 * time.Second); !strings.HasPrefix(line, "ok") {
			t.Fatalf("the holder: %q, want ok", line)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	ls, err := l.Acquire(ctx, "job", 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(stopped)
	t.Logf("the lock was taken %v after its holder was stopped (TTL 1 s)", took.Round(time.Millisecond))
	if took > locktest.TTL+locktest.Slack {
		t.Errorf("the lock was taken %v after its holder was stopped, want at most TTL + 1 s", took)
	}
	if ls.Token() <= token {
		t.Fatalf("token %d after token %d: tokens must grow", ls.Token(), token)
	}
	rev, err := s.Put(ctx, "res", []byte("parent"), store.PutOptions{Fence: ls.Token()})
	if err != nil {
		t.Fatal(err)
	}
	// Drain what the holder printed before it stopped.
	for len(lines) > 0 {
		next(0)
	}
	if err := cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	// A write that was on its way when the holder stopped may have been
	// taken before the new holder's: it must have an older revision. The
	// holder's first write after it resumed must be refused.
	for {
		line := next(10 * time.Second)
		if line == "fenced" {
			break
		}
		var r uint64
		if _, err := fmt.Sscanf(line, "ok %d", &r); err != nil || r > rev {
			t.Fatalf("the resumed holder: %q, after the new holder's write at revision %d", line, rev)
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the holder: %v", err)
	}
	rec, err := s.Get(ctx, "res")
	if err != nil {
		t.Fatal(err)
	}
	if string(rec.Value) != "parent" || rec.Fence != ls.Token() {
		t.Fatalf("res = %q with fence %d, want %q with fence %d", rec.Value, rec.Fence, "parent", ls.Token())
	}
	if err := ls.Release(ctx); err != nil {
		t.Fatal(err)
	}
}
