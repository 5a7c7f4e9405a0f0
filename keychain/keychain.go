// Package keychain owns where sfmcp's secrets live: the OS keychain through
// go-keyring (macOS Keychain, Secret Service, Windows Credential Manager), or
// an explicitly chosen 0600 file. Every call is bounded by a timeout so a
// locked keychain with an unlock prompt nobody can see fails with advice
// instead of hanging, and every write is read back. It never logs, and its
// errors never contain a secret.
package keychain

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/sfmcp/sfmcp/internal/paths"
)

// Service is the keychain service name every sfmcp entry is stored under.
const Service = "sfmcp"

// Kinds of store.
const (
	KindOS   = "os"
	KindFile = "file"
)

var (
	// ErrNotFound means the entry does not exist.
	ErrNotFound = errors.New("not found in the credential store")
	// ErrUnavailable means the store cannot be used right now: no Secret
	// Service, a locked keychain, no D-Bus session, a timeout.
	ErrUnavailable = errors.New("credential store unavailable")
)

// backend is the raw get/set/delete of one store.
type backend interface {
	get(key string) (string, error)
	set(key, value string) error
	delete(key string) error
}

// Store is a credential store with timeouts, read-back and typed errors.
type Store struct {
	kind    string
	where   string
	b       backend
	timeout time.Duration
	lockDir string
}

// Options chooses and configures a store.
type Options struct {
	Kind    string        // KindOS (default) or KindFile
	FileDir string        // directory of the file store; required for KindFile
	Timeout time.Duration // per call; default 5 s
	// LockDir, if set, holds a lock file that serialises writes between
	// processes (two logins, a login and a daemon refresh), so a write and
	// its read-back are not interleaved with another writer's.
	LockDir string
	// SessionBus, where D-Bus carries the keychain (Linux and BSDs), is
	// the address of the user's session bus (paths.SessionBus); empty, or
	// an address paths.CheckedBus refuses, means there is none. Nil means
	// the environment's, checked the same way. go-keyring finds the bus through the process
	// environment and would otherwise autolaunch a private bus, which
	// outlives the command and holds no keychain.
	SessionBus *string
}

// Open returns the store chosen by opts. It does not touch the store yet.
func Open(opts Options) (*Store, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	switch opts.Kind {
	case "", KindOS:
		var b backend = osBackend{}
		bus := opts.SessionBus
		if bus == nil && runtime.GOOS != "darwin" && runtime.GOOS != "windows" {
			env := os.Getenv("DBUS_SESSION_BUS_ADDRESS")
			bus = &env
		}
		if bus != nil {
			// go-keyring dials whatever the environment names, so it
			// names only a bus that passes the check, as rebuilt by it.
			if addr, ok := paths.CheckedBus(*bus); !ok {
				b = noBus{}
			} else if os.Getenv("DBUS_SESSION_BUS_ADDRESS") != addr {
				os.Setenv("DBUS_SESSION_BUS_ADDRESS", addr)
			}
		}
		return &Store{kind: KindOS, where: "the OS keychain", b: b, timeout: opts.Timeout, lockDir: opts.LockDir}, nil
	case KindFile:
		if opts.FileDir == "" {
			return nil, errors.New("file credential store: no directory given")
		}
		fb := newFileBackend(opts.FileDir)
		return &Store{kind: KindFile, where: fb.path, b: fb, timeout: opts.Timeout, lockDir: opts.LockDir}, nil
	default:
		return nil, fmt.Errorf("unknown credential store %q: use \"os\" (the OS keychain) or \"file\"", opts.Kind)
	}
}

// Kind returns KindOS or KindFile.
func (s *Store) Kind() string { return s.kind }

// Where describes the store for people ("the OS keychain" or the file path).
func (s *Store) Where() string { return s.where }

// Get returns the value stored under key.
func (s *Store) Get(key string) (string, error) {
	var v string
	err := s.bounded("read", key, func() (err error) { v, err = s.b.get(key); return err })
	return v, err
}

// Set stores value under key and reads it back, so a store that accepts a
// write but keeps nothing is caught now, not at the next refresh.
func (s *Store) Set(key, value string) error {
	return s.locked(func() error { return s.setLocked(key, value) })
}

func (s *Store) setLocked(key, value string) error {
	if err := s.bounded("write", key, func() error { return s.b.set(key, value) }); err != nil {
		return err
	}
	got, err := s.Get(key)
	if err != nil {
		return fmt.Errorf("read back %q after writing: %w", key, err)
	}
	if got != value {
		return fmt.Errorf("%w: %s kept a different value for %q than was written", ErrUnavailable, s.where, key)
	}
	return nil
}

// Delete removes key. Deleting a missing key returns ErrNotFound.
func (s *Store) Delete(key string) error {
	return s.locked(func() error {
		return s.bounded("delete", key, func() error { return s.b.delete(key) })
	})
}

// locked runs op holding the store's write lock (when it has one), which
// serialises writers between processes: two logins, a logout, a daemon
// saving a rotated refresh token.
func (s *Store) locked(op func() error) error {
	if s.lockDir == "" {
		return op()
	}
	if err := os.MkdirAll(s.lockDir, 0o700); err != nil {
		return err
	}
	unlock, err := lockFile(filepath.Join(s.lockDir, "write.lock"))
	if err != nil {
		return fmt.Errorf("lock the credential store: %w", err)
	}
	defer unlock()
	return op()
}

// Probe proves the store can write, read back and delete an entry. Login
// runs it before the browser opens so a fresh sign-in is never lost to a
// keychain that cannot keep it.
func (s *Store) Probe() error {
	var nonce [8]byte
	_, _ = rand.Read(nonce[:])
	key := "probe." + hex.EncodeToString(nonce[:])
	if err := s.Set(key, "probe"); err != nil {
		return fmt.Errorf("%s cannot store credentials: %w", s.where, err)
	}
	if err := s.Delete(key); err != nil {
		return fmt.Errorf("%s cannot delete credentials: %w", s.where, err)
	}
	return nil
}

// bounded runs op with the store's timeout. A call that times out keeps
// running in its goroutine (go-keyring offers no cancellation); the caller
// gets ErrUnavailable.
func (s *Store) bounded(what, key string, op func() error) error {
	done := make(chan error, 1)
	go func() { done <- op() }()
	timer := time.NewTimer(s.timeout)
	defer timer.Stop()
	select {
	case err := <-done:
		return s.classify(what, key, err)
	case <-timer.C:
		return fmt.Errorf("%w: %s did not answer a %s within %s (is it locked, waiting for an unlock prompt?)", ErrUnavailable, s.where, what, s.timeout)
	}
}

func (s *Store) classify(what, key string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, keyring.ErrNotFound), errors.Is(err, ErrNotFound):
		return fmt.Errorf("%q: %w", key, ErrNotFound)
	case errors.Is(err, keyring.ErrSetDataTooBig):
		return fmt.Errorf("%s %q: the value is too large for %s", what, key, s.where)
	case errors.Is(err, errFileCorrupt):
		return fmt.Errorf("%s %q: %w", what, key, err)
	default:
		// go-keyring reports a missing D-Bus session, no Secret Service or a
		// refused unlock as plain errors; all of them mean "cannot use it now".
		return fmt.Errorf("%w: %s %q in %s: %v", ErrUnavailable, what, key, s.where, err)
	}
}

type osBackend struct{}

// noBus is the OS keychain of a process that has no session bus to reach
// the Secret Service on.
type noBus struct{}

var errNoBus = fmt.Errorf("%w: no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is unset or names no bus socket of yours, and there is none in /run/user/%d), so the Secret Service cannot be reached", ErrUnavailable, os.Getuid())

func (noBus) get(string) (string, error) { return "", errNoBus }
func (noBus) set(string, string) error   { return errNoBus }
func (noBus) delete(string) error        { return errNoBus }

func (osBackend) get(key string) (string, error) { return keyring.Get(Service, key) }
func (osBackend) set(key, value string) error    { return keyring.Set(Service, key, value) }
func (osBackend) delete(key string) error        { return keyring.Delete(Service, key) }
