package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sfmcp/sfmcp/internal/config"
	"github.com/sfmcp/sfmcp/internal/exitcode"
	"github.com/sfmcp/sfmcp/internal/mcpclients"
)

func newProfileRemoveCommand(e *Env) *cobra.Command {
	var force bool
	c := &cobra.Command{
		Use:   "remove NAME",
		Short: "Remove a profile and its keychain entries",
		Long: `Remove a profile and its keychain entries. A profile that sfmcp's entries
in MCP clients' files use (your user configuration and this directory's
project files, as mcp list finds them) is kept, and those entries are
listed, unless --force, which removes them too. Another program's entries
are never touched.`,
		Example:           "  sfmcp-token profile remove old\n  sfmcp-token profile remove old --force   # also remove the MCP client entries that use it",
		Args:              exactArgs(1),
		ValidArgsFunction: completeProfileArg(e),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runProfileRemove(cmd.Context(), e, args[0], force)
		},
	}
	c.Flags().BoolVar(&force, "force", false, "also remove sfmcp's MCP client entries that use the profile")
	return c
}

func runProfileRemove(ctx context.Context, e *Env, name string, force bool) error {
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	if cfg.FromSystem(name) {
		file, _ := cfg.Source("profiles." + name)
		return usagef("your organisation's profiles stay; sign out instead: sfmcp-token logout "+name, "profile %s comes from %s and cannot be removed here", name, file)
	}
	if _, ok := cfg.Profiles[name]; !ok {
		return fmt.Errorf("%w: %q", config.ErrNoProfile, name)
	}
	if err := removeProfileUses(e, name, force); err != nil {
		return err
	}
	cfg.Remove(name)
	if err := cfg.Save(); err != nil {
		return err
	}
	// Forget its secrets too; a keychain that cannot be reached now leaves
	// entries behind, which the user is told about.
	store, err := openStore(e, cfg)
	if err == nil {
		err = errors.Join(store.DeleteCredential(name), store.DeleteClientSecret(name))
	}
	notifyDaemon(ctx, e, name)
	fmt.Fprintf(e.Stdout, "Profile %s removed.\n", name)
	if err != nil {
		return withAdvice(fmt.Errorf("profile %s removed from the config, but its keychain entries could not be deleted: %w", name, err), exitcode.Unavailable, exitcode.KeychainAdvice())
	}
	return nil
}

// removeProfileUses lists sfmcp's entries in the MCP clients' files that
// use profile name and, with force, removes them (all or none, before the
// profile goes, so no entry is left pointing at nothing); without force,
// their existence refuses the removal.
func removeProfileUses(e *Env, name string, force bool) error {
	env := clientEnv(e)
	uses := mcpclients.Uses(env, ".", func(o mcpclients.Ours) bool { return o.Profile == name })
	if len(uses) == 0 {
		return nil
	}
	if !force {
		fmt.Fprintf(e.Stderr, "MCP client entries that use profile %s:\n", name)
		for _, u := range uses {
			fmt.Fprintf(e.Stderr, "  %s (%s)\n", mcpclients.Printable(u.Name), u.Where(env.Home))
		}
		return usagef("to remove them with the profile, run: "+commandWith(e, "--force"), "profile %s is used by %d MCP client entries; nothing was removed", name, len(uses))
	}
	changed, err := mcpclients.RemoveUses(uses)
	if err != nil {
		return mcpEditError(err, "", "fix the file by hand; nothing was removed")
	}
	for _, cfg := range changed {
		if err := cfg.Save(); err != nil {
			return fmt.Errorf("%s (%s): %w", cfg.Client.Name, cfg.Path, err)
		}
	}
	for _, u := range uses {
		fmt.Fprintf(e.Stdout, "Removed MCP server %q for %s from %s.\n", u.Name, u.Config.Client.Name, mcpclients.Printable(u.Config.Path))
	}
	return nil
}
