package doctor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sfmcp/sfmcp/client/apitype"
	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/idp"
	"github.com/sfmcp/sfmcp/internal/mcpclients"
	"github.com/sfmcp/sfmcp/internal/mcpjson"
)

// The checks of sfmcp's entries in MCP clients' files: that the profile
// each names exists, and that the servers of the checked profile answer.

// mcpEntry is one of sfmcp's entries: its name, its file, where that is
// for people ("" in the one file the user named) and what it runs.
type mcpEntry struct {
	name, file, where string
	ours              mcpclients.Ours
}

// label is the entry as a check names it. Names come from files anyone
// may have written: nothing of them reaches a terminal unescaped.
func (m mcpEntry) label() string {
	s := "MCP server " + mcpclients.Printable(m.name)
	if m.where != "" {
		s += " (" + m.where + ")"
	}
	return s
}

// mcpEntries lists sfmcp's entries in the file the user named or, with
// none named, in every client's files (user and project scope), and
// says where that was for people. ok is false when nothing is to be
// checked or the named file cannot be read (a failed check says so).
func (r *runner) mcpEntries() (entries []mcpEntry, where string, ok bool) {
	if path := r.o.MCPFile; path != "" {
		names, raw, err := loadEntries(path)
		if err != nil {
			r.add(Check{Name: "MCP configuration", Detail: err.Error(), Advice: "fix " + path})
			return nil, "", false
		}
		for _, n := range names {
			if ours, ok := mcpclients.ParseEntry(raw[n]).Ours(); ok {
				entries = append(entries, mcpEntry{name: n, file: path, ours: ours})
			}
		}
		return entries, path, true
	}
	if r.o.MCPClients == nil {
		return nil, "", false
	}
	for _, u := range mcpclients.Uses(*r.o.MCPClients, r.o.Project, nil) {
		entries = append(entries, mcpEntry{name: u.Name, file: mcpclients.Printable(u.Config.Path), where: u.Where(r.o.MCPClients.Home), ours: u.Ours})
	}
	return entries, "any MCP client's files", true
}

// checkMissingProfiles fails each entry that names a profile cfg does not
// have: its client's bridge would fail with "profile not found".
func (r *runner) checkMissingProfiles(cfg *config.File, entries []mcpEntry) {
	for _, m := range entries {
		name := m.ours.Profile
		if _, ok := cfg.Profiles[name]; ok || name == "" {
			continue
		}
		name = mcpclients.Printable(name)
		code := apitype.CodeUnknownProfile
		r.add(Check{Name: m.label() + " uses an existing profile", Detail: name, Code: code, Advice: hint(code, name)})
	}
}

// checkMCPServers runs initialize + tools/list on each entry's server
// that uses this profile, with the official Go SDK client; where names
// the files searched.
func (r *runner) checkMCPServers(entries []mcpEntry, where string) {
	checked := 0
	for _, m := range entries {
		if m.ours.Profile != r.profile.Name {
			continue
		}
		url, ok := r.serverURL(m.ours)
		if !ok {
			continue
		}
		checked++
		r.checkMCPServer(m, url)
	}
	if checked == 0 {
		r.add(Check{Name: "MCP servers configured", OK: true, Detail: "none in " + where + " use profile " + r.profile.Name})
	}
}

func (r *runner) checkMCPServer(m mcpEntry, url string) {
	// A cloned repo's file is not the user's word: probe only servers on
	// the profile's own host, and say which were skipped.
	if err := r.profile.CheckServerURL(url); err != nil {
		code := apitype.CodeHostMismatch
		r.add(Check{Name: m.label() + " skipped", Detail: err.Error(), Code: code,
			Advice: "no token goes there; if " + m.file + " came with a project, remove or fix that entry (" + hint(code, r.profile.Name) + ")"})
		return
	}
	tools, err := ListTools(r.ctx, url, r.o.Bridge(r.profile.Name, url))
	c := Check{Name: m.label() + " answers initialize + tools/list", OK: err == nil, Detail: fmt.Sprintf("%d tools", tools) + errSuffix(err)}
	c.Code, c.Advice = mcpServerAdvice(err, r.profile.Name)
	if c.Code == apitype.CodeLoginRequired {
		// Refused: the server may take its tokens from elsewhere now.
		if moved := r.binding(url); moved != nil {
			c.Code, c.Advice = "", moved.Error()+"; "+moved.Hint()
		}
	}
	r.add(c)
}

// binding is what the MCP server's metadata says after it refused the
// profile's token: that it takes its tokens from another authorization
// server now, or nil when that is not so or cannot be read.
func (r *runner) binding(url string) *idp.BindingChangedError {
	ctx, cancel := context.WithTimeout(r.ctx, 15*time.Second)
	defer cancel()
	var moved *idp.BindingChangedError
	if errors.As(idp.CheckBinding(ctx, r.httpClient(), r.profile, url, nil), &moved) {
		return moved
	}
	return nil
}

func loadEntries(path string) ([]string, map[string]json.RawMessage, error) {
	f, err := mcpjson.Load(path)
	if err != nil {
		return nil, nil, err
	}
	return f.Entries()
}

// serverURL is the MCP URL of an sfmcp entry on this profile's host.
func (r *runner) serverURL(ours mcpclients.Ours) (string, bool) {
	if ours.Mode == mcpclients.Headers {
		return ours.URL, true
	}
	u, err := config.MCPServerURL(r.ep, ours.Server)
	return u, err == nil
}
