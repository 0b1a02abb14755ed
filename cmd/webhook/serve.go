package main

import (
	"flag"
	"fmt"

	"github.com/spf13/cobra"
	"go.uber.org/zap/zapcore"
	"k8s.io/klog/v2"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/privateguard/privateguard/pkg/server"
)

// serveCommand is `privateguard serve`: it sets up logging and runs the server until the
// command's context is done.
func (a *app) serveCommand() *cobra.Command {
	// The server's flags are defined on a standard library FlagSet by
	// server.Options.BindFlags, and zap's by zap.Options.BindFlags; pflag takes them
	// over whole, so a flag added there is a flag of serve here.
	fs := flag.NewFlagSet("privateguard serve", flag.ContinueOnError)
	opts := server.DefaultOptions()
	opts.BindFlags(fs)
	// --zap-log-level, --zap-encoder, --zap-devel, ...: JSON logs at info by default, and
	// no stack traces below panics: an error line on the admission path (a failed lookup)
	// says what failed in one line, and a stack of the server's own goroutine says nothing.
	zapOpts := zap.Options{StacktraceLevel: zapcore.DPanicLevel}
	zapOpts.BindFlags(fs)

	cmd := &cobra.Command{
		Use:   "serve --config FILE [flags]",
		Short: "Run the admission webhook server",
		Long: `Run the admission webhook server: POST /mutate and /validate on the TLS port, metrics,
health probes, and the policy file watched and reloaded on change.`,
		Args: noArgs("serve takes flags only"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			stderr := cmd.ErrOrStderr()
			if opts.ConfigFile == "" {
				return usageError(server.ErrNoConfig.Error())
			}
			log := zap.New(zap.UseFlagOptions(&zapOpts), zap.WriteTo(stderr))
			logf.SetLogger(log)
			klog.SetLogger(log) // client-go logs through klog
			opts.Logger = log.WithName("privateguard")
			opts.Version = version

			if err := server.Run(cmd.Context(), opts); err != nil {
				fmt.Fprintln(stderr, "privateguard serve:", err)
				return exitCode(exitFailed)
			}
			return nil
		},
	}
	cmd.Flags().AddGoFlagSet(fs)
	return cmd
}
