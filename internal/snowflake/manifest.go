package snowflake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/sfmcp/sfmcp/internal/atomicfile"
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

// maxManifest bounds a manifest: a few resources of short fields.
const maxManifest = 1 << 20

// LoadManifest reads a manifest and validates it as strictly as pat create
// validates its flags. SQL stored by older versions ("sql", "undo_sql") is
// never read.
func LoadManifest(path string) (*Manifest, error) {
	// A manifest may sit in a cloned project: a bounded read of a regular
	// file, never through a link.
	data, err := atomicfile.ReadFile(path, maxManifest, false)
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

// CreatePlan is the steps Create (and resume) runs: those not created yet,
// in order. CreateStatements is the whole plan as it runs.
func (m *Manifest) CreatePlan() []Step {
	var out []Step
	for i, s := range m.steps() {
		if m.Resources[i].Status != Created {
			out = append(out, s)
		}
	}
	return out
}

// RemovePlan is the steps Remove runs: the created steps, in reverse order.
// RemoveStatements is the whole plan as it runs.
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

// CreateStatements is every statement Create runs, in order: when the
// manifest records the user as created (and anything is left to do),
// first the check that it is a service user sfmcp created; then the
// steps'.
func (m *Manifest) CreateStatements() []Statement {
	plan := m.CreatePlan()
	var out []Statement
	if m.userCreated() && len(plan) > 0 {
		out = append(out, m.checkUserStatement())
	}
	return append(out, StepStatements(plan, false)...)
}

// RemoveStatements is every statement Remove runs, in order: the check
// that the user is a service user sfmcp created (or gone), then the
// steps' removal.
func (m *Manifest) RemoveStatements() []Statement {
	plan := m.RemovePlan()
	var out []Statement
	if len(plan) > 0 {
		out = append(out, m.checkUserStatement())
	}
	return append(out, StepStatements(plan, true)...)
}

// RotateStatements is every statement Rotate runs.
func (m *Manifest) RotateStatements(hours int) []Statement {
	return []Statement{m.checkUserStatement(), {What: "PROGRAMMATIC ACCESS TOKEN " + m.PAT.Name, SQL: m.Account.RotateSQL(hours)}}
}

func (m *Manifest) checkUserStatement() Statement {
	return Statement{What: "check that USER " + m.Account.UserName() + " is a service user sfmcp created (nothing runs otherwise)", SQL: m.Account.DescribeUserSQL()}
}

func (m *Manifest) userCreated() bool {
	for _, r := range m.Resources {
		if r.ID == StepUser {
			return r.Status == Created
		}
	}
	return false
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

// UserError is a service user that sfmcp will not change: it existed
// before this setup tried to create it, it is not a service user sfmcp
// created, or it is gone although the manifest records it created.
// Nothing was changed when it is returned.
type UserError struct {
	User    string
	Problem string
	Missing bool  // the user does not exist
	Err     error // Snowflake's answer, when it refused a statement
}

func (e *UserError) Error() string {
	s := "user " + e.User + " " + e.Problem
	if e.Err != nil {
		s += " (" + e.Err.Error() + ")"
	}
	return s + "; nothing was changed"
}

func (e *UserError) Unwrap() error { return e.Err }

// checkUser makes sure the service user is one sfmcp created (TYPE =
// SERVICE, ServiceComment) before a manifest's plan alters or drops it: a
// manifest may claim any user as created. exists is false when the user
// is not there (or the admin role may not see it).
func (r *Runner) checkUser(ctx context.Context) (exists bool, err error) {
	a := r.Manifest.Account
	res, err := r.API.Exec(ctx, a.DescribeUserSQL())
	if IsCode(err, "002003") {
		return false, nil
	}
	var se *Error
	if errors.As(err, &se) && se.Status == http.StatusUnprocessableEntity {
		// A statement error other than "does not exist": this endpoint
		// cannot describe users. The check is a second guard after the
		// confirmed plan, so say so and go on rather than block removal.
		r.progress("! could not check that user %s is sfmcp's service user (%v); the plan shown is what runs", a.UserName(), err)
		return true, nil
	}
	if err != nil {
		return false, err
	}
	typ, typOK := describeValue(res, "TYPE")
	comment, commentOK := describeValue(res, "COMMENT")
	if !typOK && !commentOK {
		r.progress("! DESCRIBE USER %s showed neither TYPE nor COMMENT, so sfmcp cannot check it is its service user; the plan shown is what runs", a.UserName())
		return true, nil
	}
	if !strings.EqualFold(typ, "SERVICE") || comment != ServiceComment {
		return true, &UserError{User: a.UserName(), Problem: fmt.Sprintf("is not a service user sfmcp created (TYPE = %s, COMMENT = %s)", shown(typ, typOK), shown(comment, commentOK))}
	}
	return true, nil
}

// describeValue reads a property's value from DESCRIBE output, whose
// value column is property_value (older accounts: value).
func describeValue(res *Result, property string) (string, bool) {
	for i := range res.Rows {
		if p, _ := res.Column(i, "property"); strings.EqualFold(p, property) {
			if v, ok := res.Column(i, "property_value"); ok {
				return v, true
			}
			return res.Column(i, "value")
		}
	}
	return "", false
}

func shown(v string, ok bool) string {
	if !ok || v == "" || strings.EqualFold(v, "null") {
		return "none"
	}
	return fmt.Sprintf("%q", v)
}

// alreadyExists reports Snowflake's "Object '…' already exists."
func alreadyExists(err error) bool {
	var e *Error
	return errors.As(err, &e) && (e.Code == "002002" || e.SQLState == "42710")
}

// Create runs every step that is not created yet, in order, saving the
// manifest after each; it is also `resume`. The statements are the
// account's, generated now (CreateStatements shows them beforehand). It
// refuses what CheckCreate refuses, and never changes a user it did not
// create: the user step has no IF NOT EXISTS, and a user the manifest
// records as created is checked first.
func (r *Runner) Create(ctx context.Context) error {
	m := r.Manifest
	if err := m.validate(); err != nil {
		return err
	}
	if err := m.Account.CheckCreate(); err != nil {
		return err
	}
	if err := m.Save(); err != nil {
		return err
	}
	if m.userCreated() && len(m.CreatePlan()) > 0 {
		exists, err := r.checkUser(ctx)
		if err != nil {
			return err
		}
		if !exists {
			return &UserError{User: m.Account.UserName(), Missing: true, Problem: "does not exist, although the manifest records it as created"}
		}
	}
	for i, step := range m.steps() {
		res := &m.Resources[i]
		if res.Status == Created {
			r.progress("✓ %s %s (already created)", step.Kind, step.Name)
			continue
		}
		if err := r.createStep(ctx, step); err != nil {
			if ue := (*UserError)(nil); errors.As(err, &ue) {
				return err
			}
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
	if step.ID == StepUser {
		_, err := r.API.Exec(ctx, step.Create[0])
		if alreadyExists(err) {
			return &UserError{User: r.Manifest.Account.UserName(), Problem: "already exists, and this setup did not create it", Err: err}
		}
		return err
	}
	sqls := step.Create
	if step.ID == StepPAT {
		sqls = sqls[:len(sqls)-1]
	}
	for _, sql := range sqls {
		if _, err := r.API.Exec(ctx, sql); err != nil {
			return err
		}
	}
	if step.ID != StepPAT {
		return nil
	}
	out, err := r.API.Exec(ctx, step.Create[len(step.Create)-1])
	if alreadyExists(err) {
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
		return errors.New("the answer from Snowflake has no token_secret")
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
	exists, err := r.checkUser(ctx)
	if err != nil {
		return err
	}
	if !exists {
		return &UserError{User: r.Manifest.Account.UserName(), Missing: true, Problem: "does not exist"}
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

// Remove undoes created steps in reverse order (RemoveStatements),
// tolerating what is already gone, and marks each removed. It never
// alters or drops a user sfmcp did not create, whatever the manifest
// records.
func (r *Runner) Remove(ctx context.Context) error {
	m := r.Manifest
	if err := m.validate(); err != nil {
		return err
	}
	if len(m.RemovePlan()) > 0 {
		if _, err := r.checkUser(ctx); err != nil {
			return err
		}
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
