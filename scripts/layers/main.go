// Command layers checks the import graph's layers: every package of this
// module imports only packages of lower layers, and sfmcp-token, the
// binary on every MCP connection, links only the hot path's packages. CI
// runs it: go run ./scripts/layers.
package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
)

const module = "github.com/sfmcp/sfmcp/"

// layer of each package, lowest first. A package may import only packages
// of a lower layer. A new package gets its place here.
var layer = map[string]int{
	// Leaves: no package of this module below them.
	"client/apitype": 0, "internal/version": 0, "internal/atomicfile": 0, "internal/paths": 0,
	"internal/safesocket": 0, "internal/proctree": 0, "internal/snowflake/ident": 0,
	"internal/mcpproxy": 0, "internal/snowflaketest": 0, "internal/shellword": 0,
	// What owns one thing on top of the leaves.
	"client": 1, "internal/exitcode": 1, "keychain": 1, "internal/config": 1, "internal/mcpjson": 1,
	"internal/snowflake": 1, "oauth": 1, "internal/expiry": 1,
	// Policy over those.
	"internal/errcode": 2, "internal/tokencmd": 2, "internal/patprofile": 2, "internal/mcpclients": 2,
	"internal/netconf": 2, "internal/service": 2, "internal/idp": 2,
	"internal/signin": 3, "internal/adminsetup": 3, "daemon": 3, "internal/patsetup": 3, "internal/doctor": 3, "internal/onboard": 3,
	// Above the daemon: what asks it for tokens on its own terms.
	"internal/mcpbridge": 4,
	// The CLI wires and presents.
	"internal/cli": 5,
	// Programs.
	"cmd/sfmcp-token": 6, "cmd/sfmcp-token-full": 6, "cmd/sfmcp-demo": 6, "cmd/sfmcp-standin": 6,
	"bench/benchenv": 6, "bench/bridge": 7, "bench/hotpath": 7, "bench/floor": 6, "bench/floorclient": 6,
	"bench/gohello": 6, "test/e2e": 6, "test/idptest": 6, "scripts/importgroups": 6, "scripts/layers": 6, "scripts/funclen": 6,
}

// hot is everything sfmcp-token may link of this module.
var hot = []string{"cmd/sfmcp-token", "internal/tokencmd", "client", "client/apitype", "internal/safesocket",
	"internal/paths", "internal/exitcode", "internal/version"}

// hotModules is what sfmcp-token may link from other modules.
var hotModules = []string{"golang.org/x/sys/unix"}

func main() {
	var problems []string
	for pkg, imports := range list("-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./...") {
		l, ok := layer[pkg]
		if !ok {
			problems = append(problems, pkg+": not in the layer table of scripts/layers")
			continue
		}
		for _, imp := range imports {
			if il, ok := layer[imp]; ok && il >= l {
				problems = append(problems, fmt.Sprintf("%s (layer %d) imports %s (layer %d)", pkg, l, imp, il))
			}
		}
	}
	for pkg := range list("-deps", "-f", "{{.ImportPath}}", "./cmd/sfmcp-token") {
		if !contains(hot, pkg) && !contains(hotModules, pkg) {
			problems = append(problems, "sfmcp-token links "+pkg)
		}
	}
	sort.Strings(problems)
	for _, p := range problems {
		fmt.Fprintln(os.Stderr, p)
	}
	if len(problems) > 0 {
		os.Exit(1)
	}
}

// list runs go list with args and returns each line's first field (this
// module's prefix cut) and the rest, this module's packages only.
func list(args ...string) map[string][]string {
	out, err := exec.Command("go", append([]string{"list"}, args...)...).Output()
	if err != nil {
		fmt.Fprintln(os.Stderr, "go list:", err)
		os.Exit(2)
	}
	pkgs := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		name := fields[0]
		if strings.HasPrefix(name, module) {
			name = strings.TrimPrefix(name, module)
		} else if !strings.Contains(name, ".") {
			continue // the standard library
		}
		var own []string
		for _, imp := range fields[1:] {
			if strings.HasPrefix(imp, module) {
				own = append(own, strings.TrimPrefix(imp, module))
			}
		}
		pkgs[name] = own
	}
	return pkgs
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
