package daemon

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// connLimit keeps the daemon's open connections under a cap, so a process
// that opens keep-alive connections and leaves them idle cannot use up the
// daemon's file descriptors and make `headers` hang. At the cap, the
// longest-idle connection is closed to make room; if none is idle (a
// thousand callers waiting on one refresh), the next connection waits for
// a slot: active ones end within the server's timeouts.
type connLimit struct {
	max int

	mu    sync.Mutex
	freed *sync.Cond // signalled when a connection closes
	open  map[net.Conn]bool
	idle  map[net.Conn]time.Time
	shed  int // connections closed to stay under the cap
}

func newConnLimit(max int) *connLimit {
	l := &connLimit{max: max, open: map[net.Conn]bool{}, idle: map[net.Conn]time.Time{}}
	l.freed = sync.NewCond(&l.mu)
	return l
}

// admit registers c, making room or waiting for it.
func (l *connLimit) admit(c net.Conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(l.open) >= l.max {
		var oldest net.Conn
		var since time.Time
		for ic, t := range l.idle {
			if oldest == nil || t.Before(since) {
				oldest, since = ic, t
			}
		}
		if oldest == nil {
			l.freed.Wait()
			continue
		}
		oldest.Close()
		delete(l.open, oldest)
		delete(l.idle, oldest)
		l.shed++
	}
	l.open[c] = true
}

// track is the http.Server's ConnState hook.
func (l *connLimit) track(c net.Conn, s http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch s {
	case http.StateIdle:
		if l.open[c] {
			l.idle[c] = time.Now()
		}
	case http.StateActive:
		delete(l.idle, c)
	case http.StateClosed, http.StateHijacked:
		delete(l.open, c)
		delete(l.idle, c)
		l.freed.Signal()
	}
}

// counts reports open connections and those shed so far.
func (l *connLimit) counts() (open, shed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.open), l.shed
}
