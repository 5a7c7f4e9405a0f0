package keychain

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFileStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sfmcp")
	s, err := Open(Options{Kind: KindFile, FileDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	exerciseStore(t, s)
	st, err := os.Stat(FilePath(dir))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("credential file mode = %v, want 0600", st.Mode().Perm())
	}
	dst, _ := os.Stat(dir)
	if dst.Mode().Perm() != 0o700 {
		t.Errorf("credential dir mode = %v, want 0700", dst.Mode().Perm())
	}
}

func TestFileStoreRefusesLoosePermissions(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(Options{Kind: KindFile, FileDir: dir})
	if err := s.Set("k", "v"); err != nil {
		t.Fatal(err)
	}
	os.Chmod(FilePath(dir), 0o644)
	_, err := s.Get("k")
	if err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("Get on a 0644 file = %v, want advice to chmod", err)
	}
}

// exerciseStore runs the same checks on any store.
func exerciseStore(t *testing.T, s *Store) {
	t.Helper()
	const profile = "sfmcp-test-profile"
	t.Cleanup(func() { s.DeleteCredential(profile); s.DeleteClientSecret(profile) })
	if _, err := s.Credential(profile); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing credential: err = %v, want ErrNotFound", err)
	}
	if err := s.Probe(); err != nil {
		t.Fatalf("Probe: %v", err)
	}
	c := Credential{Secret: "rt-secret+/=value", Kind: CredentialOAuth, Host: "h", User: "ALICE", Role: "R",
		Scopes: []string{"refresh_token"}, ObtainedAt: time.Now().UTC().Truncate(time.Second)}
	if err := s.SaveCredential(profile, c); err != nil {
		t.Fatal(err)
	}
	got, err := s.Credential(profile)
	if err != nil {
		t.Fatal(err)
	}
	if got.Secret != c.Secret || got.User != "ALICE" || !got.ObtainedAt.Equal(c.ObtainedAt) {
		t.Fatalf("credential = %v / %q", got, got.Secret)
	}
	if strings.Contains(got.String(), c.Secret) || strings.Contains(strings.ReplaceAll(got.GoString(), " ", ""), c.Secret) {
		t.Fatal("Credential's String shows the secret")
	}
	// Compare-and-swap, as the daemon saves a rotated refresh token: only
	// over the token it used, never over a newer sign-in or a logout.
	rotated := c
	rotated.Secret = "rt-rotated"
	if saved, err := s.ReplaceCredential(profile, "rt-someone-elses", rotated); err != nil || saved {
		t.Fatalf("replace over another token: saved %v, %v", saved, err)
	}
	if got, _ := s.Credential(profile); got.Secret != c.Secret {
		t.Fatal("a replace over another token changed the store")
	}
	if saved, err := s.ReplaceCredential(profile, c.Secret, rotated); err != nil || !saved {
		t.Fatalf("replace over the token used: saved %v, %v", saved, err)
	}
	if got, _ := s.Credential(profile); got.Secret != rotated.Secret {
		t.Fatal("the rotated token was not stored")
	}
	// A client secret is given out only for what it was stored for.
	if err := s.SaveClientSecret(profile, "cs+/=", "https://acct.example CLIENT"); err != nil {
		t.Fatal(err)
	}
	if v, err := s.ClientSecret(profile); err != nil || v != "cs+/=" {
		t.Fatalf("client secret = %q, %v", v, err)
	}
	if v, err := s.ClientSecretFor(profile, "https://acct.example CLIENT", ""); err != nil || v != "cs+/=" {
		t.Fatalf("client secret for its server = %q, %v", v, err)
	}
	if v, err := s.ClientSecretFor(profile, "https://idp.example CLIENT", "https://idp.example CLIENT"); !errors.Is(err, ErrSecretElsewhere) || v != "" {
		t.Fatalf("client secret for another server = %q, %v", v, err)
	}
	// One stored before secrets were bound counts as bound to legacy.
	if err := s.Set(clientSecretKey(profile), "old+secret"); err != nil {
		t.Fatal(err)
	}
	if v, err := s.ClientSecretFor(profile, "https://acct.example CLIENT", "https://acct.example CLIENT"); err != nil || v != "old+secret" {
		t.Fatalf("a legacy secret for its profile = %q, %v", v, err)
	}
	if _, err := s.ClientSecretFor(profile, "https://idp.example CLIENT", ""); !errors.Is(err, ErrSecretElsewhere) {
		t.Fatalf("a legacy secret for an identity provider: %v", err)
	}
	if err := s.DeleteCredential(profile); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteCredential(profile); err != nil {
		t.Fatalf("deleting twice: %v", err)
	}
	if _, err := s.Credential(profile); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if saved, err := s.ReplaceCredential(profile, rotated.Secret, c); err != nil || saved {
		t.Fatalf("a replace after logout brought the sign-in back: saved %v, %v", saved, err)
	}
	if _, err := s.Credential(profile); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after a replace following logout: %v", err)
	}
	if v, err := s.ClientSecret(profile); err != nil || v != "old+secret" {
		t.Fatalf("client secret must survive deleting the sign-in: %q, %v", v, err)
	}
}

// hangingBackend never answers, like a Secret Service waiting on an unlock
// prompt nobody can see.
type hangingBackend struct{ release chan struct{} }

func (h hangingBackend) get(string) (string, error) { <-h.release; return "", nil }
func (h hangingBackend) set(string, string) error   { <-h.release; return nil }
func (h hangingBackend) delete(string) error        { <-h.release; return nil }

func TestTimeoutIsUnavailable(t *testing.T) {
	h := hangingBackend{release: make(chan struct{})}
	defer close(h.release)
	s := &Store{kind: KindOS, where: "the OS keychain", b: h, timeout: 50 * time.Millisecond}
	err := s.Probe()
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("Probe on a hanging store = %v, want ErrUnavailable mentioning a lock", err)
	}
}

// lossyBackend accepts writes but keeps nothing.
type lossyBackend struct{}

func (lossyBackend) get(string) (string, error) { return "", ErrNotFound }
func (lossyBackend) set(string, string) error   { return nil }
func (lossyBackend) delete(string) error        { return nil }

func TestWriteIsReadBack(t *testing.T) {
	s := &Store{kind: KindOS, where: "the OS keychain", b: lossyBackend{}, timeout: time.Second}
	if err := s.Set("k", "v"); err == nil {
		t.Fatal("a write that was not kept went unnoticed")
	}
}

func TestUnknownKind(t *testing.T) {
	if _, err := Open(Options{Kind: "plaintext"}); err == nil {
		t.Fatal("unknown store kind accepted")
	}
}
