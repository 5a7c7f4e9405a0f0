package signin

import (
	"net/url"
	"strings"

	"github.com/sfmcp/sfmcp/internal/config"
)

// grantedRole is the role Snowflake reports in scope, else the requested one.
func grantedRole(scope string, p config.Profile) string {
	for _, s := range strings.Fields(scope) {
		if r, ok := scopeRoleName(s); ok {
			return r
		}
	}
	r, _ := scopeRoleName(config.RoleScope(p.Role))
	return r
}

// scopeRoleName reads the role of a session:role: or session:role-encoded:
// scope.
func scopeRoleName(scope string) (string, bool) {
	if r, ok := strings.CutPrefix(scope, "session:role:"); ok {
		return r, true
	}
	if r, ok := strings.CutPrefix(scope, "session:role-encoded:"); ok {
		d, err := url.PathUnescape(r)
		return d, err == nil
	}
	return "", false
}
