// Command floorclient is the floor for `sfmcp-token headers`: it only dials
// the daemon's socket, sends one request and prints the reply's body.
package main

import (
	"bytes"
	"io"
	"net"
	"os"
)

func main() {
	c, err := net.Dial("unix", os.Getenv("SFMCP_SOCKET"))
	if err != nil {
		os.Exit(4)
	}
	c.Write([]byte("GET /v1/headers HTTP/1.1\r\nHost: sfmcp\r\nConnection: close\r\n\r\n"))
	b, _ := io.ReadAll(c)
	if i := bytes.Index(b, []byte("\r\n\r\n")); i >= 0 {
		os.Stdout.Write(b[i+4:])
	}
}
