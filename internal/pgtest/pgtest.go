// Package pgtest gives tests a PostgreSQL database: on the server that
// WEGO_TEST_POSTGRES_DSN names, or else on a throwaway server that it
// starts from the PostgreSQL binaries of the machine (initdb and postgres,
// on PATH or in /usr/lib/postgresql/<version>/bin, as Debian installs
// them).
//
// Each test gets a schema of its own, so that tests never see each
// other's tables. Without a server the tests skip with a message that
// says how to get one; when the environment variable CI is "true" they
// fail instead, so that a CI machine never passes by skipping.
//
// A package that calls [DSN] runs its tests through [Main], which stops
// the throwaway server when they end:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// PostgreSQL refuses to run as root: when the tests run as root, the
// throwaway server runs as the user "postgres" (which Debian's package
// creates).
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvDSN is the environment variable that names a running server for the
// tests, such as "postgres://postgres@127.0.0.1:5432/postgres"; its user
// needs the right to create schemas in its database.
const EnvDSN = "WEGO_TEST_POSTGRES_DSN"

// Hint is the command that installs PostgreSQL on Debian and Ubuntu, as
// the skip message of a test without a server gives it.
const Hint = "sudo apt-get install -y postgresql"

// shared is the server of the test binary, started by the first DSN call
// under Main and stopped when Main's tests end.
var shared struct {
	mu     sync.Mutex
	inMain bool
	srv    *Server
	err    error // why no throwaway server could be started
}

// Main runs the tests of m and then stops the throwaway server that
// [DSN] may have started, and exits with the tests' status.
func Main(m *testing.M) {
	shared.mu.Lock()
	shared.inMain = true
	shared.mu.Unlock()
	code := m.Run()
	shared.mu.Lock()
	if shared.srv != nil {
		shared.srv.stop()
		shared.srv.remove()
	}
	shared.mu.Unlock()
	os.Exit(code)
}

// DSN returns the connection string of a new, empty schema for t, on the
// server of WEGO_TEST_POSTGRES_DSN or else on the test binary's throwaway
// server (a throwaway server of t's own, stopped when t ends, outside
// [Main]). The schema is dropped when t ends. Without a server, DSN skips
// t (fails it when CI is "true").
func DSN(t testing.TB) string {
	t.Helper()
	if dsn := os.Getenv(EnvDSN); dsn != "" {
		return schema(t, dsn)
	}
	shared.mu.Lock()
	if !shared.inMain {
		shared.mu.Unlock()
		return Start(t).DSN(t)
	}
	if shared.srv == nil && shared.err == nil {
		shared.srv, shared.err = start()
	}
	srv, err := shared.srv, shared.err
	shared.mu.Unlock()
	if err != nil {
		unavailable(t, err)
	}
	return srv.DSN(t)
}

// Server is a throwaway PostgreSQL server that a test owns, and may stop
// and start again to see how code lives through an outage.
type Server struct {
	dir  string // data directory
	port int
	bin  string // the postgres binary
	cred *syscall.Credential

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// Start starts a throwaway server for t, stopped and removed when t ends.
// It skips t (fails it when CI is "true") when the machine has no
// PostgreSQL binaries; WEGO_TEST_POSTGRES_DSN does not help here, since
// the test needs a server it can stop.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := start()
	if err != nil {
		unavailable(t, err)
	}
	t.Cleanup(func() {
		s.stop()
		s.remove()
	})
	return s
}

// DSN returns the connection string of a new, empty schema for t on s,
// dropped when t ends (if s is running then).
func (s *Server) DSN(t testing.TB) string {
	t.Helper()
	return schema(t, s.URL())
}

// URL returns the connection string of s's database "postgres" as the
// superuser "postgres", with the public schema.
func (s *Server) URL() string {
	return "postgres://postgres@127.0.0.1:" + strconv.Itoa(s.port) + "/postgres?sslmode=disable"
}

// Stop shuts s down (a fast shutdown: open connections are closed) and
// waits until it has exited.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	s.stop()
}

// Restart starts s again, on the same data and port, after [Server.Stop],
// and waits until it accepts connections.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	if err := s.run(); err != nil {
		t.Fatalf("pgtest: restart the server: %v", err)
	}
}

// unavailable skips t, or fails it on CI, for want of a server.
func unavailable(t testing.TB, err error) {
	t.Helper()
	msg := fmt.Sprintf("pgtest: no PostgreSQL server: %v; install PostgreSQL (%s) so that the tests start a throwaway server, or set %s to the URL of a running one",
		err, Hint, EnvDSN)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// schema creates a schema with a random name on the server of dsn and
// returns dsn with that schema as its search path.
func schema(t testing.TB, dsn string) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "wego_test_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		if os.Getenv(EnvDSN) == dsn {
			t.Fatalf("pgtest: connect to %s: %v", EnvDSN, err)
		}
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		t.Fatalf("pgtest: create schema %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return // the server is gone, and its schemas with it
		}
		defer conn.Close(ctx)
		_, _ = conn.Exec(ctx, "DROP SCHEMA "+name+" CASCADE")
	})
	return withSearchPath(dsn, name)
}

// withSearchPath returns dsn, a URL or keyword/value connection string,
// with search_path set to schema.
func withSearchPath(dsn, schema string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		if u, err := url.Parse(dsn); err == nil {
			q := u.Query()
			q.Set("search_path", schema)
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	return dsn + " search_path=" + schema
}

// binaries returns the paths of initdb and postgres: from PATH, else
// from Debian's /usr/lib/postgresql/<version>/bin, the newest version.
func binaries() (initdb, postgres string, err error) {
	initdb, err1 := exec.LookPath("initdb")
	postgres, err2 := exec.LookPath("postgres")
	if err1 == nil && err2 == nil {
		return initdb, postgres, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
		return vb - va
	})
	for _, d := range dirs {
		i, p := filepath.Join(d, "initdb"), filepath.Join(d, "postgres")
		if isExec(i) && isExec(p) {
			return i, p, nil
		}
	}
	return "", "", errors.New("initdb and postgres are not on PATH nor in /usr/lib/postgresql/*/bin")
}

func isExec(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// start initializes a cluster in a new temporary directory and starts a
// server on it.
func start() (*Server, error) {
	initdb, postgres, err := binaries()
	if err != nil {
		return nil, err
	}
	s := &Server{bin: postgres}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, errors.New("the tests run as root, which PostgreSQL refuses, and there is no user postgres to run it as")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	if s.dir, err = os.MkdirTemp("", "wego-pgtest-"); err != nil {
		return nil, err
	}
	if s.cred != nil {
		if err := os.Chown(s.dir, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			s.remove()
			return nil, err
		}
	}
	data := filepath.Join(s.dir, "data")
	cmd := exec.Command(initdb, "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred, Pdeathsig: syscall.SIGKILL}
	if out, err := cmd.CombinedOutput(); err != nil {
		s.remove()
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	for attempt := 0; ; attempt++ {
		if s.port, err = freePort(); err != nil {
			s.remove()
			return nil, err
		}
		if err = s.run(); err == nil {
			return s, nil
		}
		if attempt == 2 {
			s.remove()
			return nil, err
		}
	}
}

// freePort returns a TCP port of 127.0.0.1 that nothing listens on.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// run starts the server process and waits until it accepts connections.
// The server dies with the test binary (SIGQUIT, an immediate shutdown,
// when its parent exits). It keeps no data safe from a crash (fsync off):
// it is for tests.
func (s *Server) run() error {
	logFile, err := os.OpenFile(filepath.Join(s.dir, "server.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.Command(s.bin, "-D", filepath.Join(s.dir, "data"), "-p", strconv.Itoa(s.port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
		"-c", "fsync=off", "-c", "full_page_writes=off", "-c", "max_connections=300")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred, Pdeathsig: syscall.SIGQUIT}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, s.URL())
		if err == nil {
			_ = conn.Close(ctx)
			cancel()
			return nil
		}
		cancel()
		select {
		case <-done:
			return fmt.Errorf("postgres exited at start: %s", s.logTail())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return fmt.Errorf("postgres does not accept connections after 60 s: %v: %s", err, s.logTail())
		}
	}
}

// stop shuts the server down, if it runs, and waits until it has exited.
func (s *Server) stop() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGINT) // fast shutdown
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// remove deletes the server's directory.
func (s *Server) remove() { _ = os.RemoveAll(s.dir) }

// logTail returns the end of the server's log.
func (s *Server) logTail() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "server.log"))
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}
