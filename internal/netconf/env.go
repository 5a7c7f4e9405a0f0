package netconf

import (
	"fmt"
	"os"
)

// networkEnv names the variables that steer Snowflake connections from
// outside the config: proxies and extra TLS roots.
var networkEnv = []string{
	"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy",
	"SSL_CERT_FILE", "SSL_CERT_DIR",
}

// DropEnv removes those variables from this process before any connection
// is made (Go reads SSL_CERT_FILE lazily, once). The bridge runs with an
// environment an MCP client entry sets.
func DropEnv() error {
	for _, k := range networkEnv {
		if err := os.Unsetenv(k); err != nil {
			return fmt.Errorf("unset %s: %w", k, err)
		}
	}
	return nil
}
