package snowflaketest

import (
	"net/http"
	"time"
)

// Fault is what the token endpoint does instead of (or before) answering.
type Fault struct {
	Status int           // answer with this HTTP status and a Snowflake-shaped error body
	Body   string        // answer with this raw body (and Status, default 200) instead
	Delay  time.Duration // wait this long first, then answer normally (or with Status/Body)
	Hang   bool          // never answer; wait until the client gives up
	Drop   bool          // start a response and cut the connection mid-body
}

// InjectTokenFaults makes the next len(faults) token requests misbehave, in order.
func (s *Server) InjectTokenFaults(faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, faults...)
}

func (s *Server) nextFault() (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.faults) == 0 {
		return Fault{}, false
	}
	f := s.faults[0]
	s.faults = s.faults[1:]
	s.counters.InjectedFaults++
	return f, true
}

// apply performs the fault; it reports whether the request was answered.
func (f Fault) apply(w http.ResponseWriter, r *http.Request) bool {
	if f.Hang {
		<-r.Context().Done()
		return true
	}
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return true
		}
	}
	if f.Drop {
		if hj, ok := w.(http.Hijacker); ok {
			conn, buf, err := hj.Hijack()
			if err == nil {
				_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n{\"access_token\":\"")
				_ = buf.Flush()
				conn.Close()
			}
		}
		return true
	}
	if f.Body != "" {
		status := f.Status
		if status == 0 {
			status = http.StatusOK
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(f.Body))
		return true
	}
	if f.Status != 0 {
		writeTokenError(w, f.Status, "server_error", "Injected failure.")
		return true
	}
	return false
}
