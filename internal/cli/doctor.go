package cli

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/spf13/cobra"

	"github.com/sfmcp/sfmcp/client"
	"github.com/sfmcp/sfmcp/client/apitype"
	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/exitcode"
	"github.com/sfmcp/sfmcp/internal/mcpclients"
	"github.com/sfmcp/sfmcp/internal/mcpjson"
	"github.com/sfmcp/sfmcp/internal/mcpproxy"
	"github.com/sfmcp/sfmcp/internal/version"
	"github.com/sfmcp/sfmcp/keychain"
)

// check is one line of doctor's report.
type check struct {
	Name   string `json:"check"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
	Advice string `json:"advice,omitempty"`
}

type doctor struct {
	e       *Env
	ctx     context.Context
	checks  []check
	profile config.Profile
	ep      config.Endpoint
	store   *keychain.Store
}

func (d *doctor) add(name string, ok bool, detail, advice string) bool {
	if ok {
		advice = ""
	}
	d.checks = append(d.checks, check{Name: name, OK: ok, Detail: detail, Advice: advice})
	return ok
}

func newDoctorCommand(e *Env) *cobra.Command {
	var o doctorOptions
	c := &cobra.Command{
		Use:   "doctor [PROFILE]",
		Short: "Check everything, say what to fix",
		Long: `Check the config, the keychain, the daemon, the account host, the clock, the
sign-in and the MCP servers of .mcp.json, and say what to fix for each check
that fails. A server whose URL is not on the profile's host is skipped and
sent nothing.`,
		Example: `  sfmcp-token doctor
  sfmcp-token doctor prod --json`,
		Args:              profileArg,
		ValidArgsFunction: completeProfileArg(e),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.profile = profileFrom(o.profile, args)
			return runDoctor(cmd.Context(), e, o)
		},
	}
	addProfileFlag(c, e, &o.profile, "profile to check (default: $SFMCP_PROFILE, then default_profile)")
	c.Flags().BoolVar(&o.asJSON, "json", false, "print JSON")
	c.Flags().StringVar(&o.mcpFile, "mcp-file", ".mcp.json", "MCP configuration whose servers are checked")
	return c
}

type doctorOptions struct {
	profile, mcpFile string // mcpFile "": no MCP servers to check
	asJSON           bool
}

func runDoctor(ctx context.Context, e *Env, o doctorOptions) error {
	checks := doctorChecks(ctx, e, o)
	if o.asJSON {
		if err := writeJSON(e, checks); err != nil {
			return err
		}
	} else {
		for _, c := range checks {
			printCheck(e.Stdout, c)
		}
	}
	return checksFailed(checks)
}

// doctorChecks runs every check and returns the report.
func doctorChecks(ctx context.Context, e *Env, o doctorOptions) []check {
	d := &doctor{e: e, ctx: ctx}
	d.run(o.profile, o.mcpFile)
	return d.checks
}

func printCheck(w io.Writer, c check) {
	mark := "✓"
	if !c.OK {
		mark = "✗"
	}
	fmt.Fprintf(w, "%s %s", mark, c.Name)
	if c.Detail != "" {
		fmt.Fprintf(w, ": %s", c.Detail)
	}
	fmt.Fprintln(w)
	if c.Advice != "" {
		fmt.Fprintf(w, "    → %s\n", c.Advice)
	}
}

// checksFailed is doctor's verdict: nil, or exit 5.
func checksFailed(checks []check) error {
	failed := 0
	for _, c := range checks {
		if !c.OK {
			failed++
		}
	}
	if failed > 0 {
		return withAdvice(fmt.Errorf("%d of %d checks failed", failed, len(checks)), exitcode.ChecksFailed, "each ✗ above says what to do")
	}
	return nil
}

func (d *doctor) run(profileName, mcpFile string) {
	path, _ := config.Path(d.e.Getenv)
	cfg, err := config.LoadLayered(config.SystemPath(d.e.Getenv), path)
	if err == nil {
		err = configureHTTP(d.e, cfg)
	}
	detail := path
	if err == nil && cfg.SystemPath() != "" {
		detail = configProvenance(cfg)
	}
	if !d.add("config readable", err == nil, detail, "fix the file or move it aside: "+errString(err)) {
		return
	}
	p, err := selectProfile(d.e, cfg, profileName)
	if !d.add("profile selected", err == nil, p.Name, "run: sfmcp-token profile add NAME --account ORGNAME-ACCOUNTNAME") {
		return
	}
	d.profile = p
	if d.ep, err = p.Endpoint(); !d.add("account host", err == nil, d.ep.Host, errString(err)) {
		return
	}
	d.checkKeychain(cfg)
	d.checkDaemon()
	d.checkHost()
	d.checkClock()
	if d.checkToken() && mcpFile != "" {
		d.checkMCPServers(mcpFile)
	}
	d.checkExpiry()
}

// configProvenance says which files the configuration came from and what
// the system file locks.
func configProvenance(cfg *config.File) string {
	var locked []string
	for _, key := range []string{"keyring", "ca_file", "https_proxy", "default_profile", "allowed_hosts", "auto_login"} {
		if cfg.Locked(key) {
			locked = append(locked, key)
		}
	}
	for _, name := range cfg.Managed().Profiles {
		locked = append(locked, "profiles."+name)
	}
	s := "system " + cfg.SystemPath() + ", user " + cfg.Path
	if len(locked) > 0 {
		s += "; locked by the system file: " + strings.Join(locked, ", ")
	}
	return s
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func (d *doctor) checkKeychain(cfg *config.File) {
	store, err := openStore(d.e, cfg)
	if err == nil {
		err = store.Probe()
	}
	label := storeLabel(store)
	if store != nil && store.Kind() == keychain.KindFile {
		label = "the file store (chosen explicitly; not the OS keychain): " + label
	}
	if d.add("credential store reachable", err == nil, label, exitcode.KeychainAdvice()) {
		d.store = store
	}
}

func storeLabel(s *keychain.Store) string {
	if s == nil {
		return ""
	}
	return s.Where()
}

func (d *doctor) checkDaemon() {
	c, err := findDaemon(d.ctx, d.e, 3*time.Second)
	if c == nil {
		d.add("daemon running", false, err.Error(), "set HOME to your home directory")
		return
	}
	socket := c.Socket
	var h apitype.Health
	if err == nil {
		h, err = c.Health(d.ctx)
	}
	if errors.Is(err, client.ErrNoDaemon) && d.e.Getenv("SFMCP_NO_AUTOSTART") != "1" {
		// Healthy: every client starts it on demand (the token check
		// below does).
		d.add("daemon", true, "not running yet; it starts on demand (sfmcp-token service install starts it at login)", "")
		return
	}
	if !d.add("daemon running", err == nil, fmt.Sprintf("pid %d, socket %s", h.PID, socket),
		"start it: sfmcp-token daemon, or install the service: sfmcp-token service install") {
		return
	}
	dir, sock := permString(filepath.Dir(socket)), permString(socket)
	okPerm := dir == "0700" && sock == "0600"
	d.add("socket permissions", okPerm, "directory "+dir+", socket "+sock, "run: chmod 700 "+filepath.Dir(socket)+" (the daemon refuses other users' connections either way)")
}

func permString(path string) string {
	st, err := os.Stat(path)
	if err != nil {
		return "missing"
	}
	return fmt.Sprintf("%04o", st.Mode().Perm())
}

func (d *doctor) checkHost() {
	host := d.ep.Hostname()
	if strings.Contains(host, "_") {
		d.add("host has no underscores", false, host, "use hyphens: MCP clients fail on underscores in host names (the account is normalised; check the host override)")
	}
	if !config.IsLoopback(host) {
		_, err := net.DefaultResolver.LookupHost(d.ctx, host)
		if !d.add("host resolves", err == nil, host, "check the account identifier (SELECT CURRENT_ORGANIZATION_NAME(), CURRENT_ACCOUNT_NAME()) and your DNS/VPN: "+errString(err)) {
			return
		}
	}
	if d.ep.Scheme != "https" {
		d.add("TLS", true, "plain http to a loopback address", "")
		return
	}
	tlsConfig := &tls.Config{ServerName: host}
	if t, ok := d.httpClient().Transport.(*http.Transport); ok && t.TLSClientConfig != nil {
		tlsConfig.RootCAs = t.TLSClientConfig.RootCAs // the config's ca_file
	}
	dialer := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second}, Config: tlsConfig}
	addr := d.ep.Host
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(addr, "443")
	}
	conn, err := dialer.DialContext(d.ctx, "tcp", addr)
	if err == nil {
		conn.Close()
	}
	d.add("TLS certificate verifies", err == nil, addr, "a proxy may be intercepting TLS: set ca_file in the config to its CA bundle ("+errString(err)+")")
}

func (d *doctor) httpClient() *http.Client {
	if hc := d.e.snowflakeHTTP(); hc != nil {
		return hc
	}
	return &http.Client{Timeout: 15 * time.Second}
}

// checkClock compares the machine's clock with the server's Date header;
// sfmcp itself relies on expires_in, but Snowflake's JWTs and logs do not.
func (d *doctor) checkClock() {
	req, _ := http.NewRequestWithContext(d.ctx, http.MethodGet, d.ep.URL()+"/", nil)
	resp, err := d.httpClient().Do(req)
	if err != nil {
		d.add("clock in sync with Snowflake", false, err.Error(), "check the network")
		return
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	server, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		d.add("clock in sync with Snowflake", false, "no Date header", "")
		return
	}
	skew := time.Since(server).Round(time.Second)
	ok := skew < time.Minute && skew > -time.Minute
	d.add("clock in sync with Snowflake", ok, "skew "+skew.String(), "sync the clock (timedatectl set-ntp true / sntp); tokens are timed by expires_in, but a skewed clock confuses logs and key-pair JWTs")
}

// checkToken asks the daemon for a token, which refreshes if needed.
func (d *doctor) checkToken() bool {
	_, err := daemonToken(d.ctx, d.e, client.Request{Profile: d.profile.Name}, "", 0)
	if err != nil {
		return d.add("access token (refresh works)", false, errString(err), explainTokenError(daemonError(err, client.Request{Profile: d.profile.Name})))
	}
	return d.add("access token (refresh works)", true, "profile "+d.profile.Name, "")
}

// mcpServerAdvice is the next step when an MCP server check fails: the
// bridge's transport answers a missing or refused token with its own
// JSON-RPC error code, anything else is most often a missing grant.
func mcpServerAdvice(err error, profile string) string {
	var rpcErr *jsonrpc.Error
	if errors.As(err, &rpcErr) && rpcErr.Code == mcpproxy.CodeUnauthorized {
		return "sign in again: " + strings.TrimPrefix(exitcode.LoginHint(profile), "run: ")
	}
	return "the role may lack USAGE on the MCP server (GRANT USAGE ON MCP SERVER … TO ROLE …), or the user has no default warehouse"
}

// explainTokenError adds what Snowflake's token endpoint said to the
// advice: the daemon passes its error and code on as fields, and the token
// endpoint's own advice (oauth.TokenError.Advice) with them.
func explainTokenError(err error) string {
	advice := adviceLine(err)
	var ce *client.Error
	if errors.As(err, &ce) && ce.Advice != "" {
		code := ce.OAuthError
		if ce.SnowflakeCode != "" {
			code += " " + ce.SnowflakeCode
		}
		advice += " — Snowflake said " + strings.TrimSpace(code) + ": " + ce.Advice + "."
	}
	return advice
}

// checkMCPServers runs initialize + tools/list on each server of the MCP
// file that uses this profile, with the official Go SDK client.
func (d *doctor) checkMCPServers(path string) {
	f, err := mcpjson.Load(path)
	if err != nil {
		d.add("MCP configuration", false, err.Error(), "fix "+path)
		return
	}
	names, entries, err := f.Entries()
	if err != nil {
		d.add("MCP configuration", false, err.Error(), "fix "+path)
		return
	}
	checked := 0
	for _, n := range names {
		url, ok := d.serverURL(entries[n])
		if !ok {
			continue
		}
		checked++
		// A cloned repo's .mcp.json is not the user's word: probe only
		// servers on the profile's own host, and say which were skipped.
		if err := d.profile.CheckServerURL(url); err != nil {
			d.add(fmt.Sprintf("MCP server %s skipped", n), false, err.Error(),
				"no token goes there; if "+path+" came with a project, remove or fix that entry ("+exitcode.HostMismatchHint()+")")
			continue
		}
		tools, err := d.listTools(url)
		d.add(fmt.Sprintf("MCP server %s answers initialize + tools/list", n), err == nil, fmt.Sprintf("%d tools", tools)+errSuffix(err), mcpServerAdvice(err, d.profile.Name))
	}
	if checked == 0 {
		d.add("MCP servers configured", true, "none in "+path+" use profile "+d.profile.Name, "")
	}
}

func errSuffix(err error) string {
	if err == nil {
		return ""
	}
	return "; " + err.Error()
}

// serverURL finds the MCP URL of an sfmcp entry using this profile.
func (d *doctor) serverURL(raw json.RawMessage) (string, bool) {
	ours, ok := mcpclients.ParseEntry(raw).Ours()
	if !ok || ours.Profile != d.profile.Name {
		return "", false
	}
	if ours.Mode == "headers" {
		return ours.URL, true
	}
	u, err := config.MCPServerURL(d.ep, ours.Server)
	return u, err == nil
}

func (d *doctor) listTools(url string) (int, error) {
	base := http.DefaultTransport
	if hc := d.e.snowflakeHTTP(); hc != nil && hc.Transport != nil {
		base = hc.Transport
	}
	tr := &mcpproxy.Transport{Base: base, Tokens: daemonTokens(d.e, d.profile.Name, url), Log: slog.New(slog.DiscardHandler), Profile: d.profile.Name, Origin: mcpproxy.Origin(url),
		Advice: func(err error) string { return adviceLine(daemonError(err, client.Request{Profile: d.profile.Name})) }}
	ctx, cancel := context.WithTimeout(d.ctx, 30*time.Second)
	defer cancel()
	c := mcp.NewClient(&mcp.Implementation{Name: "sfmcp-doctor", Version: version.String()}, nil)
	s, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: url, HTTPClient: &http.Client{Transport: tr}, DisableStandaloneSSE: true, MaxRetries: -1}, nil)
	if err != nil {
		return 0, err
	}
	defer s.Close()
	res, err := s.ListTools(ctx, nil)
	if err != nil {
		return 0, err
	}
	return len(res.Tools), nil
}

func (d *doctor) checkExpiry() {
	if d.store == nil {
		return
	}
	cred, err := d.store.Credential(d.profile.Name)
	if errors.Is(err, keychain.ErrNotFound) {
		d.add("signed in", false, "no stored sign-in", exitcode.LoginHint(d.profile.Name))
		return
	}
	if err != nil {
		return
	}
	if cred.SecretExpiresAt.IsZero() {
		d.add("refresh token valid for 7+ days", true, "expiry not reported by Snowflake (integration default: 90 days from sign-in)", "")
		return
	}
	left := time.Until(cred.SecretExpiresAt)
	days := int(left.Hours() / 24)
	what := "refresh token"
	advice := "sign in again before it expires: sfmcp-token login --profile " + d.profile.Name
	if cred.Kind == keychain.CredentialPAT {
		what, advice = "programmatic access token", "rotate it: sfmcp-token pat rotate --user "+cred.User
	}
	d.add(what+" valid for 7+ days", left >= 7*24*time.Hour, fmt.Sprintf("%d days left", days), advice)
}
