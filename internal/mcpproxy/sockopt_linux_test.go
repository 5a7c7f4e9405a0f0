package mcpproxy

import (
	"net"
	"testing"

	"golang.org/x/sys/unix"
)

// checkUserTimeout checks that the kernel drops c if its data goes
// unacknowledged for userTimeout.
func checkUserTimeout(t *testing.T, c net.Conn) {
	rc, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var got int
	var gerr error
	if err := rc.Control(func(fd uintptr) {
		got, gerr = unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT)
	}); err != nil || gerr != nil {
		t.Fatal(err, gerr)
	}
	if got != int(userTimeout.Milliseconds()) {
		t.Errorf("TCP_USER_TIMEOUT = %d ms, want %d", got, userTimeout.Milliseconds())
	}
}
