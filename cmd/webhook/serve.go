package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"go.uber.org/zap/zapcore"
	"k8s.io/klog/v2"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/privateguard/privateguard/pkg/server"
)

// serve parses the flags of `privateguard serve`, sets up logging and runs the server
// until ctx is done.
func serve(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("privateguard serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	opts := server.DefaultOptions()
	opts.BindFlags(fs)
	// --zap-log-level, --zap-encoder, --zap-devel, ...: JSON logs at info by default, and
	// no stack traces below panics: an error line on the admission path (a failed lookup)
	// says what failed in one line, and a stack of the server's own goroutine says nothing.
	zapOpts := zap.Options{StacktraceLevel: zapcore.DPanicLevel}
	zapOpts.BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "privateguard serve: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if opts.ConfigFile == "" {
		fmt.Fprintln(stderr, "privateguard serve:", server.ErrNoConfig)
		return 2
	}

	log := zap.New(zap.UseFlagOptions(&zapOpts), zap.WriteTo(stderr))
	logf.SetLogger(log)
	klog.SetLogger(log) // client-go logs through klog
	opts.Logger = log.WithName("privateguard")
	opts.Version = version

	if err := server.Run(ctx, opts); err != nil {
		fmt.Fprintln(stderr, "privateguard serve:", err)
		return 1
	}
	return 0
}
