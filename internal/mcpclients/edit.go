package mcpclients

import (
	"encoding/json"
	"fmt"
	"reflect"
)

// Change is what setting an entry does to a file.
type Change int

const (
	Unchanged Change = iota // the entry already reads so: nothing to write
	Added                   // there was none of that name
	Updated                 // sfmcp's entry, written again
	Replaced                // another program's, replaced whole (Force)
)

// EditError is an edit a file refused; no file was changed.
type EditError struct {
	Config *Config
	Err    error // a *NotOursError, or why the file cannot be edited so
}

func (e *EditError) Error() string {
	return fmt.Sprintf("%s (%s): %v", e.Config.Client.Name, e.Config.Path, e.Err)
}

func (e *EditError) Unwrap() error { return e.Err }

// NoHeaderHelperError: headers mode for a client that runs no command
// for its HTTP headers, so a token it was given once would expire
// mid-session.
type NoHeaderHelperError struct{ Client Client }

func (e *NoHeaderHelperError) Error() string {
	return e.Client.Name + " runs no command for HTTP headers, so a token it was given once would expire mid-session"
}

// Put sets name to s (see Set) and says what that changed.
func (cfg *Config) Put(name string, s Spec) (Change, error) {
	before := cfg.Entry(name)
	if err := cfg.Set(name, s); err != nil {
		return Unchanged, err
	}
	after := cfg.Entry(name)
	_, ours := ParseEntry(before).Ours()
	switch {
	case before == nil:
		return Added, nil
	case sameJSON(before, after):
		return Unchanged, nil
	case !ours:
		return Replaced, nil
	}
	return Updated, nil
}

// sameJSON reports whether a and b are the same JSON value: an entry that
// reads the same is left as it is, whatever its formatting.
func sameJSON(a, b json.RawMessage) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}

// Add puts s as name into every file, in memory: each file is checked
// and edited before any is written, so a command changes all or none
// (an *EditError or *NoHeaderHelperError). Save the files whose change
// is not Unchanged.
func Add(configs []*Config, name string, s Spec, force bool) ([]Change, error) {
	if s.Mode == Headers {
		for _, cfg := range configs {
			if !cfg.Client.HasHeaderHelper() {
				return nil, &NoHeaderHelperError{Client: cfg.Client}
			}
		}
	}
	changes := make([]Change, len(configs))
	for i, cfg := range configs {
		cfg.Force = force
		change, err := cfg.Put(name, s)
		if err != nil {
			return nil, &EditError{Config: cfg, Err: err}
		}
		changes[i] = change
	}
	return changes, nil
}

// Remove deletes name from every file, in memory and all or none, as Add
// does; found says which files had it. Save those.
func Remove(configs []*Config, name string, force bool) (found []bool, err error) {
	found = make([]bool, len(configs))
	for i, cfg := range configs {
		cfg.Force = force
		if found[i], err = cfg.Remove(name); err != nil {
			return nil, &EditError{Config: cfg, Err: err}
		}
	}
	return found, nil
}
