package cli

import (
	"bufio"
	"context"
	"io"
	"os"
	"sync"

	"golang.org/x/term"
)

// lineReader reads stdin one line at a time, on demand, for whoever asks
// next: a prompt, or a sign-in waiting for a pasted address. A read that a
// caller gave up on (the sign-in finished through the browser) stays in
// flight and its line goes to the next caller, so an answer typed for the
// next question is neither lost nor taken for a paste.
type lineReader struct {
	r       *bufio.Reader
	mu      sync.Mutex
	pending chan lineResult // non-nil while a read is in flight
}

type lineResult struct {
	line string
	err  error
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{r: bufio.NewReader(r)}
}

// next returns the next line (with its newline), or the context's error
// when it ends first.
func (l *lineReader) next(ctx context.Context) (string, error) {
	l.mu.Lock()
	if l.pending == nil {
		ch := make(chan lineResult, 1)
		l.pending = ch
		go func() {
			line, err := l.r.ReadString('\n')
			if line != "" {
				err = nil // a last line without a newline is still a line
			}
			ch <- lineResult{line, err}
		}()
	}
	ch := l.pending
	l.mu.Unlock()
	select {
	case res := <-ch:
		l.mu.Lock()
		l.pending = nil
		l.mu.Unlock()
		return res.line, res.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// readHidden reads a secret from the terminal without echo. If ctx ends
// first (Ctrl-C), the terminal gets its echo back before this returns.
func readHidden(ctx context.Context, f *os.File) ([]byte, error) {
	fd := int(f.Fd())
	state, err := term.GetState(fd)
	if err != nil {
		return nil, err
	}
	type result struct {
		secret []byte
		err    error
	}
	ch := make(chan result, 1)
	go func() {
		secret, err := term.ReadPassword(fd)
		ch <- result{secret, err}
	}()
	select {
	case r := <-ch:
		return r.secret, r.err
	case <-ctx.Done():
		_ = term.Restore(fd, state)
		return nil, ctx.Err()
	}
}
