package mcpclients

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

var bridge = Spec{Bin: "/usr/local/bin/sfmcp-token", Profile: "prod", Mode: Proxy, Server: "DB.PUBLIC.GONG_MCP"}

// Put says what an edit changed, as mcp add and setup report it.
func TestPutSaysWhatChanged(t *testing.T) {
	for _, c := range []struct {
		name, file string
		force      bool
		want       Change
	}{
		{"new", `{}`, false, Added},
		{"same", `{"mcpServers": {"snowflake": {"type": "stdio", "command": "/usr/local/bin/sfmcp-token", "args": ["mcp-proxy", "--profile", "prod", "--server", "DB.PUBLIC.GONG_MCP"]}}}`, false, Unchanged},
		{"same, written otherwise", `{"mcpServers": {"snowflake": {"args": ["mcp-proxy", "--profile", "prod", "--server", "DB.PUBLIC.GONG_MCP"], "command": "/usr/local/bin/sfmcp-token", "type": "stdio"}}}`, false, Unchanged},
		{"moved binary", `{"mcpServers": {"snowflake": {"type": "stdio", "command": "/home/me/go/bin/sfmcp-token", "args": ["mcp-proxy", "--profile", "prod", "--server", "DB.PUBLIC.GONG_MCP"]}}}`, false, Updated},
		{"another program's", `{"mcpServers": {"snowflake": {"command": "npx", "args": ["x"]}}}`, true, Replaced},
	} {
		cfg := openNamed(t, "claude-code", ".mcp.json", c.file)
		cfg.Force = c.force
		if got, err := cfg.Put("snowflake", bridge); err != nil || got != c.want {
			t.Errorf("%s: Put = %v, %v; want %v", c.name, got, err, c.want)
		}
	}
}

// Add and Remove edit every file in memory or none: a refusal in the last
// file names it and leaves the first one unwritten.
func TestAddAndRemoveAreAllOrNothing(t *testing.T) {
	first := openNamed(t, "claude-code", ".mcp.json", `{}`)
	foreign := openNamed(t, "cursor", "mcp.json", `{"mcpServers": {"snowflake": {"command": "npx"}}}`)
	var edit *EditError
	_, err := Add([]*Config{first, foreign}, "snowflake", bridge, false)
	if !errors.As(err, &edit) || edit.Config != foreign || !errors.As(err, new(*NotOursError)) {
		t.Fatalf("Add over another program's entry: %v", err)
	}
	if data, _ := os.ReadFile(first.Path); string(data) != "{}" {
		t.Fatalf("the first file was written: %s", data)
	}
	if _, err := Remove([]*Config{first, foreign}, "snowflake", false); !errors.As(err, new(*NotOursError)) {
		t.Fatalf("Remove of another program's entry: %v", err)
	}
	changes, err := Add([]*Config{first, foreign}, "snowflake", bridge, true)
	if err != nil || !slices.Equal(changes, []Change{Added, Replaced}) {
		t.Fatalf("forced Add: %v %v", changes, err)
	}
	found, err := Remove([]*Config{first, foreign}, "snowflake", false)
	if err != nil || !slices.Equal(found, []bool{true, true}) {
		t.Fatalf("Remove: %v %v", found, err)
	}
	// Headers mode is refused before any file is touched when one client
	// runs no header command.
	headers := Spec{Bin: "sfmcp-token", Profile: "prod", Mode: Headers, URL: "https://a/x"}
	var noHelper *NoHeaderHelperError
	if _, err := Add([]*Config{first, foreign}, "h", headers, false); !errors.As(err, &noHelper) || noHelper.Client.ID != "cursor" || first.Entry("h") != nil {
		t.Fatalf("headers for Cursor: %v", err)
	}
}

// Target picks user scope for every client (Claude Code included), or the
// scope given, or a named file for one client.
func TestTargetOpen(t *testing.T) {
	home, project := t.TempDir(), t.TempDir()
	e := Env{Home: home, GOOS: "linux"}
	for _, c := range []struct {
		target Target
		want   []string
		err    error
	}{
		{Target{}, []string{filepath.Join(home, ".claude.json")}, nil},
		{Target{Clients: []string{"claude-code", "cursor"}}, []string{filepath.Join(home, ".claude.json"), filepath.Join(home, ".cursor", "mcp.json")}, nil},
		{Target{Clients: []string{"claude-code", "cursor"}, Scope: Project}, []string{filepath.Join(project, ".mcp.json"), filepath.Join(project, ".cursor", "mcp.json")}, nil},
		{Target{Clients: []string{"claude-code", "cursor"}, Scope: User}, []string{filepath.Join(home, ".claude.json"), filepath.Join(home, ".cursor", "mcp.json")}, nil},
		{Target{Clients: []string{"cursor"}, Scope: Project}, []string{filepath.Join(project, ".cursor", "mcp.json")}, nil},
		{Target{Clients: []string{"codex"}, File: filepath.Join(project, "c.toml")}, []string{filepath.Join(project, "c.toml")}, nil},
		{Target{Clients: []string{"codex", "cursor"}, File: "x"}, nil, ErrOneClientFile},
		{Target{Clients: []string{"windsurf"}, Scope: Project}, nil, ErrNoScope},
	} {
		configs, err := c.target.Open(e, project)
		var paths []string
		for _, cfg := range configs {
			paths = append(paths, cfg.Path)
		}
		if !errors.Is(err, c.err) || !slices.Equal(paths, c.want) {
			t.Errorf("%+v: %q %v, want %q %v", c.target, paths, err, c.want, c.err)
		}
	}
	var unknown *UnknownClientError
	if _, err := (Target{Clients: []string{"emacs"}}).Open(e, project); !errors.As(err, &unknown) || unknown.ID != "emacs" {
		t.Errorf("unknown client: %v", err)
	}
}

// OpenAll reads each file once, in the scopes asked for; List reports
// sfmcp's entries and says when one runs another program.
func TestOpenAllAndList(t *testing.T) {
	home := t.TempDir()
	e := Env{Home: home, GOOS: "linux"}
	os.WriteFile(filepath.Join(home, ".claude.json"), []byte(`{"mcpServers": {
		"snowflake": {"type": "stdio", "command": "/elsewhere/sfmcp-token", "args": ["mcp-proxy", "--server", "D.S.M"]},
		"github": {"command": "npx"}}}`), 0o600)
	// The project directory is HOME: ~/.claude.json is not read twice.
	all := OpenAll(e, home, func(Scope) bool { return true })
	var listed []Listed
	for _, cfg := range all {
		listed = append(listed, cfg.List(cfg.Scope, false, "/usr/local/bin/sfmcp-token")...)
	}
	want := Listed{Client: "claude-code", Scope: User, File: filepath.Join(home, ".claude.json"), Name: "snowflake", Kind: "sfmcp proxy",
		Target: "profile (default) → D.S.M (runs /elsewhere/sfmcp-token, not /usr/local/bin/sfmcp-token)"}
	if len(listed) != 1 || listed[0] != want {
		t.Fatalf("listed %+v\nwant %+v", listed, want)
	}
	if got := all[0].List("", true, "/elsewhere/sfmcp-token"); len(got) != 2 || got[0].Target != "profile (default) → D.S.M" || got[1].Kind != "other" || got[1].Target != "npx" {
		t.Fatalf("every entry: %+v", got)
	}
	if users := OpenAll(e, t.TempDir(), func(s Scope) bool { return s == Project }); slices.ContainsFunc(users, func(c *Config) bool { return c.Scope == User }) {
		t.Fatal("a user file was opened for project scope")
	}
}

// The fast binary is written when it sits beside sfmcp-token-full; an
// entry runs this installation's program only by its absolute path.
func TestBinary(t *testing.T) {
	dir := t.TempDir()
	full := filepath.Join(dir, "sfmcp-token-full")
	if got := Binary(full); got != full {
		t.Errorf("alone: %s", got)
	}
	os.WriteFile(filepath.Join(dir, "sfmcp-token"), nil, 0o755)
	if got := Binary(full); got != filepath.Join(dir, "sfmcp-token") {
		t.Errorf("beside the fast one: %s", got)
	}
	for _, c := range []struct {
		command string
		want    bool
	}{
		{"/usr/bin/sfmcp-token", true},
		{"/usr/bin/../bin/sfmcp-token", true},
		{"/usr/bin/sfmcp-token-full", true},
		{"sfmcp-token", false},
		{"/tmp/sfmcp-token", false},
	} {
		if got := SameProgram(c.command, "/usr/bin/sfmcp-token"); got != c.want {
			t.Errorf("SameProgram(%s) = %v", c.command, got)
		}
	}
}

// A client is installed when its directory, its user file or its binary
// is there.
func TestInstalled(t *testing.T) {
	home := t.TempDir()
	e := EnvFrom(func(k string) string {
		return map[string]string{"HOME": home, "CODEX_HOME": filepath.Join(home, "codex")}[k]
	}, "linux")
	os.WriteFile(filepath.Join(home, ".claude.json"), []byte("{}"), 0o600)
	os.Mkdir(filepath.Join(home, "codex"), 0o700)
	onPath := func(b string) (string, error) {
		if b == "zeditor" {
			return "/usr/bin/zeditor", nil
		}
		return "", errors.New("not found")
	}
	var ids []string
	for _, c := range Installed(e, onPath) {
		ids = append(ids, c.ID)
	}
	if !slices.Equal(ids, []string{"claude-code", "codex", "zed"}) {
		t.Fatalf("installed: %v", ids)
	}
}

// openNamed writes content to a file of that name and opens it as id's.
func openNamed(t *testing.T, id, name, content string) *Config {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	os.WriteFile(path, []byte(content), 0o600)
	c, _ := Lookup(id)
	cfg, err := c.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
