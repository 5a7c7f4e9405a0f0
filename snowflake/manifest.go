package snowflake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
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
// on another account, or removed. It never holds a secret.
type Manifest struct {
	Version     int            `json:"version"`
	AccountHost string         `json:"account_host"`
	Profile     string         `json:"profile"` // the PAT profile in the keychain
	Account     ServiceAccount `json:"service_account"`
	Resources   []Resource     `json:"resources"`
	PAT         PATRecord      `json:"pat"`

	path string
}

// Resource is one step and what became of it.
type Resource struct {
	Step
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

// NewManifest plans a setup on host (all resources planned).
func NewManifest(path, host, profile string, a ServiceAccount) *Manifest {
	m := &Manifest{Version: 1, AccountHost: host, Profile: profile, Account: a, path: path, PAT: PATRecord{Name: a.TokenName}}
	for _, s := range a.Steps() {
		m.Resources = append(m.Resources, Resource{Step: s, Status: Planned})
	}
	return m
}

// LoadManifest reads a manifest.
func LoadManifest(path string) (*Manifest, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the manifest: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("manifest %s is not valid JSON: %w", path, err)
	}
	if m.Version != 1 || len(m.Resources) == 0 {
		return nil, fmt.Errorf("manifest %s: unknown version or no resources", path)
	}
	if err := m.Account.Normalize(); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", path, err)
	}
	m.path = path
	return &m, nil
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
// manifest after each; it is also `resume`.
func (r *Runner) Create(ctx context.Context) error {
	m := r.Manifest
	if err := m.Save(); err != nil {
		return err
	}
	for i := range m.Resources {
		res := &m.Resources[i]
		if res.Status == Created {
			r.progress("✓ %s %s (already created)", res.Kind, res.Name)
			continue
		}
		if err := r.createStep(ctx, res); err != nil {
			return fmt.Errorf("%s %s: %w (the manifest %s records what was done; run: sfmcp-token pat resume --manifest %s)", res.Kind, res.Name, err, m.path, m.path)
		}
		res.Status, res.CreatedAt, res.RemovedAt = Created, r.now().UTC(), time.Time{}
		if err := m.Save(); err != nil {
			return err
		}
		r.progress("✓ %s %s", res.Kind, res.Name)
	}
	return nil
}

func (r *Runner) createStep(ctx context.Context, res *Resource) error {
	if res.ID != StepPAT {
		for _, sql := range res.Create {
			if _, err := r.API.Exec(ctx, sql); err != nil {
				return err
			}
		}
		return nil
	}
	out, err := r.API.Exec(ctx, res.Create[0])
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

// Remove undoes created steps in reverse order, tolerating what is already
// gone, and marks each removed.
func (r *Runner) Remove(ctx context.Context) error {
	m := r.Manifest
	for _, i := range slices.Backward(indexes(len(m.Resources))) {
		res := &m.Resources[i]
		if res.Status != Created {
			continue
		}
		for _, sql := range res.Remove {
			if _, err := r.API.Exec(ctx, sql); err != nil && !IsCode(err, "002003") {
				return fmt.Errorf("remove %s %s: %w", res.Kind, res.Name, err)
			}
		}
		res.Status, res.RemovedAt = Removed, r.now().UTC()
		if err := m.Save(); err != nil {
			return err
		}
		r.progress("✓ removed %s %s", res.Kind, res.Name)
	}
	return nil
}

func indexes(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}
