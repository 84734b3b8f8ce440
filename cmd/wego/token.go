package main

import (
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/wegomesh/wego/auth"
	"github.com/wegomesh/wego/config"
)

const tokenUsage = `Usage: wego token SUBJECT [--config FILE] [--scope SCOPE]... [--aud AUDIENCE]... [--type user|service] [--ttl DURATION]

Mints a development token for SUBJECT with the development key of a
service's configuration (auth.dev_key) and prints it, for the
Authorization header of requests to services that accept that key:

  TOKEN=$(wego token alice --scope orders --config config/dev.yaml)
  curl -H "Authorization: Bearer $TOKEN" 127.0.0.1:8080/orders/…

The token is meant for the configuration's audiences (auth.jwt.audience)
unless --aud says otherwise, and lasts dev_key.ttl (one hour) unless
--ttl says otherwise. WEGO_ variables apply to the configuration, as they
do to the service (WEGO_AUTH_DEV_KEY_SECRET).

Flags:
`

// listFlag is a flag that may be given more than once, each time with one
// value or several separated by commas.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(s string) error {
	for v := range strings.SplitSeq(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*l = append(*l, v)
		}
	}
	return nil
}

type tokenOpts struct {
	config, typ string
	scopes, aud listFlag
	ttl         time.Duration
}

func tokenFlags(out io.Writer, o *tokenOpts) flagSet {
	fs := flag.NewFlagSet("wego token", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() { fmt.Fprint(fs.Output(), tokenUsage); fs.PrintDefaults() }
	fs.StringVar(&o.config, "config", "config/dev.yaml", "the service's configuration file, whose auth.dev_key mints the token; its name is the environment")
	fs.Var(&o.scopes, "scope", "a scope of the token; repeat the flag or separate scopes with commas")
	fs.Var(&o.aud, "aud", "an audience of the token; default: the configuration's auth.jwt.audience")
	fs.StringVar(&o.typ, "type", "user", "the account type: user or service")
	fs.DurationVar(&o.ttl, "ttl", 0, "the token's lifetime; default: auth.dev_key.ttl, one hour")
	return flagSet{fs}
}

func runToken(args []string, stdout, stderr io.Writer) error {
	var o tokenOpts
	pos, err := tokenFlags(stderr, &o).parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("wego token takes one SUBJECT, got %d arguments", len(pos))
	}
	typ := auth.AccountType(o.typ)
	if !typ.Valid() {
		return usagef("--type %q is not user or service", o.typ)
	}
	if o.ttl < 0 {
		return usagef("--ttl %v is negative", o.ttl)
	}
	ext := filepath.Ext(o.config)
	env := strings.TrimSuffix(filepath.Base(o.config), ext)
	cfg, err := config.Load(config.Dir(filepath.Dir(o.config)), config.Env(env))
	if err != nil {
		return err
	}
	if cfg.File() == "" || filepath.Base(cfg.File()) != filepath.Base(o.config) {
		return fmt.Errorf("no configuration file %s", o.config)
	}
	ac, err := config.GetWithDefaults(cfg, "auth", auth.DefaultConfig())
	if err != nil {
		return err
	}
	signer, err := ac.DevSigner()
	if err != nil {
		return fmt.Errorf("%w (in %s)", config.Under("auth", err), cfg.File())
	}
	aud := []string(o.aud)
	if len(aud) == 0 {
		aud = ac.JWT.Audience
	}
	tok, err := signer.Sign(auth.Claims{Subject: pos[0], Type: typ, Scopes: o.scopes, Audience: aud, TTL: o.ttl})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}
