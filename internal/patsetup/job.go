package patsetup

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/patprofile"
	"github.com/sfmcp/sfmcp/internal/snowflake"
	"github.com/sfmcp/sfmcp/keychain"
)

// Job carries out the pat commands' plans as one admin: it checks that
// the manifest's profile is free or the manifest's own, has a person
// approve the plan, runs it (snowflake.Runner), and keeps the PAT profile
// in step with what Snowflake holds (patprofile).
type Job struct {
	Admin  Admin
	HTTP   *http.Client
	Config *config.File
	// OpenStore opens the credential store, once nothing else stands in
	// the way.
	OpenStore func() (*keychain.Store, error)
	// Record adds the network settings the PAT is used over to its
	// credential.
	Record func(*keychain.Credential) error
	// Approve shows a person the plan; an error stops the job before
	// anything runs.
	Approve func(Plan) error
	// Progress reports each step for people.
	Progress func(string)
	// Changed runs after the PAT profile changed (a running daemon
	// reloads it).
	Changed func(ctx context.Context, profile string)

	store *keychain.Store
}

// RunError is a plan that failed while it ran; the manifest records what
// was done.
type RunError struct{ Err error }

func (e *RunError) Error() string { return e.Err.Error() }
func (e *RunError) Unwrap() error { return e.Err }

// Create sets up the manifest's account (pat create: no plan to approve,
// the flags were the request). It returns the PAT's secret.
func (j *Job) Create(ctx context.Context, m *snowflake.Manifest) (string, error) {
	if _, err := j.check(m, false); err != nil {
		return "", err
	}
	return j.create(ctx, m)
}

// Replay sets up the manifest (a replayed one, see Replay) once its plan
// is approved. It returns the PAT's secret.
func (j *Job) Replay(ctx context.Context, m *snowflake.Manifest) (string, error) {
	return j.approveCreate(ctx, m, false)
}

// Resume finishes the manifest's setup on its own account once the plan
// is approved.
func (j *Job) Resume(ctx context.Context, m *snowflake.Manifest) error {
	_, err := j.approveCreate(ctx, m, true)
	return err
}

func (j *Job) approveCreate(ctx context.Context, m *snowflake.Manifest, sameHost bool) (string, error) {
	state, err := j.check(m, sameHost)
	if err != nil {
		return "", err
	}
	if err := j.Approve(Plan{Manifest: m, Statements: m.CreateStatements(), Admin: j.Admin.Name, Then: Keeping(m, state)}); err != nil {
		return "", err
	}
	return j.create(ctx, m)
}

func (j *Job) create(ctx context.Context, m *snowflake.Manifest) (string, error) {
	var secret string
	r := &snowflake.Runner{API: j.api(m), Manifest: m, Progress: j.Progress, StoreSecret: j.keep(ctx, m, &secret)}
	if err := r.Create(ctx); err != nil {
		return "", &RunError{err}
	}
	return secret, nil
}

// Rotate replaces the PAT's secret once the plan is approved; the old
// one stays valid for hours. It returns the new secret.
func (j *Job) Rotate(ctx context.Context, m *snowflake.Manifest, hours int) (string, error) {
	state, err := j.check(m, true)
	if err != nil {
		return "", err
	}
	if err := j.Approve(Plan{Manifest: m, Statements: m.RotateStatements(hours), Admin: j.Admin.Name, Then: Keeping(m, state)}); err != nil {
		return "", err
	}
	var secret string
	r := &snowflake.Runner{API: j.api(m), Manifest: m, StoreSecret: j.keep(ctx, m, &secret)}
	if err := r.Rotate(ctx, hours); err != nil {
		return "", &RunError{err}
	}
	return secret, nil
}

// ProfileError is a failure to remove the PAT profile after everything
// in Snowflake was removed.
type ProfileError struct{ Err error }

func (e *ProfileError) Error() string { return e.Err.Error() }
func (e *ProfileError) Unwrap() error { return e.Err }

// Remove drops everything the manifest created, in reverse order, once
// the plan is approved; then the PAT profile, when it is the manifest's
// own. It reports whether there was such a profile (also when removing it
// failed: a *ProfileError).
func (j *Job) Remove(ctx context.Context, m *snowflake.Manifest) (bool, error) {
	state, err := j.check(m, true)
	if err != nil {
		return false, err
	}
	if err := j.Approve(Plan{Manifest: m, Statements: m.RemoveStatements(), Admin: j.Admin.Name, Then: Removing(m, state, j.store.Where())}); err != nil {
		return false, err
	}
	r := &snowflake.Runner{API: j.api(m), Manifest: m, Progress: j.Progress}
	if err := r.Remove(ctx); err != nil {
		return false, &RunError{err}
	}
	if state != patprofile.Ours {
		return false, nil
	}
	err = patprofile.Remove(j.Config, j.store, m)
	j.changed(ctx, m.Profile)
	if err != nil {
		return true, &ProfileError{err}
	}
	return true, nil
}

// check refuses (with sameHost) an admin of another account, then opens
// the store and refuses a profile that is not the manifest's to change.
func (j *Job) check(m *snowflake.Manifest, sameHost bool) (patprofile.State, error) {
	if sameHost {
		if err := CheckHost(m, j.Admin.Host()); err != nil {
			return 0, err
		}
	}
	store, err := j.OpenStore()
	if err != nil {
		return 0, err
	}
	j.store = store
	return patprofile.Check(j.Config, store, m)
}

// Where names the credential store the PAT profile is kept in (once the
// job opened it).
func (j *Job) Where() string { return j.store.Where() }

func (j *Job) api(m *snowflake.Manifest) *snowflake.Client {
	return j.Admin.Client(j.HTTP, m.Account.AdminRoleName())
}

// keep stores a new secret as the manifest's PAT profile (and in *secret
// for the caller), on the admin's account.
func (j *Job) keep(ctx context.Context, m *snowflake.Manifest, secret *string) func(string, time.Time) error {
	return func(s string, expires time.Time) error {
		*secret = s
		record := j.Record
		if record == nil {
			record = func(*keychain.Credential) error { return nil }
		}
		if err := patprofile.Keep(j.Config, j.store, m, j.Admin.Profile, s, expires, record); err != nil {
			return err
		}
		j.changed(ctx, m.Profile)
		return nil
	}
}

func (j *Job) changed(ctx context.Context, profile string) {
	if j.Changed != nil {
		j.Changed(ctx, profile)
	}
}

// ResumePlan is what pat resume would run, for --dry-run; it refuses what
// Resume refuses before asking for an admin.
func ResumePlan(m *snowflake.Manifest) (Plan, error) {
	if err := CheckManifest(m); err != nil {
		return Plan{}, err
	}
	if err := CheckResume(m); err != nil {
		return Plan{}, err
	}
	return Plan{Manifest: m, Statements: m.CreateStatements(), Admin: "the admin profile"}, nil
}

// RefusedError is a manifest asking for what sfmcp never sets up (a
// privileged role for the PAT, an allow-ip open to the internet).
type RefusedError struct {
	Path string
	Err  error // the snowflake.FieldError
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("manifest %s: service_account.%v; nothing was run", e.Path, e.Err)
}
func (e *RefusedError) Unwrap() error { return e.Err }

// CheckManifest refuses, before anything runs, a manifest asking for what
// sfmcp never sets up. pat remove does not check it, to clean up.
func CheckManifest(m *snowflake.Manifest) error {
	if err := m.Account.CheckCreate(); err != nil {
		return &RefusedError{Path: m.Path(), Err: err}
	}
	return nil
}
