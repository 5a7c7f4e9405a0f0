package config

// View is a profile as `profile list` and `profile show` give it (their
// --json is this shape): its settings, whether it is the default, where it
// answers, the scopes it requests and, with a system file, where each
// setting comes from.
type View struct {
	Profile
	Default  bool              `json:"default"`
	Endpoint string            `json:"endpoint"`
	Scopes   []string          `json:"requested_scopes"`
	Sources  map[string]string `json:"sources,omitempty"` // setting → the file it comes from
	Locked   bool              `json:"locked,omitempty"`  // the system file locks this profile
}

// SourceKeys are the settings whose source a View gives, in order.
var SourceKeys = []string{"account", "host", "client_id", "client_type", "redirect_uri", "role", "mcp_servers", "issuer", "idp", "audience"}

// View is p as f has it. Its Scopes are Snowflake OAuth's: an identity
// provider's profile asks for its provider's form of them
// (signin.Scopes), which the caller sets.
func (f *File) View(p Profile) View {
	ep, _ := p.Endpoint()
	v := View{Profile: p, Default: f.DefaultProfile == p.Name, Endpoint: ep.URL(), Scopes: p.OAuthScopes()}
	if f.SystemPath() == "" {
		return v
	}
	v.Sources = map[string]string{}
	set := map[string]bool{"account": p.Account != "", "host": p.Host != "", "client_id": p.ClientID != "", "client_type": p.ClientType != "",
		"redirect_uri": p.RedirectURI != "", "role": p.Role != "", "mcp_servers": len(p.MCPServers) > 0,
		"issuer": p.Issuer != "", "idp": p.IdP != "", "audience": p.Audience != ""}
	for _, key := range SourceKeys {
		if set[key] {
			v.Sources[key], v.Locked = f.Source("profiles." + p.Name + "." + key)
		}
	}
	return v
}
