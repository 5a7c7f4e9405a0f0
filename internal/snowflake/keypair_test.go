package snowflake

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestJWTAccount(t *testing.T) {
	for in, want := range map[string]string{
		"myorg-myacct":                              "MYORG-MYACCT",
		"xy12345.us-east-2.aws":                     "XY12345",
		"myorg.my_acct":                             "MYORG-MY_ACCT",
		"myorg-acct.privatelink":                    "MYORG-ACCT",
		"https://myorg-acct.snowflakecomputing.com": "MYORG-ACCT",
	} {
		if got := JWTAccount(in); got != want {
			t.Errorf("JWTAccount(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestKeyPairToken(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	kp := &KeyPair{Account: "myorg-acct", User: "svc", Key: key, Now: func() time.Time { return now }}
	raw, typ, err := kp.Token(context.Background(), "")
	if err != nil || typ != "KEYPAIR_JWT" {
		t.Fatal(typ, err)
	}
	var claims jwt.RegisteredClaims
	_, err = jwt.ParseWithClaims(raw, &claims, func(*jwt.Token) (any, error) { return &key.PublicKey, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithTimeFunc(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	fp, _ := PublicKeyFingerprint(&key.PublicKey)
	if claims.Subject != "MYORG-ACCT.SVC" || claims.Issuer != "MYORG-ACCT.SVC."+fp || !strings.HasPrefix(fp, "SHA256:") {
		t.Fatalf("claims %+v", claims)
	}
	if life := claims.ExpiresAt.Sub(claims.IssuedAt.Time); life > time.Hour || life < 50*time.Minute {
		t.Fatalf("lifetime %s", life)
	}
	again, _, _ := kp.Token(context.Background(), "")
	if again != raw {
		t.Fatal("a fresh JWT was not reused")
	}
	if renewed, _, _ := kp.Token(context.Background(), raw); renewed == "" {
		t.Fatal("no token after a refusal")
	}
}
