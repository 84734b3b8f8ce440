package auth_test

import (
	"context"
	"fmt"
	"time"

	"github.com/wegomesh/wego/auth"
)

// A credential presented earlier — an event's, stored in a stream before
// it was delivered — has its expiry judged at the time it was presented.
func ExampleWithVerifyTime() {
	secret := "a secret of at least 32 bytes, from a file"
	cfg := auth.DefaultJWTConfig()
	cfg.Issuers = []auth.IssuerConfig{{Issuer: "https://id.example.com"}}
	cfg.Keys = []auth.KeyConfig{{ID: "k1", Alg: auth.HS256, Secret: secret}}
	provider, err := auth.NewJWT(cfg)
	if err != nil {
		panic(err)
	}
	// A token that lived from three hours ago to two hours ago.
	stored := time.Now().Add(-3 * time.Hour)
	signer, _ := auth.NewSigner("k1", []byte(secret), "https://id.example.com", auth.WithClock(func() time.Time { return stored }))
	token, _ := signer.Sign(auth.Claims{Subject: "orders", Type: auth.Service, TTL: time.Hour})
	cred := auth.Credential{Scheme: auth.SchemeBearer, Value: token}

	_, err = provider.Authenticate(context.Background(), cred)
	fmt.Println("now:", err)
	acct, err := provider.Authenticate(auth.WithVerifyTime(context.Background(), stored.Add(time.Minute)), cred)
	fmt.Println("when stored:", acct.ID, err)
	// Output:
	// now: auth.token_expired: The token has expired
	// when stored: orders <nil>
}
