package snowflaketest

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// jwksCache holds the RSA keys of one integration's JWKS URL. It fetches
// them on first use and again when a token names a key it does not hold,
// which is how an identity provider's key rotation reaches Snowflake.
type jwksCache struct {
	url string

	mu   sync.Mutex // held across a fetch, so concurrent misses fetch once
	keys []jwk
}

// jwk is one key of a JWKS (RFC 7517), RSA keys only.
type jwk struct {
	kid string
	pub *rsa.PublicKey
}

// errUnknownKey: the token's kid is not in the JWKS, even just fetched.
var errUnknownKey = errors.New("no key in the JWKS has the token's kid")

// key returns the verification key for kid (all keys when the token names
// none), fetching the JWKS when it has no such key; fetched says whether it
// did.
func (c *jwksCache) key(ctx context.Context, client *http.Client, kid string) (key any, fetched bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if k := c.lookup(kid); k != nil {
		return k, false, nil
	}
	keys, err := fetchJWKS(ctx, client, c.url)
	if err != nil {
		return nil, true, err
	}
	c.keys = keys
	if k := c.lookup(kid); k != nil {
		return k, true, nil
	}
	return nil, true, errUnknownKey
}

func (c *jwksCache) lookup(kid string) any {
	if kid == "" {
		if len(c.keys) == 0 {
			return nil
		}
		set := jwt.VerificationKeySet{}
		for _, k := range c.keys {
			set.Keys = append(set.Keys, k.pub)
		}
		return set
	}
	for _, k := range c.keys {
		if k.kid == kid {
			return k.pub
		}
	}
	return nil
}

// fetchJWKS reads a JWKS document: at most 1 MiB, 200 only, RSA signing
// keys kept, others skipped.
func fetchJWKS(ctx context.Context, client *http.Client, url string) ([]jwk, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch JWKS: HTTP %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS: %w", err)
	}
	return parseJWKS(body)
}

// parseJWKS reads the RSA signature keys of a JWKS document.
func parseJWKS(body []byte) ([]jwk, error) {
	var doc struct {
		Keys []struct {
			Kty, Kid, Use, N, E string
		} `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("JWKS: %w", err)
	}
	var keys []jwk
	for _, k := range doc.Keys {
		if k.Kty != "RSA" || (k.Use != "" && k.Use != "sig") {
			continue
		}
		n, err1 := base64.RawURLEncoding.DecodeString(k.N)
		e, err2 := base64.RawURLEncoding.DecodeString(k.E)
		if err1 != nil || err2 != nil || len(e) == 0 || len(e) > 4 {
			return nil, fmt.Errorf("JWKS: key %q: bad n or e", k.Kid)
		}
		exp := int(new(big.Int).SetBytes(e).Int64())
		keys = append(keys, jwk{kid: k.Kid, pub: &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: exp}})
	}
	return keys, nil
}

// jwksClient is the client that fetches JWKS documents.
func (s *Server) jwksClient() *http.Client {
	if s.opts.JWKSClient != nil {
		return s.opts.JWKSClient
	}
	return &http.Client{Timeout: 10 * time.Second}
}
