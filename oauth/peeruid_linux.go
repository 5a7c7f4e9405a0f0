package oauth

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// loopbackPeerUID finds the uid owning the other end of a loopback TCP
// connection in /proc/net/tcp{,6}: the socket whose local address is our
// peer's and whose remote address is ours. An IPv4 peer may hold an IPv6
// socket (a v4-mapped address), so both tables are searched.
func loopbackPeerUID(remote, local string) (int, bool) {
	r, err1 := netip.ParseAddrPort(remote)
	l, err2 := netip.ParseAddrPort(local)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	r, l = netip.AddrPortFrom(r.Addr().Unmap(), r.Port()), netip.AddrPortFrom(l.Addr().Unmap(), l.Port())
	if r.Addr().Is4() && l.Addr().Is4() {
		if uid, ok := findSocketOwner("/proc/net/tcp", procAddr(r, false), procAddr(l, false)); ok {
			return uid, true
		}
	}
	return findSocketOwner("/proc/net/tcp6", procAddr(r, true), procAddr(l, true))
}

func findSocketOwner(table, localAddr, remoteAddr string) (int, bool) {
	f, err := os.Open(table)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 8 || fields[1] != localAddr || fields[2] != remoteAddr {
			continue
		}
		uid, err := strconv.Atoi(fields[7])
		return uid, err == nil
	}
	return 0, false
}

// procAddr renders ip:port as /proc/net/tcp does: the address as 32-bit
// words read in the machine's byte order (little-endian here), in hex.
func procAddr(ap netip.AddrPort, six bool) string {
	var b []byte
	if six {
		v := ap.Addr().As16() // an IPv4 address becomes ::ffff:a.b.c.d
		b = v[:]
	} else {
		v := ap.Addr().As4()
		b = v[:]
	}
	var out strings.Builder
	for i := 0; i < len(b); i += 4 {
		fmt.Fprintf(&out, "%08X", binary.LittleEndian.Uint32(b[i:i+4]))
	}
	fmt.Fprintf(&out, ":%04X", ap.Port())
	return out.String()
}
