package reliability

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// proc is a service running as its own process.
type proc struct {
	name   string
	cmd    *exec.Cmd
	url    string
	stderr *strings.Builder
	done   chan struct{} // closed when the process has exited
	err    error         // its exit status, once done is closed
	mu     sync.Mutex
	log    strings.Builder // its standard output, the first MiB
}

// startProc runs bin in a new directory holding config/reliability.yaml =
// yaml, with WEGO_ENV=reliability and no other WEGO_ variable, and waits
// for the line "<name> listening on <url>". It is killed when the test
// ends. The environment has no built-in file, so yaml is the whole
// configuration: the built-in dev.yaml's NATS server on 127.0.0.1:4222
// stays out of tests that run side by side.
func startProc(t *testing.T, name, bin, yaml string) *proc {
	t.Helper()
	return startProcWith(t, name, bin, yaml, nil)
}

// startProcWith is startProc that also hands each line of the process's
// standard output to onLine, when not nil, in order and from one
// goroutine, however long the output grows.
func startProcWith(t *testing.T, name, bin, yaml string, onLine func(string)) *proc {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "config"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config", "reliability.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &proc{name: name, cmd: exec.Command(bin), stderr: new(strings.Builder), done: make(chan struct{})}
	p.cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "WEGO_") && !strings.HasPrefix(kv, "GOMEMLIMIT=") && !strings.HasPrefix(kv, "GOGC=") {
			p.cmd.Env = append(p.cmd.Env, kv)
		}
	}
	p.cmd.Env = append(p.cmd.Env, "WEGO_ENV=reliability")
	p.cmd.Stderr = p.stderr
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(name + ` listening on (http://127\.0\.0\.1:\d+)`)
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			if onLine != nil {
				onLine(sc.Text())
			}
			p.mu.Lock()
			if p.log.Len() < 1<<20 {
				p.log.WriteString(sc.Text() + "\n")
			}
			p.mu.Unlock()
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case urls <- m[1]:
				default:
				}
			}
		}
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGCONT) // a test may have stopped it
		_ = p.cmd.Process.Kill()
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
		}
	})
	select {
	case p.url = <-urls:
	case <-p.done:
		t.Fatalf("%s exited: %v\n%s", name, p.err, p.stderr)
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not start in 20s", name)
	}
	return p
}

// kill stops the process with SIGKILL, a crash, and waits until it has
// exited.
func (p *proc) kill(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Kill()
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s still running 10s after SIGKILL", p.name)
	}
}

// stop stops the process with SIGTERM and waits until it has exited,
// failing the test unless it exits with status 0 within 20s.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Errorf("SIGTERM to %s: %v", p.name, err)
	}
	select {
	case <-p.done:
		if p.err != nil {
			t.Errorf("%s exited with %v after SIGTERM\n%s", p.name, p.err, p.stderr)
		}
	case <-time.After(20 * time.Second):
		t.Errorf("%s still running 20s after SIGTERM", p.name)
	}
}
