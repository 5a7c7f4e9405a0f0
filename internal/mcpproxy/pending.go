package mcpproxy

import (
	"context"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
)

// pending is the set of the client's calls that have not been answered
// yet, so that when the client's input ends (a pipe) the bridge can wait
// for their answers before it exits.
type pending struct {
	mu    sync.Mutex
	calls map[jsonrpc.ID]chan struct{}
}

// add records a call; the returned channel closes once it is settled.
func (p *pending) add(id jsonrpc.ID) <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.calls == nil {
		p.calls = map[jsonrpc.ID]chan struct{}{}
	}
	if ch, dup := p.calls[id]; dup {
		return ch // a client reusing an id gets one answer at most
	}
	ch := make(chan struct{})
	p.calls[id] = ch
	return ch
}

// settle forgets a call: it was answered, or no answer will come.
func (p *pending) settle(id jsonrpc.ID) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ch, ok := p.calls[id]; ok {
		close(ch)
		delete(p.calls, id)
	}
}

// any returns the channel of some unsettled call, or nil if none is left.
func (p *pending) any() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, ch := range p.calls {
		return ch
	}
	return nil
}

// wait returns once every call is settled, or when stop closes or ctx ends.
func (p *pending) wait(ctx context.Context, stop <-chan struct{}) {
	for ch := p.any(); ch != nil; ch = p.any() {
		select {
		case <-ch:
		case <-stop:
			return
		case <-ctx.Done():
			return
		}
	}
}
