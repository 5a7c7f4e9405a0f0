package netconf

import (
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/keychain"
)

// tlsServer is a TLS server whose certificate no system trusts, and a
// ca_file (in dir) that trusts it.
func tlsServer(t *testing.T, dir string) (*httptest.Server, string) {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are the point
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ca := filepath.Join(dir, "ca.pem")
	writeFile(t, ca, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})))
	return srv, ca
}

// anotherRoot stands for a bundle with other certificates (the digest
// reads blocks, not certificates).
var anotherRoot = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("another root")}))

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

// settingOf returns the setting a SettingError names ("" for another error).
func settingOf(err error) string {
	var bad *SettingError
	if errors.As(err, &bad) {
		return bad.Setting
	}
	return ""
}

// The digest pins the set of certificates, not the file's bytes: order and
// comments do not change it, another certificate does.
func TestCADigest(t *testing.T) {
	a := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("one")}))
	b := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("two")}))
	key := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("not a certificate")}))
	base := CADigest([]byte(a + b))
	for name, bundle := range map[string]string{"reordered": b + a, "commented": "# corporate roots\n" + a + "\n# second\n" + b, "with a key": a + key + b} {
		if got := CADigest([]byte(bundle)); got != base {
			t.Errorf("%s: digest changed", name)
		}
	}
	if CADigest([]byte(a)) == base {
		t.Error("a bundle without the second certificate has the same digest")
	}
}

// A pinned ca_file is trusted while it holds the certificates it held at
// sign-in; afterwards only a new sign-in trusts the new ones.
func TestNetworkClientPinsTheCAFile(t *testing.T) {
	dir := t.TempDir()
	srv, ca := tlsServer(t, dir)
	n, err := FromConfig(&config.File{CAFile: ca})
	if err != nil || n.CAFile != ca || n.CAFileSHA256 == "" {
		t.Fatalf("FromConfig: %+v, %v", n, err)
	}
	hc, err := n.Client(NoEnvProxy)
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := hc.Get(srv.URL); err != nil {
		t.Fatalf("the pinned ca_file is not trusted: %v", err)
	} else {
		resp.Body.Close()
	}
	if resp, err := mustClient(t, Network{}, NoEnvProxy).Get(srv.URL); err == nil {
		resp.Body.Close()
		t.Fatal("a client without the ca_file trusts the server")
	}
	writeFile(t, ca, anotherRoot)
	_, err = n.Client(NoEnvProxy)
	if !errors.Is(err, ErrCAChanged) || settingOf(err) != "ca_file" || !strings.Contains(err.Error(), ca) || !strings.Contains(err.Error(), "sign in again") {
		t.Fatalf("a changed ca_file: %v", err)
	}
	// Unpinned, the file's current content counts (and must hold one).
	if _, err := (Network{CAFile: ca}).Client(NoEnvProxy); settingOf(err) != "ca_file" || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Fatalf("an unpinned ca_file: %v", err)
	}
}

// A ca_file that cannot be used is refused with the setting named, before
// any connection.
func TestCAFileRefused(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	writeFile(t, notPEM, "# no certificate here\n")
	for _, c := range []struct {
		path, want string
	}{
		{"relative/ca.pem", "must be an absolute path"},
		{filepath.Join(dir, "missing.pem"), "ca_file: "},
		{dir, "ca_file: "},
		{notPEM, "holds no PEM certificate"},
	} {
		_, err := CommandClient(&config.File{CAFile: c.path}, NoEnvProxy)
		if settingOf(err) != "ca_file" || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ca_file %s: %v, want a ca_file error saying %q", c.path, err, c.want)
		}
	}
}

func TestCheckProxy(t *testing.T) {
	for raw, ok := range map[string]bool{
		"": true, "http://proxy.example.com:3128": true, "https://proxy.example.com": true,
		"socks5://proxy.example.com:1080": false, "proxy.example.com:3128": false, "http://": false, "http://[::1": false,
	} {
		err := CheckProxy(raw)
		if ok != (err == nil) || !ok && (settingOf(err) != "https_proxy" || !strings.Contains(err.Error(), "is not an http(s) URL")) {
			t.Errorf("CheckProxy(%q) = %v", raw, err)
		}
	}
	if _, err := CommandClient(&config.File{HTTPSProxy: "socks5://p:1"}, WithEnvProxy); settingOf(err) != "https_proxy" {
		t.Errorf("CommandClient with a socks proxy: %v", err)
	}
	if _, err := (Network{HTTPSProxy: "socks5://p:1"}).Client(WithEnvProxy); settingOf(err) != "https_proxy" {
		t.Errorf("a recorded socks proxy: %v", err)
	}
}

// The recorded or configured proxy wins; the environment's applies only
// where the caller allows it, read when the client is built (not cached
// from the first environment the process saw).
func TestProxyRules(t *testing.T) {
	target, _ := url.Parse("https://myorg-acct.snowflakecomputing.com/oauth/token-request")
	proxyOf := func(hc *http.Client) string {
		t.Helper()
		p := hc.Transport.(*http.Transport).Proxy
		if p == nil {
			return ""
		}
		u, err := p(&http.Request{URL: target})
		if err != nil || u == nil {
			return ""
		}
		return u.String()
	}
	t.Setenv("HTTPS_PROXY", "http://env-one.example:3128")
	t.Setenv("NO_PROXY", "")
	first := mustClient(t, Network{}, WithEnvProxy)
	t.Setenv("HTTPS_PROXY", "http://env-two.example:3128")
	for _, c := range []struct {
		name string
		hc   *http.Client
		want string
	}{
		{"environment, as it was", first, "http://env-one.example:3128"},
		{"environment, as it is", mustClient(t, Network{}, WithEnvProxy), "http://env-two.example:3128"},
		{"the bridge: never the environment", mustClient(t, Network{}, NoEnvProxy), ""},
		{"recorded proxy over the environment", mustClient(t, Network{HTTPSProxy: "http://recorded.example:8080"}, WithEnvProxy), "http://recorded.example:8080"},
		{"recorded proxy in the bridge", mustClient(t, Network{HTTPSProxy: "http://recorded.example:8080"}, NoEnvProxy), "http://recorded.example:8080"},
	} {
		if got := proxyOf(c.hc); got != c.want {
			t.Errorf("%s: proxy %q, want %q", c.name, got, c.want)
		}
	}
	hc, err := CommandClient(&config.File{HTTPSProxy: "http://config.example:3128"}, WithEnvProxy)
	if err != nil || proxyOf(hc) != "http://config.example:3128" {
		t.Errorf("the config's proxy: %v", err)
	}
	if hc, err := CommandClient(&config.File{}, NoEnvProxy); err != nil || proxyOf(hc) != "" {
		t.Errorf("a command told to use the config only took the environment's proxy (%v)", err)
	}
}

func mustClient(t *testing.T, n Network, env EnvProxy) *http.Client {
	t.Helper()
	hc, err := n.Client(env)
	if err != nil {
		t.Fatal(err)
	}
	return hc
}

// A sign-in records the config's network, and Of reads it back.
func TestRecord(t *testing.T) {
	_, ca := tlsServer(t, t.TempDir())
	cfg := &config.File{CAFile: ca, HTTPSProxy: "http://proxy.example.com:3128"}
	var cred keychain.Credential
	if err := Record(cfg, &cred); err != nil {
		t.Fatal(err)
	}
	want, _ := FromConfig(cfg)
	if !cred.NetworkRecorded || Of(cred) != want || cred.CAFileSHA256 == "" || cred.HTTPSProxy != cfg.HTTPSProxy {
		t.Errorf("recorded %+v, want %+v", Of(cred), want)
	}
	direct := keychain.Credential{CAFile: "stale", HTTPSProxy: "stale"}
	if err := Record(&config.File{}, &direct); err != nil || !direct.NetworkRecorded || Of(direct) != (Network{}) {
		t.Errorf("a direct network recorded as %+v (%v)", Of(direct), err)
	}
	if err := Record(&config.File{CAFile: "relative.pem"}, &cred); settingOf(err) != "ca_file" {
		t.Errorf("a bad ca_file recorded: %v", err)
	}
}

// CAKey changes when the ca_file's certificates do, so the daemon rebuilds
// a client built from them.
func TestCAKey(t *testing.T) {
	dir := t.TempDir()
	_, ca := tlsServer(t, dir)
	n := Network{CAFile: ca}
	before := n.CAKey()
	writeFile(t, ca, anotherRoot)
	after := n.CAKey()
	if before == "" || after == "" || before == after {
		t.Errorf("CAKey before %q, after %q", before, after)
	}
	if (Network{}).CAKey() != "" || (Network{CAFile: filepath.Join(dir, "gone.pem")}).CAKey() != "unreadable" {
		t.Error("CAKey of no ca_file or a missing one")
	}
}

// A certificate failure of a sign-in made before sfmcp recorded networks
// says that a new sign-in is the cure; other failures pass as they are.
func TestLegacy(t *testing.T) {
	srv, _ := tlsServer(t, t.TempDir())
	hc := &http.Client{Transport: Legacy(http.DefaultTransport.(*http.Transport).Clone(), "run: sfmcp-token login --profile prod")}
	_, err := hc.Get(srv.URL)
	var legacy *LegacyError
	if !errors.As(err, &legacy) || !strings.Contains(err.Error(), "before sfmcp recorded ca_file and https_proxy") || !strings.Contains(err.Error(), "run: sfmcp-token login --profile prod") {
		t.Fatalf("certificate failure: %v", err)
	}
	srv.Close()
	if _, err := hc.Get(srv.URL); err == nil || errors.As(err, &legacy) {
		t.Fatalf("a closed server: %v", err)
	}
}

// The bridge drops every variable that could steer its connections.
func TestDropEnv(t *testing.T) {
	for _, k := range networkEnv {
		t.Setenv(k, "http://project.example:1")
	}
	if err := DropEnv(); err != nil {
		t.Fatal(err)
	}
	for _, k := range networkEnv {
		if v, ok := os.LookupEnv(k); ok {
			t.Errorf("%s is still %q", k, v)
		}
	}
}
