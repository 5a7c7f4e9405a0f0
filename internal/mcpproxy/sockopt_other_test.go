//go:build !linux

package mcpproxy

import (
	"net"
	"testing"
)

func checkUserTimeout(*testing.T, net.Conn) {} // Linux only
