package transport_test

import (
	"errors"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/wegomesh/wego/transport"
)

func TestMD(t *testing.T) {
	h := http.Header{}
	var md transport.Metadata = transport.MD(h)
	md.Set("traceparent", "a")
	md.Set("Traceparent", "b")
	h.Add("X-Two", "1")
	h.Add("X-Two", "2")
	if md.Get("TRACEPARENT") != "b" || h.Get("Traceparent") != "b" {
		t.Fatalf("Set/Get are not case-insensitive, or not on the header: %v", h)
	}
	if got := md.Values("x-two"); !slices.Equal(got, []string{"1", "2"}) {
		t.Fatalf("Values = %q", got)
	}
	keys := md.Keys()
	slices.Sort(keys)
	if !slices.Equal(keys, []string{"Traceparent", "X-Two"}) {
		t.Fatalf("Keys = %q", keys)
	}
}

type closer struct {
	name string
	log  *[]string
	err  error
}

func (c closer) Close() error { *c.log = append(*c.log, c.name); return c.err }

func TestClients(t *testing.T) {
	var cs transport.Clients
	var closed []string
	made := 0
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := cs.Get("a", func() (io.Closer, error) {
				mu.Lock()
				made++
				mu.Unlock()
				return closer{"a", &closed, nil}, nil
			})
			if err != nil || c.(closer).name != "a" {
				t.Errorf("Get = %v, %v", c, err)
			}
		}()
	}
	wg.Wait()
	if made != 1 {
		t.Fatalf("made %d clients for one key, want 1", made)
	}
	boom := errors.New("boom")
	if _, err := cs.Get("bad", func() (io.Closer, error) { return nil, boom }); err != boom {
		t.Fatalf("Get with a failing maker = %v", err)
	}
	if _, err := cs.Get("b", func() (io.Closer, error) { return closer{"b", &closed, boom}, nil }); err != nil {
		t.Fatal(err)
	}
	if err := cs.Close(); !errors.Is(err, boom) {
		t.Fatalf("Close = %v, want the clients' errors", err)
	}
	if !slices.Equal(closed, []string{"b", "a"}) {
		t.Fatalf("closed %v, want the reverse of the making order", closed)
	}
	if err := cs.Close(); err != nil || len(closed) != 2 {
		t.Fatalf("a second Close = %v, closed %v", err, closed)
	}
	if _, err := cs.Get("a", nil); !errors.Is(err, transport.ErrClientsClosed) {
		t.Fatalf("Get after Close = %v", err)
	}
}
