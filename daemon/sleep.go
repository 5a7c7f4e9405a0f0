package daemon

import (
	"context"
	"time"
)

// resumeGap is how much further the wall clock may move than the
// monotonic one between two looks before the machine is taken to have
// slept (NTP steps are far smaller).
const resumeGap = 30 * time.Second

// noticeResumeLocked compares the two clocks. After a sleep it refreshes
// every profile in use at once: their timers were frozen with the
// monotonic clock, and their tokens may have expired while asleep. Caller
// holds m.mu.
func (m *Manager) noticeResumeLocked(now time.Time) {
	elapsed := m.opts.Elapsed()
	slept := now.Sub(m.lastWall) - (elapsed - m.lastElapsed)
	m.lastWall, m.lastElapsed = now, elapsed
	if slept < resumeGap {
		return
	}
	m.opts.Log.Info("the machine slept; refreshing the tokens in use", "slept", slept.Round(time.Second).String())
	for name, e := range m.entries {
		if p, ok := m.cfg.Profiles[name]; ok && e.refreshAfterSleep(p, now, m.opts.IdleAfter+slept) && e.kick() {
			go m.refreshInBackground(p)
		}
	}
}

// Watch checks the wall clock every interval until ctx ends: it notices a
// resume from sleep even when no client asks, and starts the refreshes
// whose timers a sleep delayed.
func (m *Manager) Watch(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			m.checkDue()
		}
	}
}

// checkDue starts the background refresh of every profile in use whose
// token is due by the wall clock.
func (m *Manager) checkDue() {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	m.noticeResumeLocked(now)
	for name, e := range m.entries {
		if p, ok := m.cfg.Profiles[name]; ok && e.refreshDue(p, now, m.opts.IdleAfter) && e.kick() {
			go m.refreshInBackground(p)
		}
	}
}
