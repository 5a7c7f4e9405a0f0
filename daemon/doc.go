// Package daemon is sfmcp's per-user token daemon: it keeps each profile's
// access token fresh in memory and hands it out over a Unix socket that only
// its own user can use (HTTP/1.1, JSON, versioned paths). It never logs a
// token; each hand-out is audited with the peer's pid, uid and executable.
//
// It is sfmcp's daemon, not a library: its API takes sfmcp's internal types
// (config.Profile, keychain.Credential), and the full CLI wires it to the
// keychain, the config and the browser sign-in through Options. It must not
// import the CLI, nor talk to a person except through those callbacks.
//
// When a profile refreshes, and who may open a sign-in, is decided in one
// file, state.go; the token cache is token.go, refreshes are refresh.go,
// sign-ins the daemon opens are signin.go, the refusal a helper's re-run
// reveals is refusal.go, and sleeps are noticed in sleep.go.
package daemon
