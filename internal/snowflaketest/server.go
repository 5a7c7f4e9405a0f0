// Package snowflaketest is an in-process stand-in for the Snowflake endpoints
// sfmcp talks to, built from Snowflake's documentation (docs/development.md
// lists the sources): /oauth/authorize, /oauth/token-request, the managed MCP
// server endpoint with its Protected Resource Metadata, External OAuth
// integrations and the parameters that bind MCP servers to them, and the SQL
// API. It runs over real TLS (httptest) and is used by tests and by the
// demo. Faults, delays and counters let tests observe behaviour without
// sleeping. Where Snowflake's behaviour is not documented, the choice made
// is marked [UNVERIFIED] where it is made.
package snowflaketest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"time"
)

// Integration is a security integration (OAUTH_CLIENT = CUSTOM), or the
// built-in SNOWFLAKE$LOCAL_APPLICATION.
type Integration struct {
	ClientID     string
	ClientSecret string // confidential only
	Public       bool
	// RedirectURIs: OAUTH_REDIRECT_URI then OAUTH_ALTERNATE_REDIRECT_URIS.
	// Ignored for LOCAL_APPLICATION, which accepts http://127.0.0.1[:port][/path].
	RedirectURIs           []string
	AllowNonTLSRedirect    bool
	EnforcePKCE            bool
	AccessTokenValidity    time.Duration // default 600 s
	RefreshTokenValidity   time.Duration // default 90 days
	DoNotIssueRefresh      bool          // OAUTH_ISSUE_REFRESH_TOKENS = FALSE
	SingleUseRefreshTokens bool          // OAUTH_SINGLE_USE_REFRESH_TOKENS_REQUIRED
	AllowedRoles           []string      // empty: any role granted to the user
	local                  bool
}

// User is a Snowflake user who can sign in.
type User struct {
	Name        string
	Password    string
	DefaultRole string
	Roles       []string
	// LoginName (LOGIN_NAME, default the name) and Email (EMAIL) are what
	// External OAuth maps a token's user claim to.
	LoginName, Email string
}

func (u *User) loginName() string {
	if u.LoginName != "" {
		return u.LoginName
	}
	return u.Name
}

// Options configure a stand-in.
type Options struct {
	// AutoApprove signs this user in without a form at /oauth/authorize,
	// the way a browser with an existing Snowflake session would.
	AutoApprove string
	// ExtraTokenFields adds the fields seen in Snowflake's driver fixtures
	// but not in its docs: scope, refresh_token_expires_in, idpInitiated.
	ExtraTokenFields bool
	// AsyncSQL answers every SQL API statement with 202 first, so the
	// client has to poll GET /api/v2/statements/{handle}.
	AsyncSQL bool
	Now      func() time.Time
	// JWKSClient fetches the JWKS of External OAuth integrations; nil is a
	// client with a 10 s timeout (plain http to 127.0.0.1 is fine, as a
	// test identity provider serves it).
	JWKSClient *http.Client
}

// Server is a running stand-in.
type Server struct {
	*httptest.Server
	opts Options

	mu           sync.Mutex
	integrations map[string]*Integration
	users        map[string]*User
	pending      map[string]*authRequest // form sign-ins in progress
	codes        map[string]*authCode
	refresh      map[string]*refreshToken
	access       map[string]*accessToken
	mcpServers   map[string]*MCPServer
	counters     Counters
	faults       []Fault
	mcpFaults    []int

	integrationNames map[string]string // SQL name → client id
	userStates       map[string]*userState
	netRules         map[string]bool
	netPolicies      map[string]bool
	authPolicies     map[string]bool
	publicKeys       map[string]*rsa.PublicKey
	statements       []string
	sqlFaults        []int
	pendingResults   map[string]sqlResult
	hooks            []func(grant string)
	mcpHooks         []func(method string)

	externalOAuth map[string]*externalIntegration // by integration name
	oauthParams   map[Level]map[string]string     // OAUTH_* parameters set at each level
}

// Counters tell tests what the stand-in saw.
type Counters struct {
	Authorize          int
	TokenRequests      int
	CodeExchanges      int
	Refreshes          int
	RefreshRotations   int
	FamiliesRevoked    int
	MCPRequests        int
	MCPUnauthorized    int
	MCPToolCalls       int // tools/call of a known tool, answered with its result
	InjectedFaults     int
	TokenRequestErrors map[string]int // by RFC error code

	// MCPAccepted and MCPRefused count MCP requests past the server lookup
	// by token kind (KindOAuth, KindExternalOAuth, KindPAT, KindKeyPair;
	// "" when no token was recognised); refused means answered 401 or 403.
	MCPAccepted map[string]int
	MCPRefused  map[string]int
	// Refusals counts every 401 or 403 a bearer token got, on MCP servers
	// and the SQL API, by reason (the Refused… constants).
	Refusals    map[string]int
	JWKSFetches int // JWKS documents fetched for External OAuth integrations
	PRMRequests int // Protected Resource Metadata documents served
}

// Default identities used when a test does not configure its own.
const (
	DefaultUser     = "ALICE"
	DefaultPassword = "correct horse battery staple"
	DefaultRole     = "MCP_USERS"
)

// New starts a stand-in with LOCAL_APPLICATION, the user ALICE (roles
// MCP_USERS and PUBLIC) and an MCP server DB.PUBLIC.GONG_MCP.
func New(opts Options) *Server {
	s := &Server{
		opts:         opts,
		integrations: map[string]*Integration{},
		users:        map[string]*User{},
		pending:      map[string]*authRequest{},
		codes:        map[string]*authCode{},
		refresh:      map[string]*refreshToken{},
		access:       map[string]*accessToken{},
		mcpServers:   map[string]*MCPServer{},

		integrationNames: map[string]string{},
		userStates:       map[string]*userState{},
		netRules:         map[string]bool{},
		netPolicies:      map[string]bool{},
		authPolicies:     map[string]bool{},
		pendingResults:   map[string]sqlResult{},

		externalOAuth: map[string]*externalIntegration{},
		oauthParams:   map[Level]map[string]string{},
	}
	s.counters.TokenRequestErrors = map[string]int{}
	s.counters.MCPAccepted, s.counters.MCPRefused, s.counters.Refusals = map[string]int{}, map[string]int{}, map[string]int{}
	s.integrations["LOCAL_APPLICATION"] = &Integration{ClientID: "LOCAL_APPLICATION", Public: true, EnforcePKCE: true, local: true}
	s.AddUser(User{Name: DefaultUser, Password: DefaultPassword, DefaultRole: DefaultRole, Roles: []string{DefaultRole, "PUBLIC"}})
	s.AddMCPServer(DefaultMCPServer())
	mux := http.NewServeMux()
	mux.HandleFunc("GET /oauth/authorize", s.handleAuthorize)
	mux.HandleFunc("POST /oauth/authorize", s.handleAuthorizeForm)
	mux.HandleFunc("/oauth/token-request", s.handleToken)
	mux.HandleFunc("/api/v2/databases/{db}/schemas/{schema}/mcp-servers/{name}", s.handleMCP)
	// RFC 9728 path-inserted form only; Snowflake OAuth itself publishes no
	// RFC 8414 or OpenID metadata, so those well-known paths stay 404.
	mux.HandleFunc("GET "+prmPrefix+"/api/v2/databases/{db}/schemas/{schema}/mcp-servers/{name}", s.handlePRM)
	mux.HandleFunc("POST /api/v2/statements", s.handleStatements)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		// The account URL itself; its Date header follows the stand-in's
		// clock so clock-skew checks can be tested.
		w.Header().Set("Date", s.now().UTC().Format(http.TimeFormat))
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<!doctype html><title>Snowflake</title>"))
	})
	mux.HandleFunc("GET /api/v2/statements/{handle}", s.handleStatementStatus)
	s.Server = httptest.NewTLSServer(mux)
	return s
}

// Host returns host:port of the stand-in (use it as a profile's host).
func (s *Server) Host() string { return strings.TrimPrefix(s.URL, "https://") }

// WriteCA writes the stand-in's CA certificate to path in PEM, mode 0600,
// so that a client can trust the stand-in as it would a private CA
// (ca_file, SSL_CERT_FILE).
func (s *Server) WriteCA(path string) error {
	return os.WriteFile(path, CertificatePEM(s.Certificate()), 0o600)
}

// CertificatePEM is cert as a CA file holds it, for a file that trusts
// other test servers beside the stand-in.
func CertificatePEM(cert *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
}

func (s *Server) now() time.Time {
	if s.opts.Now != nil {
		return s.opts.Now()
	}
	return time.Now()
}

// AddIntegration registers a custom OAuth integration.
func (s *Server) AddIntegration(in Integration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := in
	s.integrations[in.ClientID] = &c
}

// UpdateIntegration changes an integration in place (e.g. the access token
// validity of LOCAL_APPLICATION, as ALTER SECURITY INTEGRATION would).
func (s *Server) UpdateIntegration(clientID string, change func(*Integration)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if in, ok := s.integrations[clientID]; ok {
		change(in)
	}
}

// AddUser registers a user.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := u
	c.Name = strings.ToUpper(u.Name)
	s.users[c.Name] = &c
}

// Counters returns a snapshot of the counters.
func (s *Server) Counters() Counters {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.counters
	c.TokenRequestErrors = maps.Clone(s.counters.TokenRequestErrors)
	c.MCPAccepted = maps.Clone(s.counters.MCPAccepted)
	c.MCPRefused = maps.Clone(s.counters.MCPRefused)
	c.Refusals = maps.Clone(s.counters.Refusals)
	return c
}

// OnTokenRequest registers fn to run (outside the lock) at the start of
// every token request; tests use it to synchronise with refreshes.
func (s *Server) OnTokenRequest(fn func(grant string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hooks = append(s.hooks, fn)
}

func newSecret(prefix string) string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// IssuedSecrets returns every code, refresh token and access token the
// stand-in has issued, so tests can prove none of them leaked into output.
func (s *Server) IssuedSecrets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k := range s.codes {
		out = append(out, k)
	}
	for k := range s.refresh {
		out = append(out, k)
	}
	for k := range s.access {
		out = append(out, k)
	}
	for _, in := range s.integrations {
		if in.ClientSecret != "" {
			out = append(out, in.ClientSecret)
		}
	}
	return out
}
