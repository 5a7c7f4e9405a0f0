package mcpclients

import (
	"strconv"
	"unicode"
)

// Listed is one entry of a client's file, as mcp list reports it; its
// JSON is what mcp list --json prints.
type Listed struct {
	Client  string `json:"client"`
	Scope   Scope  `json:"scope,omitempty"`
	File    string `json:"file"`
	Name    string `json:"name"`
	Kind    string `json:"kind"` // "sfmcp proxy", "sfmcp headers" or "other"
	Profile string `json:"profile,omitempty"`
	Target  string `json:"target"`
}

// List reads the file's entries: all of them, or only sfmcp's. scope is
// reported with each ("" for none). bin is this installation's
// sfmcp-token ("" when unknown): the name alone proves nothing, so a
// bridge entry that runs another program says so. A file that cannot be
// read lists nothing.
func (cfg *Config) List(scope Scope, all bool, bin string) []Listed {
	names, entries, err := cfg.Entries()
	if err != nil {
		return nil
	}
	var out []Listed
	for _, n := range names {
		entry := ParseEntry(entries[n])
		l := Listed{Client: cfg.Client.ID, Scope: scope, File: cfg.Path, Name: n, Kind: "other", Target: entry.Describe()}
		if ours, ok := entry.Ours(); ok {
			l.Kind, l.Profile = "sfmcp "+string(ours.Mode), ours.Profile
			l.Target = "profile " + orNone(ours.Profile) + " → " + ours.URL + ours.Server
			if ours.Mode == Proxy && !SameProgram(entry.Command, bin) {
				l.Target += " (runs " + entry.Command + ", not " + bin + ")"
			}
		} else if !all {
			continue
		}
		out = append(out, l)
	}
	return out
}

// orNone names an empty profile for people.
func orNone(profile string) string {
	if profile == "" {
		return "(default)"
	}
	return profile
}

// Searched is one file List read: whose, of which scope ("" for a file
// the user named) and where, so that an empty listing can say what it
// looked at.
type Searched struct {
	Client string // the client's name, for people
	Scope  Scope
	File   string
}

// List reports the entries t chooses. With clients or a file named, that
// is every entry of those files, sfmcp's or not, with no scope given;
// without, it is sfmcp's entries in every client's files (of t.Scope, or
// both scopes), each file read once. bin is as for Config.List.
func List(e Env, project string, t Target, bin string) ([]Listed, error) {
	listed, _, err := Search(e, project, t, bin)
	return listed, err
}

// Search is List, also returning the files it read.
func Search(e Env, project string, t Target, bin string) ([]Listed, []Searched, error) {
	var configs []*Config
	all := len(t.Clients) > 0 || t.File != ""
	if all {
		var err error
		if configs, err = t.Open(e, project); err != nil {
			return nil, nil, err
		}
	} else {
		keep := func(s Scope) bool { return t.Scope == "" || s == t.Scope }
		configs = OpenAll(e, project, keep)
	}
	var listed []Listed
	searched := make([]Searched, 0, len(configs))
	for _, cfg := range configs {
		scope := cfg.Scope
		if all {
			scope = "" // every entry of the files named, as the user named them
		}
		listed = append(listed, cfg.List(scope, all, bin)...)
		searched = append(searched, Searched{Client: cfg.Client.Name, Scope: cfg.Scope, File: cfg.Path})
	}
	return listed, searched, nil
}

// Printable quotes s when it holds anything a terminal would act on
// (control characters, bidirectional overrides). A project's file is
// anyone's: nothing read from one reaches a terminal unescaped.
func Printable(s string) string {
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return strconv.Quote(s)
		}
	}
	return s
}
