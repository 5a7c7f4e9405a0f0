// Command sfmcp-token is what MCP clients run. `headers` and `token` are
// answered here, by package tokencmd, which links nothing but the daemon
// client so this binary starts fast; every other command is handed to
// sfmcp-token-full.
package main

import (
	"context"
	"os"

	"github.com/sfmcp/sfmcp/client"
	"github.com/sfmcp/sfmcp/internal/tokencmd"
)

func main() {
	os.Exit(tokencmd.Main(context.Background(), tokencmd.Env{
		Getenv: os.Getenv, Stdout: os.Stdout, Stderr: os.Stderr,
		FindDaemonExe: client.FullBinary, // runs `daemon` if one must be started
	}, os.Args[1:]))
}
