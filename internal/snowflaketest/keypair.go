package snowflaketest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// AddKeyPair registers an RSA public key on a user (ALTER USER … SET
// RSA_PUBLIC_KEY), for key-pair JWT authentication on the REST APIs.
func (s *Server) AddKeyPair(user string, pub *rsa.PublicKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.publicKeys == nil {
		s.publicKeys = map[string]*rsa.PublicKey{}
	}
	s.publicKeys[strings.ToUpper(user)] = pub
}

// KeyPairFile gives user a new RSA key, registered as AddKeyPair does, and
// writes its private key to path (mode 0600) as an unencrypted PKCS#8 PEM
// file, which is how a Snowflake CLI connection's private_key_file holds it.
func (s *Server) KeyPairFile(user, path string) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return err
	}
	s.AddKeyPair(user, &key.PublicKey)
	return nil
}

// keyPairTokenLocked checks a key-pair JWT: RS256, iss
// ACCOUNT.USER.SHA256:<fingerprint of the registered key>, sub
// ACCOUNT.USER, at most an hour between iat and exp.
func (s *Server) keyPairTokenLocked(raw string) (accessToken, bool) {
	var claims jwt.RegisteredClaims
	tok, err := jwt.ParseWithClaims(raw, &claims, func(t *jwt.Token) (any, error) {
		sub, _ := t.Claims.GetSubject()
		parts := strings.SplitN(sub, ".", 2)
		if len(parts) != 2 {
			return nil, jwt.ErrTokenInvalidSubject
		}
		pub, ok := s.publicKeys[parts[1]]
		if !ok {
			return nil, jwt.ErrTokenUnverifiable
		}
		der, _ := x509.MarshalPKIXPublicKey(pub)
		sum := sha256.Sum256(der)
		if iss, _ := t.Claims.GetIssuer(); iss != sub+".SHA256:"+base64.StdEncoding.EncodeToString(sum[:]) {
			return nil, jwt.ErrTokenInvalidIssuer
		}
		return pub, nil
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithTimeFunc(s.now), jwt.WithIssuedAt())
	if err != nil || !tok.Valid || claims.ExpiresAt == nil || claims.IssuedAt == nil || claims.ExpiresAt.Sub(claims.IssuedAt.Time) > time.Hour {
		return accessToken{}, false
	}
	user := strings.SplitN(claims.Subject, ".", 2)[1]
	u, ok := s.users[user]
	if !ok {
		return accessToken{}, false
	}
	return accessToken{kind: "KEYPAIR_JWT", user: user, role: u.DefaultRole, expires: claims.ExpiresAt.Time}, true
}
