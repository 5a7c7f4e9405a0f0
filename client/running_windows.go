package client

// RunningDaemon: the daemon does not run on Windows.
func RunningDaemon(lockPath string) (socket string, pid int, ok bool) { return "", 0, false }
