package snowflaketest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// testIdP is the least of an identity provider a resource server sees: RSA
// keys published as a JWKS over plain http on 127.0.0.1, and access tokens
// signed with the newest of them.
type testIdP struct {
	*httptest.Server
	mu   sync.Mutex
	keys []*testKey // published, oldest first; the last one signs
}

type testKey struct {
	kid  string
	priv *rsa.PrivateKey
}

func newTestIdP(t *testing.T) *testIdP {
	t.Helper()
	p := &testIdP{}
	p.rotate(t)
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/oauth2/aus1/v1/keys" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(p.jwks())
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *testIdP) issuer() string  { return p.URL + "/oauth2/aus1" }
func (p *testIdP) jwksURL() string { return p.URL + "/oauth2/aus1/v1/keys" }

// rotate publishes a new signing key; the old ones stay published.
func (p *testIdP) rotate(t *testing.T) {
	t.Helper()
	k := newTestKey(t)
	p.mu.Lock()
	defer p.mu.Unlock()
	k.kid = "k" + string(rune('1'+len(p.keys)))
	p.keys = append(p.keys, k)
}

func newTestKey(t *testing.T) *testKey {
	t.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return &testKey{kid: "stray", priv: priv}
}

func (p *testIdP) jwks() map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	keys := []map[string]any{{"kty": "EC", "kid": "ec", "crv": "P-256"}} // skipped: not RSA
	for _, k := range p.keys {
		keys = append(keys, map[string]any{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": k.kid,
			"n": base64.RawURLEncoding.EncodeToString(k.priv.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.priv.E)).Bytes())})
	}
	return map[string]any{"keys": keys}
}

// claims are those of a good token for ALICE with role MCP_USERS, as an
// Okta custom authorization server issues them; mod changes them (a nil
// value deletes the claim).
func (p *testIdP) claims(mod map[string]any) jwt.MapClaims {
	now := time.Now()
	c := jwt.MapClaims{"iss": p.issuer(), "aud": testAudience, "sub": "alice@example.com",
		"scp": []string{"session:role:MCP_USERS", "offline_access"}, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"cid": "0oa-client", "jti": "AT.1"}
	for k, v := range mod {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// token signs claims with the newest key.
func (p *testIdP) token(t *testing.T, claims jwt.MapClaims) string {
	p.mu.Lock()
	k := p.keys[len(p.keys)-1]
	p.mu.Unlock()
	return signWith(t, k, claims)
}

func signWith(t *testing.T, k *testKey, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = k.kid
	s, err := tok.SignedString(k.priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const testAudience = "https://myorg-myaccount.snowflakecomputing.com"

// boundStandIn is a stand-in whose ALICE has login name alice@example.com
// and roles MCP_USERS, ANALYST (no USAGE on GONG_MCP) and ACCOUNTADMIN, an
// integration OKTA_EXT for idp, and a second MCP server OTHER.PUBLIC.TOOLS.
// DB is bound to OKTA_EXT; OTHER is not.
func boundStandIn(t *testing.T, idp *testIdP) *Server {
	t.Helper()
	s := New(Options{AutoApprove: DefaultUser})
	t.Cleanup(s.Close)
	s.AddUser(User{Name: DefaultUser, Password: DefaultPassword, DefaultRole: DefaultRole, LoginName: "alice@example.com",
		Email: "Alice@Corp.Example", Roles: []string{DefaultRole, "PUBLIC", "ANALYST", "ACCOUNTADMIN"}})
	srv := DefaultMCPServer()
	srv.UsageRoles = []string{DefaultRole}
	s.AddMCPServer(srv)
	s.AddMCPServer(MCPServer{Database: "OTHER", Schema: "PUBLIC", Name: "TOOLS", Tools: srv.Tools})
	if err := s.AddExternalOAuth(ExternalOAuth{Name: "okta_ext", Type: "OKTA", Issuer: idp.issuer(), JWKSURL: idp.jwksURL(),
		AudienceList: []string{"api://other", testAudience}, UserClaim: "sub", UserAttribute: "LOGIN_NAME"}); err != nil {
		t.Fatal(err)
	}
	if err := s.BindAuthorizationServer(Level{Database: "db"}, "OKTA_EXT"); err != nil {
		t.Fatal(err)
	}
	return s
}

// mcpPost sends one JSON-RPC message to the MCP server at path with token.
func mcpPost(t *testing.T, s *Server, path, token, msg string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL+path, strings.NewReader(msg))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

const toolsList = `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`
