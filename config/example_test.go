package config_test

import (
	"errors"
	"fmt"
	"log"
	"testing/fstest"
	"time"

	"github.com/wegomesh/wego/config"
)

// Server is the section "server" of an application's configuration.
type Server struct {
	Addr         string        `mapstructure:"addr"`
	ReadTimeout  time.Duration `mapstructure:"read_timeout"`
	MaxBodyBytes int64         `mapstructure:"max_body_bytes"`
}

// Validate is called by Section, Get, GetWithDefaults and Watch once the
// section is decoded. Returning a *config.Error whose Key names the field
// makes the message point at it.
func (s *Server) Validate() error {
	if s.MaxBodyBytes <= 0 {
		return config.Errorf("max_body_bytes", "must be positive, got %d", s.MaxBodyBytes)
	}
	return nil
}

// A binary embeds its defaults (here an fstest.MapFS stands in for an
// embed.FS); an on-disk config/dev.yaml, WEGO_SERVER_* variables and
// overrides would each take precedence, key by key.
func Example() {
	embedded := fstest.MapFS{
		"config/dev.yaml": {Data: []byte("server:\n  addr: :8080\n  read_timeout: 5s\n")},
	}
	c, err := config.Load(
		config.Env("dev"),
		config.FS(embedded),
		config.Override("server.addr", ":9090"),
	)
	if err != nil {
		log.Fatal(err)
	}
	s, err := config.GetWithDefaults(c, "server", Server{MaxBodyBytes: 1 << 20})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(c.File())
	fmt.Println(s.Addr, s.ReadTimeout, s.MaxBodyBytes)
	// Output:
	// embed:config/dev.yaml
	// :9090 5s 1048576
}

// Errors name the key and where its value came from.
func ExampleError() {
	embedded := fstest.MapFS{
		"config/dev.yaml": {Data: []byte("server:\n  read_timeout: soon\n  max_body_bytes: -1\n  adr: :8080\n")},
	}
	c, err := config.Load(config.Env("dev"), config.FS(embedded))
	if err != nil {
		log.Fatal(err)
	}
	_, err = config.Get[Server](c, "server")
	fmt.Println(err)
	var ce *config.Error
	if errors.As(err, &ce) {
		fmt.Printf("key %s, file %s\n", ce.Key, ce.File)
	}
	// Output:
	// config: server.read_timeout in embed:config/dev.yaml: cannot parse "soon" as time.Duration (write a number and a unit, as in "1.5s" or "100ms")
	// key server.read_timeout, file embed:config/dev.yaml
}

// A package checks its own section with keys relative to it; the code that
// knows where the section sits puts the keys under it.
func ExampleUnder() {
	s := Server{Addr: ":8080"}
	err := config.Under("server", s.Validate())
	fmt.Println(err)
	var ce *config.Error
	if errors.As(err, &ce) {
		fmt.Println(ce.Key)
	}
	// Output:
	// config: server.max_body_bytes: must be positive, got 0
	// server.max_body_bytes
}
