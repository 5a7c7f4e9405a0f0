package snowflake

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sfmcp/sfmcp/internal/atomicfile"
)

// KeyPair authenticates as a user with an RSA key registered on it
// (ALTER USER … SET RSA_PUBLIC_KEY), the way Snowflake's drivers do for
// authenticator = SNOWFLAKE_JWT: an RS256 JWT with iss
// ACCOUNT.USER.SHA256:<public key fingerprint>, sub ACCOUNT.USER, valid for
// less than an hour.
type KeyPair struct {
	Account string // as configured; see JWTAccount
	User    string
	Key     *rsa.PrivateKey
	Now     func() time.Time

	mu      sync.Mutex
	token   string
	expires time.Time
}

// LoadPrivateKey reads an unencrypted PKCS#8 or PKCS#1 RSA key in PEM.
func LoadPrivateKey(path string) (*rsa.PrivateKey, error) {
	data, err := atomicfile.ReadFile(path, 64<<10, true)
	if err != nil {
		return nil, fmt.Errorf("read the private key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%s holds no PEM key", path)
	}
	if block.Type == "ENCRYPTED PRIVATE KEY" {
		return nil, fmt.Errorf("%s is encrypted; sfmcp reads unencrypted keys only (openssl pkcs8 -topk8 -nocrypt)", path)
	}
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		if rk, ok := k.(*rsa.PrivateKey); ok {
			return rk, nil
		}
		return nil, fmt.Errorf("%s is not an RSA key", path)
	}
	k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// PublicKeyFingerprint is SHA256:<base64 of the DER public key's SHA-256>.
func PublicKeyFingerprint(pub *rsa.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(der)
	return "SHA256:" + base64.StdEncoding.EncodeToString(sum[:]), nil
}

// JWTAccount is the account part of the issuer: upper case, without region
// or domain; the SQL form org.account becomes ORG-ACCOUNT.
func JWTAccount(account string) string {
	a := strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(account), "https://"), "http://")
	labels := strings.Split(a, ".")
	if len(labels) == 2 && !strings.Contains(labels[1], "-") && labels[1] != "privatelink" {
		return strings.ToUpper(labels[0] + "-" + labels[1])
	}
	return strings.ToUpper(labels[0])
}

// Token implements Credentials; the JWT is reused until close to expiry.
func (k *KeyPair) Token(_ context.Context, refused string) (string, string, error) {
	if k.Key == nil {
		return "", "", errors.New("no private key")
	}
	now := time.Now()
	if k.Now != nil {
		now = k.Now()
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.token != "" && refused == "" && now.Before(k.expires.Add(-5*time.Minute)) {
		return k.token, "KEYPAIR_JWT", nil
	}
	fp, err := PublicKeyFingerprint(&k.Key.PublicKey)
	if err != nil {
		return "", "", err
	}
	subject := JWTAccount(k.Account) + "." + strings.ToUpper(k.User)
	exp := now.Add(59 * time.Minute)
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iss": subject + "." + fp, "sub": subject, "iat": now.Unix(), "exp": exp.Unix(),
	})
	signed, err := tok.SignedString(k.Key)
	if err != nil {
		return "", "", err
	}
	k.token, k.expires = signed, exp
	return signed, "KEYPAIR_JWT", nil
}
