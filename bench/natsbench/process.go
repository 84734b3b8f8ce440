package natsbench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wegomesh/wego/bench/httpbench"
)

// Targets are the processes of the suite by name: the NATS server, and the
// two responders that connect to it.
const (
	TargetServer = "nats-server"
	TargetWeGO   = "nats-wego"
	TargetBare   = "nats-bare"
)

// IsTarget reports whether name is one of the suite's processes.
func IsTarget(name string) bool {
	return name == TargetServer || name == TargetWeGO || name == TargetBare
}

// Serve runs the process name until its standard input closes. The NATS
// server prints "READY <client URL>"; a responder connects to url and
// prints "READY". Each then answers every line "stats" on its standard
// input with "STATS <mallocs> <bytes> <cpu>": its runtime.MemStats
// counters and its CPU time in nanoseconds.
func Serve(name, url string) error {
	ctx := context.Background()
	var stop func()
	switch name {
	case TargetServer:
		e, err := Broker(ctx)
		if err != nil {
			return err
		}
		stop = func() { _ = e.Close(context.Background()) }
		url = e.ClientURL()
	case TargetWeGO, TargetBare:
		if url == "" {
			return fmt.Errorf("%s: no NATS URL", name)
		}
		var err error
		if name == TargetWeGO {
			stop, err = ServeWeGO(ctx, url)
		} else {
			stop, err = ServeBare(url)
		}
		if err != nil {
			return err
		}
		url = ""
	default:
		return fmt.Errorf("unknown NATS target %q", name)
	}
	defer stop()
	if dir := os.Getenv(httpbench.ProfileEnv); dir != "" {
		stopProfile, err := httpbench.Profile(dir, name)
		if err != nil {
			return err
		}
		defer stopProfile()
	}
	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintln(out, strings.TrimSpace("READY "+url))
	if err := out.Flush(); err != nil {
		return err
	}
	sc := bufio.NewScanner(os.Stdin)
	var ms runtime.MemStats
	for sc.Scan() { // until the parent closes it or dies
		if sc.Text() != "stats" {
			continue
		}
		runtime.ReadMemStats(&ms)
		fmt.Fprintf(out, "STATS %d %d %d\n", ms.Mallocs, ms.TotalAlloc, httpbench.CPUTime())
		if err := out.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// Process is a target of the suite running in a child process.
type Process struct {
	Name string
	URL  string // the NATS server's client URL

	mu       sync.Mutex
	cmd      *exec.Cmd
	stdin    io.WriteCloser
	out      *bufio.Reader
	overhead uint64 // allocations that one Stats call costs the process
}

// Start runs exe (this program) with args, which make it call Serve for
// the target name, and waits until the target is ready.
func Start(name string, exe string, args, env []string) (*Process, error) {
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Process{Name: name, cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout)}
	line, err := p.out.ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	f := strings.Fields(line)
	if len(f) < 1 || f[0] != "READY" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("%s said %q", name, line)
	}
	if len(f) > 1 {
		p.URL = f[1]
	}
	// What reading the counters costs, the least of a few tries.
	for i := range 5 {
		a, _, err := p.stats()
		if err != nil {
			_ = p.Stop()
			return nil, err
		}
		b, _, err := p.stats()
		if err != nil {
			_ = p.Stop()
			return nil, err
		}
		if d := b - a; i == 0 || d < p.overhead {
			p.overhead = d
		}
	}
	return p, nil
}

// Stats are counters of a process.
type Stats struct {
	Mallocs uint64        // runtime.MemStats.Mallocs
	Bytes   uint64        // runtime.MemStats.TotalAlloc
	CPU     time.Duration // user and system time
}

func (p *Process) stats() (mallocs, bytes uint64, err error) {
	st, err := p.Stats()
	return st.Mallocs, st.Bytes, err
}

// Stats reads the process's counters.
func (p *Process) Stats() (Stats, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := io.WriteString(p.stdin, "stats\n"); err != nil {
		return Stats{}, fmt.Errorf("%s: stats: %w", p.Name, err)
	}
	line, err := p.out.ReadString('\n')
	if err != nil {
		return Stats{}, fmt.Errorf("%s: stats: %w", p.Name, err)
	}
	f := strings.Fields(line)
	if len(f) != 4 || f[0] != "STATS" {
		return Stats{}, fmt.Errorf("%s: stats: %q", p.Name, line)
	}
	var st Stats
	var errs [3]error
	var cpu int64
	st.Mallocs, errs[0] = strconv.ParseUint(f[1], 10, 64)
	st.Bytes, errs[1] = strconv.ParseUint(f[2], 10, 64)
	cpu, errs[2] = strconv.ParseInt(f[3], 10, 64)
	if err := errors.Join(errs[:]...); err != nil {
		return Stats{}, fmt.Errorf("%s: stats: %w", p.Name, err)
	}
	st.CPU = time.Duration(cpu)
	return st, nil
}

// Mallocs returns the process's runtime.MemStats.Mallocs.
func (p *Process) Mallocs() (uint64, error) {
	m, _, err := p.stats()
	return m, err
}

// Since returns the allocations of the process since a figure Mallocs
// returned, less what reading them costs it.
func (p *Process) Since(mallocs uint64) (uint64, error) {
	m, err := p.Mallocs()
	if err != nil {
		return 0, err
	}
	if d := m - mallocs; d > p.overhead {
		return d - p.overhead, nil
	}
	return 0, nil
}

// Stop ends the process: it closes its standard input, and kills it if it
// has not exited within five seconds.
func (p *Process) Stop() error { return httpbench.StopChild(p.cmd, p.stdin) }
