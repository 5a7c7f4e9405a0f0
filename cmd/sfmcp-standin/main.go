// Command sfmcp-standin runs the Snowflake stand-in the tests use, on its
// own, so contributors can try the installed binaries without Snowflake.
// It serves OAuth (sign-ins approved at once as the stand-in's user), the
// MCP server DB.PUBLIC.GONG_MCP and the SQL API over TLS on 127.0.0.1,
// writes its CA certificate to a file, and prints the commands to point
// sfmcp-token at it. It runs until interrupted.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/sfmcp/sfmcp/internal/snowflaketest"
)

func main() {
	dir := flag.String("dir", "", "where to write the CA certificate (default: a new temporary directory)")
	flag.Parse()
	if err := run(*dir); err != nil {
		fmt.Fprintln(os.Stderr, "sfmcp-standin:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "sfmcp-standin-"); err != nil {
			return err
		}
	}
	sf := snowflaketest.New(snowflaketest.Options{AutoApprove: snowflaketest.DefaultUser, ExtraTokenFields: true})
	defer sf.Close()
	ca := filepath.Join(dir, "standin-ca.pem")
	if err := sf.WriteCA(ca); err != nil {
		return err
	}
	fmt.Printf(`Snowflake stand-in at %[1]s (sign-ins approved at once as %[3]s; MCP server DB.PUBLIC.GONG_MCP)
host: %[2]s
ca_file: %[4]s

Try the installed binaries against it, in another terminal (a throwaway HOME keeps your own config and keychain out of it):
  export HOME="$(mktemp -d)" && mkdir -p "$HOME/.config/sfmcp"
  printf 'ca_file = "%%s"\nkeyring = "file"\n' '%[4]s' > "$HOME/.config/sfmcp/config.toml"
  sfmcp-token setup --profile standin --account standin-org --host %[2]s --role %[5]s --server DB.PUBLIC.GONG_MCP --no-browser --yes
      # open the http://127.0.0.1:…/sfmcp/start URL it prints; a browser warns about the stand-in's
      # certificate, curl does not: curl -sSL --cacert '%[4]s' 'http://127.0.0.1:…/sfmcp/start'
      # setup adds the profile, signs in, adds the MCP server to Claude Code (user scope) and runs doctor
  sfmcp-token headers --profile standin
  sfmcp-token doctor standin

Stop it with Ctrl-C.
`, sf.URL, sf.Host(), snowflaketest.DefaultUser, ca, snowflaketest.DefaultRole)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	return nil
}
