package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// completionCommand is `privateguard completion bash|zsh|fish`: cobra's generators,
// which complete commands, flags, and the values of -o and --fail-on.
func completionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish",
		Short: "Print a shell completion script",
		Long: `Print the completion script of a shell to stdout.

  bash:  source <(privateguard completion bash)   (needs the bash-completion package)
  zsh:   privateguard completion zsh > "${fpath[1]}/_privateguard"
  fish:  privateguard completion fish > ~/.config/fish/completions/privateguard.fish`,
		ValidArgs: []string{"bash", "zsh", "fish"},
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError("give one shell: bash, zsh or fish")
			}
			return cobra.OnlyValidArgs(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			root, out := cmd.Root(), cmd.OutOrStdout()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(out, true)
			case "zsh":
				return root.GenZshCompletion(out)
			case "fish":
				return root.GenFishCompletion(out, true)
			}
			return usageError(fmt.Sprintf("unsupported shell %q", args[0]))
		},
	}
}
