package cli

import (
	"context"
	"errors"
	"io"
	"testing"
)

// A caller that gives up (a sign-in finished through the browser while
// waiting for a paste) leaves its read in flight; the line the user types
// next goes to the next caller (the next question), whole.
func TestLineReaderKeepsAnAbandonedRead(t *testing.T) {
	r, w := io.Pipe()
	lines := newLineReader(r)
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan error, 1)
	go func() {
		_, err := lines.next(ctx)
		got <- err
	}()
	cancel()
	if err := <-got; !errors.Is(err, context.Canceled) {
		t.Fatalf("abandoned read: %v", err)
	}
	go io.WriteString(w, "y\n")
	line, err := lines.next(context.Background())
	if err != nil || line != "y\n" {
		t.Fatalf("next question got %q, %v", line, err)
	}
	go w.Close()
	if _, err := lines.next(context.Background()); !errors.Is(err, io.EOF) {
		t.Fatalf("at the end: %v", err)
	}
}
