package cli

import (
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// docsDate is the date the man pages carry. It is fixed so that the
// committed pages are reproducible; it changes when the commands do.
var docsDate = time.Date(2026, time.November, 23, 0, 0, 0, 0, time.UTC)

// WriteDocs writes the command reference generated from the command tree:
// Markdown pages into dir/cli and man pages into dir/man.
func WriteDocs(dir string) error {
	root := NewCommand(&Env{})
	root.DisableAutoGenTag = true   // no generation date in the pages
	root.InitDefaultCompletionCmd() // cobra adds it when a command line runs
	md, man := filepath.Join(dir, "cli"), filepath.Join(dir, "man")
	for _, d := range []string{md, man} {
		if err := os.RemoveAll(d); err != nil {
			return err
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := doc.GenMarkdownTree(root, md); err != nil {
		return err
	}
	return doc.GenManTree(root, &doc.GenManHeader{Section: "1", Source: "sfmcp", Manual: "sfmcp manual", Date: &docsDate}, man)
}

// visible lists a command and its subcommands that show in help.
func visible(c *cobra.Command) []*cobra.Command {
	out := []*cobra.Command{c}
	for _, sub := range c.Commands() {
		if sub.IsAvailableCommand() {
			out = append(out, visible(sub)...)
		}
	}
	return out
}
