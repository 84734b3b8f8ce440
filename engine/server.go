package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// serverStartTimeout bounds the wait for the embedded server to accept
// connections when Start's context has no earlier deadline.
const serverStartTimeout = 10 * time.Second

// startServer starts the embedded server of cfg and waits until it accepts
// connections. storeDir is where JetStream stores its data.
func startServer(ctx context.Context, cfg *ServerConfig, storeDir string, logger *zap.Logger) (*server.Server, error) {
	host, port, err := splitListen(cfg.Listen)
	if err != nil {
		return nil, err
	}
	sync, err := cfg.syncInterval()
	if err != nil {
		return nil, err
	}
	opts := &server.Options{
		ServerName: cfg.Name,
		Host:       host,
		Port:       port,
		NoSigs:     true, // signals belong to the application
		JetStream:  cfg.JetStream,
		StoreDir:   storeDir,
		MaxPayload: int32(cfg.MaxPayload),
		// A client that stops answering pings (a frozen process) is
		// disconnected, and its queue subscriptions with it, within
		// about (max_pings_out+1) × ping_interval.
		PingInterval: cfg.PingInterval,
		MaxPingsOut:  cfg.MaxPingsOut,
		// An acknowledged write is on disk, unless sync_interval trades
		// that for speed.
		SyncAlways:   sync == 0,
		SyncInterval: sync,
	}
	if cfg.Cluster.enabled() {
		opts.Cluster.Name = cfg.Cluster.Name
		if opts.Cluster.Host, opts.Cluster.Port, err = splitListen(cfg.Cluster.Listen); err != nil {
			return nil, err
		}
		opts.Routes = server.RoutesFromStr(strings.Join(cfg.Cluster.Routes, ","))
	}
	where := "listen " + cfg.Listen
	if cfg.Cluster.enabled() {
		where += ", cluster listen " + cfg.Cluster.Listen
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("engine: embedded NATS server (%s): %w", where, err)
	}
	sl := &serverLogger{l: logger.Named("nats-server").WithOptions(zap.AddCallerSkip(2)), fatal: make(chan string, 1)}
	srv.SetLoggerV2(sl, logger.Core().Enabled(zapcore.DebugLevel), false, false)
	srv.Start()

	ctx, cancel := context.WithTimeout(ctx, serverStartTimeout)
	defer cancel()
	for !srv.ReadyForConnections(50 * time.Millisecond) {
		var cause error
		select {
		case msg := <-sl.fatal:
			cause = errors.New(msg)
		case <-ctx.Done():
			cause = fmt.Errorf("not ready for connections: %w", ctx.Err())
		default:
			continue
		}
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, fmt.Errorf("engine: embedded NATS server (%s): %w", where, cause)
	}
	// A failure after the listeners are up (JetStream) stops Start too.
	select {
	case msg := <-sl.fatal:
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, fmt.Errorf("engine: embedded NATS server (%s): %s", where, msg)
	default:
	}
	return srv, nil
}

// tempStoreDir makes the default JetStream directory, which Close removes.
func tempStoreDir() (string, error) {
	dir, err := os.MkdirTemp("", "wego-nats-")
	if err != nil {
		return "", fmt.Errorf("engine: JetStream store directory (nats.server.store_dir): %w", err)
	}
	return dir, nil
}

// serverLogger writes the embedded server's log to zap. Notices, of which
// the server writes many at start, are debug lines: the engine logs what
// matters itself. A fatal error, after which the server stops working, is
// an error line and is kept for startServer.
type serverLogger struct {
	l     *zap.Logger
	fatal chan string
}

func (s *serverLogger) Noticef(format string, v ...any) { s.log(zap.DebugLevel, format, v) }
func (s *serverLogger) Warnf(format string, v ...any)   { s.log(zap.WarnLevel, format, v) }
func (s *serverLogger) Errorf(format string, v ...any)  { s.log(zap.ErrorLevel, format, v) }
func (s *serverLogger) Debugf(format string, v ...any)  { s.log(zap.DebugLevel, format, v) }
func (s *serverLogger) Tracef(format string, v ...any)  { s.log(zap.DebugLevel, format, v) }

func (s *serverLogger) Fatalf(format string, v ...any) {
	s.log(zap.ErrorLevel, format, v)
	msg := fmt.Sprintf(format, v...)
	select {
	case s.fatal <- msg:
	default:
	}
}

// log writes a line at lvl, formatting it only when lvl is enabled.
func (s *serverLogger) log(lvl zapcore.Level, format string, v []any) {
	if ce := s.l.Check(lvl, ""); ce != nil {
		ce.Message = fmt.Sprintf(format, v...)
		ce.Write()
	}
}
