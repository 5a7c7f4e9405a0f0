package daemon

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// silentGrace is how long a new connection may stay silent before it may
// be shed to make room at the cap. sfmcp's clients send their request at
// once (a connection client.Connect made ahead of its request is used only
// within 100 ms); the grace is long enough that a loaded server that has not read a
// request yet does not mistake it for silence.
const silentGrace = 500 * time.Millisecond

// connLimit keeps the daemon's open connections under a cap, so a process
// that opens connections and leaves them idle or silent cannot use up the
// daemon's file descriptors and make `headers` hang. At the cap, the
// longest-idle keep-alive connection is closed to make room, else the
// longest-silent new one; if every connection is busy (a thousand callers
// waiting on one refresh), the next one waits for a slot.
type connLimit struct {
	max int

	mu     sync.Mutex
	freed  *sync.Cond // signalled when a connection closes
	conns  map[net.Conn]connInfo
	shed   int  // connections closed to stay under the cap
	closed bool // the server is shutting down: admit nothing more
}

type connInfo struct {
	state http.ConnState
	since time.Time // when it entered state
}

func newConnLimit(max int) *connLimit {
	l := &connLimit{max: max, conns: map[net.Conn]connInfo{}}
	l.freed = sync.NewCond(&l.mu)
	return l
}

// admit registers c, making room or waiting for it. It reports false once
// the server is shutting down.
func (l *connLimit) admit(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(l.conns) >= l.max && !l.closed {
		victim := l.victimLocked(time.Now())
		if victim == nil {
			// Wake when a connection closes, or when a silent one may have
			// outstayed its grace.
			wake := time.AfterFunc(silentGrace, l.freed.Broadcast)
			l.freed.Wait()
			wake.Stop()
			continue
		}
		victim.Close()
		delete(l.conns, victim)
		l.shed++
	}
	if l.closed {
		return false
	}
	l.conns[c] = connInfo{state: http.StateNew, since: time.Now()}
	return true
}

// close makes a waiting and every later admit give up, so a shutdown is
// not held by an accept loop waiting for a slot.
func (l *connLimit) close() {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	l.freed.Broadcast()
}

// victimLocked picks the connection to shed: the longest idle, else the
// longest silent past the grace, else none.
func (l *connLimit) victimLocked(now time.Time) net.Conn {
	var idle, silent net.Conn
	var idleSince, silentSince time.Time
	for c, in := range l.conns {
		switch {
		case in.state == http.StateIdle && (idle == nil || in.since.Before(idleSince)):
			idle, idleSince = c, in.since
		case in.state == http.StateNew && now.Sub(in.since) >= silentGrace && (silent == nil || in.since.Before(silentSince)):
			silent, silentSince = c, in.since
		}
	}
	if idle != nil {
		return idle
	}
	return silent
}

// track is the http.Server's ConnState hook.
func (l *connLimit) track(c net.Conn, s http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch s {
	case http.StateClosed, http.StateHijacked:
		delete(l.conns, c)
		l.freed.Signal()
	case http.StateNew:
		// admit registered it
	default:
		if _, ok := l.conns[c]; ok {
			l.conns[c] = connInfo{state: s, since: time.Now()}
		}
	}
}

// counts reports open connections and those shed so far.
func (l *connLimit) counts() (open, shed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns), l.shed
}
