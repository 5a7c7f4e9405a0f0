package doctor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/sfmcp/sfmcp/client"
	"github.com/sfmcp/sfmcp/client/apitype"
	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/expiry"
	"github.com/sfmcp/sfmcp/keychain"
)

// The checks of this machine: the credential store, the daemon and its
// socket, and how long the stored sign-in lasts.

func (r *runner) checkStore(cfg *config.File) {
	store, err := r.o.OpenStore(cfg)
	if err == nil {
		err = store.Probe()
	}
	label := ""
	if store != nil {
		label = store.Where()
		if store.Kind() == keychain.KindFile {
			label = "the file store (chosen explicitly; not the OS keychain): " + label
		}
	}
	// Whatever failed, the store cannot be used: the keychain's advice.
	code := apitype.CodeKeychainUnavailable
	if r.add(Check{Name: "credential store reachable", OK: err == nil, Detail: label, Code: code, Advice: hint(code, r.profile.Name)}) {
		r.store = store
	}
}

func (r *runner) checkDaemon() {
	c, err := r.o.FindDaemon(r.ctx)
	if c == nil {
		r.add(Check{Name: "daemon running", Detail: err.Error(), Advice: "set HOME to your home directory"})
		return
	}
	var h apitype.Health
	if err == nil {
		h, err = c.Health(r.ctx)
	}
	if errors.Is(err, client.ErrNoDaemon) && r.o.Autostart {
		// Healthy: every client starts it on demand (the token check
		// does).
		r.add(Check{Name: "daemon", OK: true, Detail: "not running yet; it starts on demand (sfmcp-token service install starts it at login)"})
	} else {
		r.add(Check{Name: "daemon running", OK: err == nil, Detail: fmt.Sprintf("pid %d, socket %s", h.PID, c.Socket),
			Code: client.CodeOf(err), Advice: hint(client.CodeOf(err), "")})
	}
	r.checkSocket(c.Socket)
}

// checkSocket checks the modes of the socket and its directory, or of
// what exists of them: whether the daemon runs yet does not change how
// many checks doctor makes (setup reports that number).
func (r *runner) checkSocket(socket string) {
	dir := filepath.Dir(socket)
	dirMode, sockMode := permString(dir), permString(socket)
	detail, ok := "directory "+dirMode+", socket "+sockMode, dirMode == "0700" && sockMode == "0600"
	switch {
	case dirMode == "missing":
		detail, ok = "not made yet (the daemon makes its directory 0700 and the socket 0600)", true
	case sockMode == "missing":
		detail, ok = "directory "+dirMode+", no socket yet", dirMode == "0700"
	}
	r.add(Check{Name: "socket permissions", OK: ok, Detail: detail,
		Advice: "run: chmod 700 " + dir + " (the daemon refuses other users' connections either way)"})
}

func permString(path string) string {
	st, err := os.Stat(path)
	if err != nil {
		return "missing"
	}
	return fmt.Sprintf("%04o", st.Mode().Perm())
}

// checkExpiry says how long the stored sign-in (or PAT) lasts; with no
// usable store it says nothing (the store check failed already).
func (r *runner) checkExpiry() {
	if r.store == nil {
		return
	}
	name := r.profile.Name
	cred, err := r.store.Credential(name)
	if errors.Is(err, keychain.ErrNotFound) {
		code := apitype.CodeLoginRequired
		r.add(Check{Name: "signed in", Detail: "no stored sign-in", Code: code, Advice: hint(code, name)})
		return
	}
	if err != nil {
		return
	}
	if cred.SecretExpiresAt.IsZero() {
		r.add(Check{Name: "refresh token valid for 7+ days", OK: true, Detail: "expiry not reported by Snowflake (integration default: 90 days from sign-in)"})
		return
	}
	left := cred.SecretExpiresAt.Sub(r.o.Now())
	what, advice := "refresh token", "sign in again before it expires: "+loginCommand(name)
	if cred.Kind == keychain.CredentialPAT {
		what, advice = "programmatic access token", "rotate it: sfmcp-token pat rotate --user "+cred.User
	}
	r.add(Check{Name: what + " valid for 7+ days", OK: left >= 7*24*time.Hour, Detail: expiry.InWords(left) + " left", Advice: advice})
}
