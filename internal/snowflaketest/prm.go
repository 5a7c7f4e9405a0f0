package snowflaketest

import (
	"net/http"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/oauthex"
)

// Protected Resource Metadata (RFC 9728) of the MCP servers. Observed: an
// MCP server's 401 carries WWW-Authenticate: Bearer resource_metadata=…
// and Snowflake OAuth itself publishes no RFC 8414 or OpenID metadata.
// Documented (2026-07-22): a bound server "advertises the external issuer
// in the Protected Resource Metadata endpoint" and OAUTH_SCOPES_SUPPORTED
// is "a comma-separated list of OAuth scopes to advertise" there.

// prmPrefix is inserted between host and path (RFC 9728 §3.1).
const prmPrefix = "/.well-known/oauth-protected-resource"

// DefaultScopesSupported is what an MCP server not bound to an External
// OAuth integration advertises while OAUTH_SCOPES_SUPPORTED is unset: the
// scope MCP clients are seen to discover from Snowflake ([UNVERIFIED]
// whether Snowflake puts it in the PRM, the challenge, or both).
var DefaultScopesSupported = []string{"session:role:all"}

// MCPURL is the URL of an MCP server of this stand-in, as clients are
// configured with it.
func (s *Server) MCPURL(m MCPServer) string { return s.URL + m.MCPPath() }

// ProtectedResourceMetadataURL is where the stand-in serves m's Protected
// Resource Metadata: the path-inserted well-known URL, which is also what
// the 401's resource_metadata names.
func (s *Server) ProtectedResourceMetadataURL(m MCPServer) string {
	return s.URL + prmPrefix + m.MCPPath()
}

// handlePRM serves an MCP server's metadata, without authentication:
//   - resource: the MCP server's URL with the path as requested
//     ([UNVERIFIED] how Snowflake writes the case of the names; echoing the
//     request keeps RFC 9728 §3.3's "identical" check passing);
//   - authorization_servers: the bound integration's issuer, else the
//     account URL, https://<host> ([UNVERIFIED]: the only report shows a
//     generic https://example.com/oauth; the account URL is where
//     /oauth/authorize and /oauth/token-request live, and either form
//     leads a client to synthesise them there since no metadata exists);
//   - scopes_supported: OAUTH_SCOPES_SUPPORTED, else session:role:all when
//     unbound, else nothing ([UNVERIFIED] for a bound server);
//   - bearer_methods_supported: header.
func (s *Server) handlePRM(w http.ResponseWriter, r *http.Request) {
	db, schema := r.PathValue("db"), r.PathValue("schema")
	s.mu.Lock()
	s.counters.PRMRequests++
	_, ok := s.mcpServers[mcpKey(db, schema, r.PathValue("name"))]
	bound := s.externalOAuth[s.effectiveParamLocked(db, schema, ParamAuthorizationServer)]
	scopes := s.effectiveParamLocked(db, schema, ParamScopesSupported)
	s.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]any{"code": "390404", "message": "MCP server does not exist or not authorized."})
		return
	}
	meta := oauthex.ProtectedResourceMetadata{
		Resource:               s.URL + strings.TrimPrefix(r.URL.Path, prmPrefix),
		AuthorizationServers:   []string{s.URL},
		BearerMethodsSupported: []string{"header"},
	}
	if bound != nil {
		meta.AuthorizationServers = []string{bound.cfg.Issuer}
	} else {
		meta.ScopesSupported = DefaultScopesSupported
	}
	if scopes != "" {
		meta.ScopesSupported = strings.Split(scopes, ",")
	}
	writeJSON(w, http.StatusOK, meta)
}
