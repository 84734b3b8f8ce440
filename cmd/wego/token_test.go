package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wegomesh/wego/auth"
)

const tokenYAML = `auth:
  enabled: true
  dev_key: {secret: "a development secret of at least 32 bytes"}
  jwt: {audience: [orders]}
other: {section: "of the service"}
`

// wego token mints a token that the service of the configuration accepts.
func TestToken(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "dev.yaml")
	if err := os.WriteFile(file, []byte(tokenYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := wego(t, "token", "alice", "--config", file, "--scope", "orders", "--scope", "a,b")
	if code != exitOK {
		t.Fatalf("wego token = %d\n%s", code, stderr)
	}
	cfg := auth.DefaultConfig()
	cfg.DevKey.Secret = "a development secret of at least 32 bytes"
	cfg.JWT.Audience = []string{"orders"}
	p, err := cfg.Providers()
	if err != nil {
		t.Fatal(err)
	}
	cred, err := auth.ParseAuthorization("Bearer " + strings.TrimSpace(stdout))
	if err != nil {
		t.Fatal(err)
	}
	acct, err := p.Authenticate(context.Background(), cred)
	if err != nil {
		t.Fatal(err)
	}
	if acct.ID != "alice" || acct.Type != auth.User || strings.Join(acct.Scopes, " ") != "orders a b" {
		t.Fatalf("account %+v", acct)
	}

	// Another audience is refused by that service.
	_, stdout, _ = wego(t, "token", "--config", file, "--aud", "billing", "--type", "service", "billing")
	cred, _ = auth.ParseAuthorization("Bearer " + strings.TrimSpace(stdout))
	if _, err := p.Authenticate(context.Background(), cred); err == nil {
		t.Fatal("a token for billing is accepted by orders")
	}
}

func TestTokenErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	noKey := filepath.Join(dir, "nokey.yaml")
	if err := os.WriteFile(noKey, []byte("auth: {enabled: true}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"token"}, exitUsage, "takes one SUBJECT, got 0"},
		{[]string{"token", "a", "b"}, exitUsage, "takes one SUBJECT, got 2"},
		{[]string{"token", "a", "--type", "robot"}, exitUsage, `--type "robot" is not user or service`},
		{[]string{"token", "a", "--config", noKey}, exitFailure, "auth.dev_key: no development key"},
		{[]string{"token", "a", "--config", filepath.Join(dir, "missing.yaml")}, exitFailure, "missing.yaml"},
	}
	for _, tt := range tests {
		code, stdout, stderr := wego(t, tt.args...)
		if code != tt.code || !strings.Contains(stderr, tt.want) || stdout != "" {
			t.Errorf("wego %q = %d, stdout %q, stderr:\n%s\nwant %d and %q", tt.args, code, stdout, stderr, tt.code, tt.want)
		}
	}
	if code, stdout, _ := wego(t, "help", "token"); code != exitOK || !strings.Contains(stdout, "--scope") {
		t.Errorf("help token = %d\n%s", code, stdout)
	}
}
