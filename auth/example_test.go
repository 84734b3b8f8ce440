package auth_test

import (
	"context"
	"fmt"
	"time"

	"github.com/wegomesh/wego/auth"
)

// Rules are compiled once against the resources that exist; a decision is
// then a lookup.
func Example_rules() {
	rules := []auth.Rule{
		{Resource: "inventory.*", Who: []string{"authenticated"}, Access: auth.Allow},
		{Resource: "inventory.Reserve", Who: []string{"type:user"}, Access: auth.Deny},
		{Resource: "inventory.Reserve", Who: []string{"account:orders", "scope:inventory.admin"}, Access: auth.Allow, Priority: 10},
	}
	table, err := auth.Compile(rules, []auth.Resource{
		{Name: "inventory.Reserve"},
		{Name: "inventory.Stock"},
		{Name: "inventory.Health", Public: true},
		{Name: "orders.Place"},
	})
	if err != nil {
		panic(err)
	}
	policy := auth.NewPolicy(table)
	reserve, _ := policy.Index("inventory.Reserve")
	health, _ := policy.Index("inventory.Health")

	alice := &auth.Account{ID: "alice", Type: auth.User}
	orders := &auth.Account{ID: "orders", Type: auth.Service}
	billing := &auth.Account{ID: "billing", Type: auth.Service}
	fmt.Println("alice:  ", policy.Decide(reserve, alice))
	fmt.Println("orders: ", policy.Decide(reserve, orders))
	fmt.Println("billing:", policy.Decide(reserve, billing))
	fmt.Println("nobody: ", policy.Decide(health, nil))
	fmt.Println("unreached:", table.Unreached())
	// Output:
	// alice:   {false rule 1}
	// orders:  {true rule 2}
	// billing: {true rule 0}
	// nobody:  {true public -1}
	// unreached: [orders.Place]
}

// A JWT provider verifies tokens; a Signer mints them (here with an HS256
// secret, as the development key does).
func ExampleJWT() {
	secret := "a secret of at least 32 bytes, from a file"
	cfg := auth.DefaultJWTConfig()
	cfg.Issuers = []auth.IssuerConfig{{Issuer: "https://id.example.com"}}
	cfg.Audience = []string{"inventory"}
	cfg.Keys = []auth.KeyConfig{{ID: "2024-06", Alg: auth.HS256, Secret: secret}}
	provider, err := auth.NewJWT(cfg)
	if err != nil {
		panic(err)
	}

	signer, _ := auth.NewSigner("2024-06", []byte(secret), "https://id.example.com")
	token, _ := signer.Sign(auth.Claims{Subject: "orders", Type: auth.Service,
		Scopes: []string{"inventory.reserve"}, Audience: []string{"inventory"}, TTL: time.Hour})

	cred, err := auth.ParseAuthorization("Bearer " + token)
	if err != nil {
		panic(err)
	}
	acct, err := provider.Authenticate(context.Background(), cred)
	if err != nil {
		panic(err)
	}
	fmt.Println(acct.ID, acct.Type, acct.Scopes, cred)

	_, err = provider.Authenticate(context.Background(), auth.Credential{Scheme: auth.SchemeBearer, Value: token + "x"})
	fmt.Println(err)
	// Output:
	// orders service [inventory.reserve] Bearer [REDACTED]
	// auth.bad_signature: The token's signature is not valid
}

// The configuration stores only the hash of an API key.
func ExampleHashAPIKey() {
	fmt.Println(auth.HashAPIKey("wego_example-key-never-use-it"))
	// Output:
	// sha256:b4cf96e0f2e39b8a4f33e7f62f134f5fdddbe15c6b9d7e0bb6a9332f172bd919
}
