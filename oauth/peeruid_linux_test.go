package oauth

import (
	"net"
	"os"
	"testing"
)

func TestLoopbackPeerUIDFindsOurOwnSocket(t *testing.T) {
	for _, network := range []string{"tcp4", "tcp6"} {
		addr := "127.0.0.1:0"
		if network == "tcp6" {
			addr = "[::1]:0"
		}
		ln, err := net.Listen(network, addr)
		if err != nil {
			t.Logf("%s: %v", network, err)
			continue
		}
		defer ln.Close()
		c, err := net.Dial(network, ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		uid, ok := loopbackPeerUID(s.RemoteAddr().String(), s.LocalAddr().String())
		if !ok || uid != os.Getuid() {
			t.Fatalf("%s: peer uid %d, %v; want %d", network, uid, ok, os.Getuid())
		}
		if _, ok := loopbackPeerUID("127.0.0.1:1", s.LocalAddr().String()); ok {
			t.Fatalf("%s: a connection that does not exist was found", network)
		}
	}
}
