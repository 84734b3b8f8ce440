// Package httpbench is the HTTP suite: servers for each target, each in a
// process of its own so that its allocations can be counted apart from the
// load generator's, a load generator with a fixed number of keep-alive
// connections, and the remote-route client figures.
package httpbench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/wegomesh/wego/bench/fixture"
)

// Stats are counters of a server process.
type Stats struct {
	Mallocs uint64 // runtime.MemStats.Mallocs
	Bytes   uint64 // runtime.MemStats.TotalAlloc
	Conns   int64  // connections accepted by the target's listener
	GCs     uint32
	CPU     time.Duration // the process's user and system time
}

// Serve runs the target name on loopback until its standard input
// closes: it prints "READY <addr> <stats addr>" once both listeners are
// bound. The stats listener answers GET /stats with the process's
// counters; it has a listener of its own so that its connections are not
// counted as the target's.
func Serve(name string) error {
	var h http.Handler
	for _, t := range fixture.Handlers {
		if t.Name == name {
			h = t.New()
		}
	}
	if h == nil {
		return fmt.Errorf("unknown target %q", name)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	sln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	var conns atomic.Int64
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				conns.Add(1)
			}
		},
	}
	stats := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Fprintf(w, "%d %d %d %d %d\n", ms.Mallocs, ms.TotalAlloc, conns.Load(), ms.NumGC, CPUTime())
	})}
	if dir := os.Getenv(ProfileEnv); dir != "" {
		stop, err := Profile(dir, name)
		if err != nil {
			return err
		}
		defer stop()
	}
	go func() { _ = srv.Serve(ln) }()
	go func() { _ = stats.Serve(sln) }()
	fmt.Printf("READY %s %s\n", ln.Addr(), sln.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes it or dies
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
	_ = stats.Close()
	return nil
}

// ProfileEnv names the environment variable that makes a server write a
// CPU profile and an allocation profile of its whole run into the
// directory it names, as NAME.cpu.pprof and NAME.allocs.pprof.
const ProfileEnv = "WEGO_BENCH_PROFILE_DIR"

// Profile starts a CPU profile of the process, written to
// dir/NAME.cpu.pprof, and returns the function that stops it and writes
// the allocation profile, dir/NAME.allocs.pprof.
func Profile(dir, name string) (stop func(), err error) {
	f, err := os.Create(filepath.Join(dir, name+".cpu.pprof"))
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		return nil, err
	}
	runtime.MemProfileRate = 4096
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
		if m, err := os.Create(filepath.Join(dir, name+".allocs.pprof")); err == nil {
			_ = pprof.Lookup("allocs").WriteTo(m, 0)
			_ = m.Close()
		}
	}, nil
}

// Server is a target server running in a child process.
type Server struct {
	Name  string
	Addr  string
	stats string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	hc    *http.Client
}

// Start runs exe (this program) with "-serve name" and waits until the
// server is ready.
func Start(exe, name string, env []string) (*Server, error) {
	cmd := exec.Command(exe, "-serve", name)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("server %s: %w", name, err)
	}
	f := strings.Fields(line)
	if len(f) != 3 || f[0] != "READY" {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("server %s said %q", name, line)
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	return &Server{Name: name, Addr: f[1], stats: f[2], cmd: cmd, stdin: stdin,
		hc: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}}, nil
}

// Stats reads the server process's counters.
func (s *Server) Stats() (Stats, error) {
	resp, err := s.hc.Get("http://" + s.stats + "/stats")
	if err != nil {
		return Stats{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return Stats{}, err
	}
	f := strings.Fields(string(b))
	if len(f) != 5 {
		return Stats{}, fmt.Errorf("stats: %q", b)
	}
	var st Stats
	st.Mallocs, _ = strconv.ParseUint(f[0], 10, 64)
	st.Bytes, _ = strconv.ParseUint(f[1], 10, 64)
	st.Conns, _ = strconv.ParseInt(f[2], 10, 64)
	gc, _ := strconv.ParseUint(f[3], 10, 32)
	st.GCs = uint32(gc)
	cpu, _ := strconv.ParseInt(f[4], 10, 64)
	st.CPU = time.Duration(cpu)
	return st, nil
}

// statsOverhead measures the allocations that one Stats call costs the
// server, so that they can be taken off the deltas.
func (s *Server) statsOverhead() (uint64, error) {
	var min uint64
	for i := 0; i < 5; i++ {
		a, err := s.Stats()
		if err != nil {
			return 0, err
		}
		b, err := s.Stats()
		if err != nil {
			return 0, err
		}
		if d := b.Mallocs - a.Mallocs; i == 0 || d < min {
			min = d
		}
	}
	return min, nil
}

// Stop ends the child process.
func (s *Server) Stop() error { return StopChild(s.cmd, s.stdin) }

// StopChild ends a child process of the suites: it closes its standard
// input, which tells it to exit, and kills it if it has not exited within
// five seconds. An exit with a status is not an error.
func StopChild(cmd *exec.Cmd, stdin io.Closer) error {
	_ = stdin.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil
		}
		return err
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		return <-done
	}
}

// CPUTime returns the CPU time of this process so far, user and system.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
