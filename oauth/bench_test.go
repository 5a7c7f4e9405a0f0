package oauth

import (
	"context"
	"testing"
	"time"

	"github.com/sfmcp/sfmcp/internal/snowflaketest"
)

// BenchmarkLoginFlow measures one whole sign-in without the human: loopback
// listener, authorize redirect (auto-approved), callback, code exchange.
func BenchmarkLoginFlow(b *testing.B) {
	sf := snowflaketest.New(snowflaketest.Options{AutoApprove: "alice"})
	defer sf.Close()
	c := localClient(sf)
	for b.Loop() {
		l := &Login{Client: c, Timeout: 10 * time.Second, Open: func(u string) error { _, _, err := sf.Visit(u); return err }}
		if _, err := l.Run(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRefresh measures one refresh-token grant against the stand-in
// over TLS with connection reuse, the daemon's steady-state cost.
func BenchmarkRefresh(b *testing.B) {
	sf := snowflaketest.New(snowflaketest.Options{AutoApprove: "alice"})
	defer sf.Close()
	l := &Login{Client: localClient(sf), Timeout: 10 * time.Second, Open: func(u string) error { _, _, err := sf.Visit(u); return err }}
	tok, err := l.Run(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	c := localClient(sf)
	for b.Loop() {
		if _, err := c.Refresh(context.Background(), tok.RefreshToken); err != nil {
			b.Fatal(err)
		}
	}
}
