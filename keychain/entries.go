package keychain

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Credential is what sfmcp keeps for one profile: a refresh token from a
// browser sign-in, or a PAT, plus the metadata status needs.
type Credential struct {
	// Secret is the refresh token (OAuth) or the token secret (PAT).
	Secret string `json:"secret"`
	Kind   string `json:"kind"` // "oauth" or "pat"
	Host   string `json:"host"`
	// ExtraHosts are the profile's extra_hosts when the user signed in:
	// where else, besides Host, its tokens may go. The config alone cannot
	// widen that (a project can point a client at another config).
	ExtraHosts []string `json:"extra_hosts,omitempty"`
	// The network the sign-in was made with (the config's ca_file, with a
	// digest of its content, and https_proxy): the daemon and the bridge
	// use these, not whatever config or environment they were started with.
	// NetworkRecorded tells a sign-in that recorded no ca_file or proxy
	// from one made before sfmcp recorded them.
	NetworkRecorded bool     `json:"network_recorded,omitempty"`
	CAFile          string   `json:"ca_file,omitempty"`
	CAFileSHA256    string   `json:"ca_file_sha256,omitempty"`
	HTTPSProxy      string   `json:"https_proxy,omitempty"`
	ClientID        string   `json:"client_id,omitempty"`
	User            string   `json:"user,omitempty"`
	Role            string   `json:"role,omitempty"`
	Scopes          []string `json:"scopes,omitempty"`
	// Issuer and TokenURL are the identity provider a sign-in was made at
	// and its token endpoint then (empty: Snowflake's own OAuth at Host).
	// The refresh token goes to that endpoint only, whatever the config
	// or the issuer's metadata say later.
	Issuer          string    `json:"issuer,omitempty"`
	TokenURL        string    `json:"token_url,omitempty"`
	ObtainedAt      time.Time `json:"obtained_at"`
	SecretExpiresAt time.Time `json:"secret_expires_at,omitzero"`
}

// Credential kinds.
const (
	CredentialOAuth = "oauth"
	CredentialPAT   = "pat"
)

// String never shows the secret, so a credential printed by mistake leaks
// nothing.
func (c Credential) String() string {
	return fmt.Sprintf("%s credential for %s@%s", c.Kind, c.User, c.Host)
}

// GoString keeps %#v from printing the secret too.
func (c Credential) GoString() string { return c.String() }

func credentialKey(profile string) string   { return profile }
func clientSecretKey(profile string) string { return profile + ":client-secret" }

// SaveCredential stores the profile's credential (read back before it returns).
func (s *Store) SaveCredential(profile string, c Credential) error {
	data, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return s.Set(credentialKey(profile), string(data))
}

// ReplaceCredential saves c only while the stored sign-in still holds
// oldSecret, and reports whether it did. The daemon saves a rotated
// single-use refresh token this way: it must not overwrite a newer sign-in,
// nor bring back one the user has logged out of, yet it must never drop the
// only live token because a reload happened meanwhile.
func (s *Store) ReplaceCredential(profile, oldSecret string, c Credential) (bool, error) {
	data, err := json.Marshal(c)
	if err != nil {
		return false, err
	}
	saved := false
	err = s.locked(func() error {
		cur, err := s.Credential(profile)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if cur.Secret != oldSecret {
			return nil
		}
		saved = true
		return s.setLocked(credentialKey(profile), string(data))
	})
	return saved && err == nil, err
}

// Credential loads the profile's credential.
func (s *Store) Credential(profile string) (Credential, error) {
	v, err := s.Get(credentialKey(profile))
	if err != nil {
		return Credential{}, err
	}
	var c Credential
	if err := json.Unmarshal([]byte(v), &c); err != nil || c.Secret == "" {
		return Credential{}, fmt.Errorf("the stored sign-in for profile %s is unreadable: %w", profile, ErrNotFound)
	}
	return c, nil
}

// DeleteCredential removes the profile's sign-in. A missing entry is not an
// error: the result is the same.
func (s *Store) DeleteCredential(profile string) error {
	return ignoreNotFound(s.Delete(credentialKey(profile)))
}

// SaveClientSecret stores a confidential client's secret for a profile,
// bound to the authorization server and client it was issued for
// (config.Profile.SecretBinding): ClientSecretFor gives it out for that one
// only, so a profile changed to sign in elsewhere never sends it there.
func (s *Store) SaveClientSecret(profile, secret, boundTo string) error {
	data, err := json.Marshal(boundSecret{BoundTo: boundTo, Secret: secret})
	if err != nil {
		return err
	}
	return s.Set(clientSecretKey(profile), string(data))
}

// ClientSecret returns the profile's stored client secret, wherever it is
// bound (to tell whether one is stored).
func (s *Store) ClientSecret(profile string) (string, error) {
	secret, _, err := s.clientSecret(profile)
	return secret, err
}

// ErrSecretElsewhere: the stored client secret was given for another
// authorization server or client than the one asked for.
var ErrSecretElsewhere = errors.New("the stored client secret was given for another sign-in server or client")

// ClientSecretFor returns the profile's client secret if it was stored for
// boundTo. A secret stored before secrets were bound counts as bound to
// legacy ("" = to nothing).
func (s *Store) ClientSecretFor(profile, boundTo, legacy string) (string, error) {
	secret, was, err := s.clientSecret(profile)
	if err != nil {
		return "", err
	}
	if was == "" {
		was = legacy
	}
	if was != boundTo {
		return "", ErrSecretElsewhere
	}
	return secret, nil
}

// boundSecret is how a client secret is stored: with what it is for.
type boundSecret struct {
	BoundTo string `json:"bound_to"`
	Secret  string `json:"secret"`
}

// clientSecret reads the profile's secret and what it is bound to ("" for
// one stored before secrets were bound: the secret alone).
func (s *Store) clientSecret(profile string) (secret, boundTo string, err error) {
	raw, err := s.Get(clientSecretKey(profile))
	if err != nil {
		return "", "", err
	}
	var b boundSecret
	if strings.HasPrefix(raw, "{") && json.Unmarshal([]byte(raw), &b) == nil && b.BoundTo != "" {
		return b.Secret, b.BoundTo, nil
	}
	return raw, "", nil
}

// DeleteClientSecret removes the profile's client secret, if any.
func (s *Store) DeleteClientSecret(profile string) error {
	return ignoreNotFound(s.Delete(clientSecretKey(profile)))
}

func ignoreNotFound(err error) error {
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}
