// Package cli is the sfmcp-token command line: it parses flags, builds the
// pieces (config, keychain, oauth), calls them, and turns their errors into
// one or two lines of advice and a documented exit code. Decisions live in
// the packages it calls; this package talks to the human.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/sfmcp/sfmcp/internal/exitcode"
)

// Env is everything a command may touch outside the process. Tests and the
// demo build their own; Main's caller passes the real one.
type Env struct {
	Args   []string // without the program name
	Getenv func(string) string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// OpenBrowser opens a URL; nil means github.com/pkg/browser.
	OpenBrowser func(url string) error
	// HTTPClient talks to Snowflake; nil means system TLS roots and sane timeouts.
	HTTPClient *http.Client
	// networkFromConfigOnly: proxies come from the config, never from the
	// environment (the bridge's environment is an MCP client entry's).
	networkFromConfigOnly bool
	userHTTP              *http.Client // from the config (configureHTTP)
	// Environ is the environment an auto-started daemon inherits; nil
	// means os.Environ.
	Environ func() []string
}

// OSEnv returns the Env of the running process.
func OSEnv() Env {
	// The client secret is read once and taken out of the process's
	// environment, so no child (the browser opener, systemctl, a daemon)
	// inherits it.
	secret := os.Getenv("SFMCP_CLIENT_SECRET")
	os.Unsetenv("SFMCP_CLIENT_SECRET")
	getenv := func(k string) string {
		if k == "SFMCP_CLIENT_SECRET" {
			return secret
		}
		return os.Getenv(k)
	}
	return Env{Args: os.Args[1:], Getenv: getenv, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
}

type command struct {
	name  string
	usage string
	run   func(ctx context.Context, e *Env, args []string) error
	// longRunning commands stop cleanly on SIGINT/SIGTERM. The others
	// (headers above all) skip signal set-up and just die on a signal.
	longRunning bool
	// hot commands report their own errors (package tokencmd).
	hot func(ctx context.Context, e *Env, args []string) int
}

func commands() []command {
	return []command{
		{"admin", "admin setup --integration N --mcp-server DB.S.N --role R ...  SQL for administrators (--apply runs it)", runAdmin, false, nil},
		{"doctor", "doctor [--profile P] [--json]                    check everything, say what to fix", runDoctor, false, nil},
		{"headers", "headers [--profile P]                              print the headersHelper JSON for Claude Code", nil, false, runHot},
		{"token", "token [--profile P]                                print the bare access token", nil, false, runHot},
		{"mcp-proxy", "mcp-proxy --profile P --server DB.SCHEMA.NAME       stdio MCP bridge to a Snowflake MCP server", runMCPProxy, true, nil},
		{"mcp", "mcp add|remove|list NAME [--mode proxy|headers]   write MCP client configuration (.mcp.json)", runMCP, false, nil},
		{"pat", "pat create|verify|status|rotate|remove|replay|resume ...  service accounts with programmatic access tokens", runPAT, false, nil},
		{"service", "service install|uninstall|start|stop|restart|status  run the daemon as a per-user service", runService, false, nil},
		{"status", "status [--json]                                    profiles, tokens and the daemon", runStatus, false, nil},
		{"daemon", "daemon                                             run the token daemon in the foreground", runDaemon, true, nil},
		{"login", "login [--profile P] [--no-browser] [--timeout 5m]   sign in through the browser", runLogin, true, nil},
		{"logout", "logout [--profile P | --all]                      forget the sign-in", runLogout, false, nil},
		{"profile", "profile add|list|show|remove|default ...         manage profiles", runProfile, false, nil},
		{"version", "version                                            print the version", runVersion, false, nil},
	}
}

// Version is set at build time with -ldflags "-X github.com/sfmcp/sfmcp/internal/cli.Version=…".
var Version = "dev"

// Main runs one command and returns its exit code.
func Main(ctx context.Context, e Env) int {
	if e.Getenv == nil {
		e.Getenv = func(string) string { return "" }
	}
	if len(e.Args) == 0 || e.Args[0] == "help" || e.Args[0] == "-h" || e.Args[0] == "--help" {
		printUsage(e.Stderr)
		if len(e.Args) == 0 {
			return exitcode.Usage
		}
		return exitcode.OK
	}
	for _, c := range commands() {
		if c.name == e.Args[0] {
			if c.longRunning {
				var stop context.CancelFunc
				ctx, stop = signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
				defer stop()
			}
			if c.hot != nil {
				return c.hot(ctx, &e, e.Args)
			}
			return report(e.Stderr, c.run(ctx, &e, e.Args[1:]))
		}
	}
	fmt.Fprintf(e.Stderr, "sfmcp: unknown command %q\n", e.Args[0])
	printUsage(e.Stderr)
	return exitcode.Usage
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: sfmcp-token <command> [flags]")
	for _, c := range commands() {
		fmt.Fprintln(w, "  sfmcp-token "+c.usage)
	}
}

func runVersion(_ context.Context, e *Env, _ []string) error {
	fmt.Fprintln(e.Stdout, "sfmcp-token", Version)
	return nil
}

// newFlags returns a FlagSet that reports errors instead of exiting.
func newFlags(e *Env, name string) *flag.FlagSet {
	fs := flag.NewFlagSet("sfmcp-token "+name, flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	return fs
}

// parse parses flags, allowing one leading positional argument
// (`profile add prod --account …`); it returns the positionals.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var lead []string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		lead, args = args[:1], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, errHelp
		}
		return nil, usageError{err.Error(), ""}
	}
	return append(lead, fs.Args()...), nil
}

var errHelp = errors.New("help requested")

// usageError is a mistake on the command line or in the config: exit 2.
type usageError struct{ msg, hint string }

func (u usageError) Error() string { return u.msg }

func usagef(hint, format string, args ...any) error {
	return usageError{fmt.Sprintf(format, args...), hint}
}

// adviceError carries an exit code and a next step for an error.
type adviceError struct {
	err  error
	code int
	hint string
}

func (a *adviceError) Error() string { return a.err.Error() }
func (a *adviceError) Unwrap() error { return a.err }

func withAdvice(err error, code int, hint string) error {
	if err == nil {
		return nil
	}
	return &adviceError{err: err, code: code, hint: hint}
}

// report prints err as one or two lines and returns the exit code.
func report(w io.Writer, err error) int {
	if err == nil || errors.Is(err, errHelp) {
		return exitcode.OK
	}
	code, hint := classify(err)
	fmt.Fprintf(w, "sfmcp: %s\n", err)
	if hint != "" {
		fmt.Fprintf(w, "sfmcp: %s\n", hint)
	}
	return code
}
