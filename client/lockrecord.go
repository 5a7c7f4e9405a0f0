package client

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// The daemon's single-instance lock file (userpaths.Paths.Lock) holds its
// pid and the socket it listens on, one per line, so a client that looked
// for the socket elsewhere (a different XDG_RUNTIME_DIR or SFMCP_SOCKET)
// still finds the one daemon of its user.

// maxLockRecord bounds what is read from a lock file.
const maxLockRecord = 4 << 10

// FormatLockRecord is the content of the lock file of daemon pid.
func FormatLockRecord(pid int, socket string) []byte {
	return []byte(strconv.Itoa(pid) + "\n" + socket + "\n")
}

// ParseLockRecord reads a lock file's content. An empty one (being
// written) or one from an older version (the pid alone) has no socket.
func ParseLockRecord(b []byte) (pid int, socket string, err error) {
	if len(b) > maxLockRecord {
		return 0, "", fmt.Errorf("the lock file is too large to be sfmcp's")
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) == 1 && lines[0] == "" {
		return 0, "", nil
	}
	if pid, err = strconv.Atoi(lines[0]); err != nil || pid <= 0 || len(lines) > 2 {
		return 0, "", fmt.Errorf("the lock file holds something other than a pid and a socket path")
	}
	if len(lines) == 2 {
		socket = lines[1]
		if !filepath.IsAbs(socket) {
			return 0, "", fmt.Errorf("the lock file names a relative socket path")
		}
	}
	return pid, socket, nil
}
