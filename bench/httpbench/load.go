package httpbench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/wegomesh/wego/bench/fixture"
)

// conn is one keep-alive connection of the load generator: a plain
// HTTP/1.1 client over a TCP connection, so that the generator spends as
// little CPU as it can and every target sees the same bytes.
type conn struct {
	c   net.Conn
	br  *bufio.Reader
	req []byte
	buf []byte
}

func dial(addr string) (*conn, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	req := fmt.Appendf(nil, "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: wego-bench\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		fixture.Path, addr, len(fixture.Body), fixture.Body)
	return &conn{c: c, br: bufio.NewReaderSize(c, 4096), req: req}, nil
}

// do sends one request and reads its response; it returns the body, valid
// until the next call.
func (k *conn) do() ([]byte, error) {
	if _, err := k.c.Write(k.req); err != nil {
		return nil, err
	}
	line, err := k.br.ReadSlice('\n')
	if err != nil {
		return nil, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return nil, fmt.Errorf("bad status line %q", line)
	}
	if !bytes.Equal(line[9:12], []byte("200")) {
		return nil, fmt.Errorf("status %q", bytes.TrimSpace(line))
	}
	length, chunked := -1, false
	for {
		h, err := k.br.ReadSlice('\n')
		if err != nil {
			return nil, err
		}
		h = bytes.TrimRight(h, "\r\n")
		if len(h) == 0 {
			break
		}
		name, value, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			continue
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			length, err = strconv.Atoi(string(value))
			if err != nil {
				return nil, fmt.Errorf("bad Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			if bytes.EqualFold(value, []byte("close")) {
				return nil, errors.New("server closes the connection")
			}
		}
	}
	k.buf = k.buf[:0]
	if chunked {
		for {
			l, err := k.br.ReadSlice('\n')
			if err != nil {
				return nil, err
			}
			n, err := strconv.ParseInt(string(bytes.TrimSpace(l)), 16, 32)
			if err != nil {
				return nil, fmt.Errorf("bad chunk size %q", l)
			}
			if n == 0 {
				_, err = k.br.ReadSlice('\n')
				return k.buf, err
			}
			k.buf = slices.Grow(k.buf, int(n)+2)
			chunk := k.buf[len(k.buf) : len(k.buf)+int(n)+2]
			if _, err := io.ReadFull(k.br, chunk); err != nil {
				return nil, err
			}
			k.buf = k.buf[:len(k.buf)+int(n)]
		}
	}
	if length < 0 {
		return nil, errors.New("response without length")
	}
	k.buf = slices.Grow(k.buf, length)[:length]
	_, err = io.ReadFull(k.br, k.buf)
	return k.buf, err
}

// Round is what one timed round against one target measured.
type Round struct {
	Requests  int
	Elapsed   time.Duration
	P50, P99  time.Duration
	AllocsReq float64 // server allocations per request
	BytesReq  float64
	NewConns  int64 // connections the server accepted during the round
}

// RPS is the round's throughput.
func (r Round) RPS() float64 { return float64(r.Requests) / r.Elapsed.Seconds() }

// Load drives one server with conns keep-alive connections.
type Load struct {
	srv      *Server
	conns    []*conn
	overhead uint64
}

// NewLoad opens conns connections to srv and checks that the target
// answers the expected response.
func NewLoad(srv *Server, conns int) (*Load, error) {
	l := &Load{srv: srv}
	for range conns {
		k, err := dial(srv.Addr)
		if err != nil {
			l.Close()
			return nil, err
		}
		l.conns = append(l.conns, k)
	}
	body, err := l.conns[0].do()
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("%s: %w", srv.Name, err)
	}
	var got fixture.Resp
	if err := json.Unmarshal(body, &got); err != nil || got != fixture.Want {
		l.Close()
		return nil, fmt.Errorf("%s answered %q", srv.Name, body)
	}
	if l.overhead, err = srv.statsOverhead(); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// Close closes the connections.
func (l *Load) Close() {
	for _, k := range l.conns {
		_ = k.c.Close()
	}
}

// Run sends n requests spread over the connections, all at once, and
// measures the round: requests/s, latency percentiles, and the server's
// allocations and new connections. With timed false it only warms up.
func (l *Load) Run(n int) (Round, error) {
	before, err := l.srv.Stats()
	if err != nil {
		return Round{}, err
	}
	per := n / len(l.conns)
	lat := make([][]time.Duration, len(l.conns))
	errs := make([]error, len(l.conns))
	var wg sync.WaitGroup
	start := time.Now()
	for i, k := range l.conns {
		lat[i] = make([]time.Duration, 0, per)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range per {
				t := time.Now()
				if _, err := k.do(); err != nil {
					errs[i] = err
					return
				}
				lat[i] = append(lat[i], time.Since(t))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return Round{}, fmt.Errorf("%s: %w", l.srv.Name, err)
	}
	after, err := l.srv.Stats()
	if err != nil {
		return Round{}, err
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	total := per * len(l.conns)
	return Round{
		Requests:  total,
		Elapsed:   elapsed,
		P50:       all[len(all)/2],
		P99:       all[len(all)*99/100],
		AllocsReq: float64(after.Mallocs-before.Mallocs-l.overhead) / float64(total),
		BytesReq:  float64(after.Bytes-before.Bytes) / float64(total),
		NewConns:  after.Conns - before.Conns,
	}, nil
}
