package snowflake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/sfmcp/sfmcp/atomicfile"
)

// Resource states in a manifest.
const (
	Planned = "planned"
	Created = "created"
	Removed = "removed"
)

// Manifest records a service-account setup so it can be resumed, replayed
// on another account, or removed. It holds data only (names, kinds, states
// and times), never SQL and never a secret: every statement is generated
// again from Account, so a manifest from someone else's repository can at
// most name other objects, which the plan shows before anything runs.
type Manifest struct {
	Version     int            `json:"version"`
	AccountHost string         `json:"account_host"`
	Profile     string         `json:"profile"` // the PAT profile in the keychain
	Account     ServiceAccount `json:"service_account"`
	Resources   []Resource     `json:"resources"`
	PAT         PATRecord      `json:"pat"`

	path       string
	ignoredSQL bool
}

// Resource is one step's record: which step, what it names and what
// became of it. Kind and Name are for people; they must match what the
// step generates from the account.
type Resource struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	Name      string    `json:"name"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	RemovedAt time.Time `json:"removed_at,omitzero"`
}

// PATRecord is the token's metadata (never its secret).
type PATRecord struct {
	Name      string     `json:"name"`
	ExpiresAt time.Time  `json:"expires_at,omitzero"`
	Rotations []Rotation `json:"rotations,omitempty"`
}

// Rotation is one `pat rotate`.
type Rotation struct {
	At                  time.Time `json:"at"`
	ExpireOldAfterHours int       `json:"expire_old_after_hours"`
}

// NewManifest plans a setup on host (all resources planned). Normalize a
// first.
func NewManifest(path, host, profile string, a ServiceAccount) *Manifest {
	m := &Manifest{Version: 1, AccountHost: host, Profile: profile, Account: a, path: path, PAT: PATRecord{Name: a.TokenName}}
	for _, s := range a.Steps() {
		m.Resources = append(m.Resources, Resource{ID: s.ID, Kind: s.Kind, Name: s.Name, Status: Planned})
	}
	return m
}

// LoadManifest reads a manifest and validates it as strictly as pat create
// validates its flags. SQL stored by older versions ("sql", "undo_sql") is
// never read.
func LoadManifest(path string) (*Manifest, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the manifest: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("manifest %s is not valid JSON: %w", path, err)
	}
	if err := m.validate(); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", path, err)
	}
	var old struct {
		Resources []struct {
			SQL     json.RawMessage `json:"sql"`
			UndoSQL json.RawMessage `json:"undo_sql"`
		} `json:"resources"`
	}
	if json.Unmarshal(data, &old) == nil {
		for _, r := range old.Resources {
			m.ignoredSQL = m.ignoredSQL || r.SQL != nil || r.UndoSQL != nil
		}
	}
	m.path = path
	return &m, nil
}

// IgnoredStoredSQL reports whether the file carried SQL (written by an
// older sfmcp, or planted), which was ignored.
func (m *Manifest) IgnoredStoredSQL() bool { return m.ignoredSQL }

// validate checks every field and that the resources are exactly the
// steps the account generates, in order.
func (m *Manifest) validate() error {
	if m.Version != 1 {
		return fmt.Errorf("unknown version %d (this sfmcp reads version 1)", m.Version)
	}
	if !validHost(m.AccountHost) {
		return fmt.Errorf("account_host %q is not a host name", m.AccountHost)
	}
	if m.Profile == "" {
		return errors.New("no profile")
	}
	if err := m.Account.Normalize(); err != nil {
		if fe := (*FieldError)(nil); errors.As(err, &fe) {
			return fmt.Errorf("service_account.%w", err)
		}
		return fmt.Errorf("service_account: %w", err)
	}
	steps := m.Account.Steps()
	if len(m.Resources) != len(steps) {
		return fmt.Errorf("%d resources, expected the %d steps of a setup: the manifest was edited or is damaged", len(m.Resources), len(steps))
	}
	for i, s := range steps {
		r := &m.Resources[i]
		if r.ID != s.ID {
			return fmt.Errorf("resource %d is %q, expected %q: the manifest was edited or is damaged", i+1, r.ID, s.ID)
		}
		if r.Kind == "" && r.Name == "" {
			r.Kind, r.Name = s.Kind, s.Name
		}
		if r.Kind != s.Kind || r.Name != s.Name {
			return fmt.Errorf("resource %s names %q %q, but the service account gives %s %q: the manifest was edited", s.ID, r.Kind, r.Name, s.Kind, s.Name)
		}
		switch r.Status {
		case Planned, Created, Removed:
		default:
			return fmt.Errorf("resource %s has status %q (expected %s, %s or %s)", s.ID, r.Status, Planned, Created, Removed)
		}
	}
	if m.PAT.Name == "" {
		m.PAT.Name = m.Account.TokenName
	}
	if m.PAT.Name != m.Account.TokenName {
		return fmt.Errorf("pat.name %q is not service_account.token_name %q: the manifest was edited", m.PAT.Name, m.Account.TokenName)
	}
	return nil
}

// validHost accepts a host as sfmcp writes it (host, host:port or
// [IPv6]:port): letters, digits and . - _ : [ ] only.
func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(".-_:[]", c) >= 0) {
			return false
		}
	}
	return true
}

// steps are the manifest's steps, generated from its account; the
// resources are in the same order (validate checks it).
func (m *Manifest) steps() []Step { return m.Account.Steps() }

// CreatePlan is what Create (and resume) runs: the steps not created yet,
// in order.
func (m *Manifest) CreatePlan() []Step {
	var out []Step
	for i, s := range m.steps() {
		if m.Resources[i].Status != Created {
			out = append(out, s)
		}
	}
	return out
}

// RemovePlan is what Remove runs: the created steps, in reverse order.
func (m *Manifest) RemovePlan() []Step {
	var out []Step
	steps := m.steps()
	for i := len(steps) - 1; i >= 0; i-- {
		if m.Resources[i].Status == Created {
			out = append(out, steps[i])
		}
	}
	return out
}

// Path is where the manifest is written.
func (m *Manifest) Path() string { return m.path }

// Save writes the manifest atomically (a crash leaves the last true record).
func (m *Manifest) Save() error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(m.path, append(data, '\n'), 0o600)
}

// Executor runs one SQL statement (snowflake.Client does).
type Executor interface {
	Exec(ctx context.Context, statement string) (*Result, error)
}

// Runner carries out a manifest's plan.
type Runner struct {
	API      Executor
	Manifest *Manifest
	// StoreSecret keeps a new PAT secret (the keychain); it runs before the
	// step is marked created.
	StoreSecret func(secret string, expires time.Time) error
	// Progress reports each step for people.
	Progress func(what string)
	Now      func() time.Time
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Runner) progress(format string, args ...any) {
	if r.Progress != nil {
		r.Progress(fmt.Sprintf(format, args...))
	}
}

// Create runs every step that is not created yet, in order, saving the
// manifest after each; it is also `resume`. The statements are the
// account's, generated now (CreatePlan shows them beforehand).
func (r *Runner) Create(ctx context.Context) error {
	m := r.Manifest
	if err := m.validate(); err != nil {
		return err
	}
	if err := m.Save(); err != nil {
		return err
	}
	for i, step := range m.steps() {
		res := &m.Resources[i]
		if res.Status == Created {
			r.progress("✓ %s %s (already created)", step.Kind, step.Name)
			continue
		}
		if err := r.createStep(ctx, step); err != nil {
			return fmt.Errorf("%s %s: %w (the manifest %s records what was done; run: sfmcp-token pat resume --manifest %s)", step.Kind, step.Name, err, m.path, m.path)
		}
		res.Status, res.CreatedAt, res.RemovedAt = Created, r.now().UTC(), time.Time{}
		if err := m.Save(); err != nil {
			return err
		}
		r.progress("✓ %s %s", step.Kind, step.Name)
	}
	return nil
}

func (r *Runner) createStep(ctx context.Context, step Step) error {
	if step.ID != StepPAT {
		for _, sql := range step.Create {
			if _, err := r.API.Exec(ctx, sql); err != nil {
				return err
			}
		}
		return nil
	}
	out, err := r.API.Exec(ctx, step.Create[0])
	if IsCode(err, "002002") {
		// Added before a crash, secret lost: rotate for a new one at once.
		out, err = r.API.Exec(ctx, r.Manifest.Account.RotateSQL(0))
	}
	if err != nil {
		return err
	}
	return r.keepSecret(out)
}

func (r *Runner) keepSecret(out *Result) error {
	secret, ok := out.Column(0, "token_secret")
	if !ok || secret == "" {
		return errors.New("Snowflake returned no token_secret")
	}
	expires := r.now().Add(time.Duration(r.Manifest.Account.Days) * 24 * time.Hour).UTC()
	if err := r.StoreSecret(secret, expires); err != nil {
		return fmt.Errorf("store the PAT: %w", err)
	}
	r.Manifest.PAT.ExpiresAt = expires
	return nil
}

// Rotate replaces the PAT's secret; the old one stays valid for hours.
func (r *Runner) Rotate(ctx context.Context, hours int) error {
	if err := r.Manifest.validate(); err != nil {
		return err
	}
	out, err := r.API.Exec(ctx, r.Manifest.Account.RotateSQL(hours))
	if err != nil {
		return err
	}
	if err := r.keepSecret(out); err != nil {
		return err
	}
	r.Manifest.PAT.Rotations = append(r.Manifest.PAT.Rotations, Rotation{At: r.now().UTC(), ExpireOldAfterHours: hours})
	return r.Manifest.Save()
}

// Remove undoes created steps in reverse order (RemovePlan), tolerating
// what is already gone, and marks each removed.
func (r *Runner) Remove(ctx context.Context) error {
	m := r.Manifest
	if err := m.validate(); err != nil {
		return err
	}
	steps := m.steps()
	for i := len(steps) - 1; i >= 0; i-- {
		res, step := &m.Resources[i], steps[i]
		if res.Status != Created {
			continue
		}
		for _, sql := range step.Remove {
			if _, err := r.API.Exec(ctx, sql); err != nil && !IsCode(err, "002003") {
				return fmt.Errorf("remove %s %s: %w", step.Kind, step.Name, err)
			}
		}
		res.Status, res.RemovedAt = Removed, r.now().UTC()
		if err := m.Save(); err != nil {
			return err
		}
		r.progress("✓ removed %s %s", step.Kind, step.Name)
	}
	return nil
}
