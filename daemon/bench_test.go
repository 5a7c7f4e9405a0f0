package daemon

import (
	"bufio"
	"fmt"
	"net"
	"testing"
)

// BenchmarkHeadersOverSocket measures the daemon's cost per cached token
// hand-out: parallel keep-alive connections, each sending /v1/headers.
func BenchmarkHeadersOverSocket(b *testing.B) {
	f := newFixture(&testing.T{}, nil, nil)
	socket, stop := f.serve()
	defer stop()
	f.token()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		c, err := net.Dial("unix", socket)
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		br := bufio.NewReader(c)
		req := []byte("GET /v1/headers?profile=prod HTTP/1.1\r\nHost: sfmcp\r\n\r\n")
		for pb.Next() {
			c.Write(req)
			if err := skipResponse(br); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func skipResponse(br *bufio.Reader) error {
	n := 0
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return err
		}
		if line == "\r\n" {
			break
		}
		var v int
		if _, err := fmtSscanf(line, &v); err == nil {
			n = v
		}
	}
	_, err := br.Discard(n)
	return err
}

func fmtSscanf(line string, v *int) (int, error) {
	return fmt.Sscanf(line, "Content-Length: %d\r\n", v)
}
