package config

import "net/url"

// Select picks a profile: name when given; else the profile whose host
// matches serverURL's host (Claude Code passes the MCP server URL to a
// headersHelper); else the default profile. Several profiles on one host
// (different roles) resolve to the default one if it is among them, else
// the first by name.
func (f *File) Select(name, serverURL string) (Profile, error) {
	if name == "" {
		if p, ok := f.profileForURL(serverURL); ok {
			return p, nil
		}
	}
	return f.Profile(name)
}

func (f *File) profileForURL(raw string) (Profile, bool) {
	if raw == "" {
		return Profile{}, false
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return Profile{}, false
	}
	want, err := ParseHost(u.Scheme + "://" + u.Host)
	if err != nil {
		return Profile{}, false
	}
	var match []Profile
	for _, name := range f.Names() {
		p := f.Profiles[name]
		if ep, err := p.Endpoint(); err == nil && ep.Host == want.Host {
			match = append(match, p)
		}
	}
	for _, p := range match {
		if p.Name == f.DefaultProfile {
			return p, true
		}
	}
	if len(match) > 0 {
		return match[0], true
	}
	return Profile{}, false
}
