package main

import (
	"bufio"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"

	"github.com/privateguard/privateguard/pkg/audit"
	"github.com/privateguard/privateguard/pkg/policy"
)

// ANSI escapes of the audit's text output's colours.
const (
	colourReset  = "\x1b[0m"
	colourBold   = "\x1b[1m"
	colourRed    = "\x1b[31m"
	colourGreen  = "\x1b[32m"
	colourYellow = "\x1b[33m"
	colourCyan   = "\x1b[36m"
)

// writeText writes r for a reader: each object on a header line with its
// verdict, then one line per finding, a blank line between objects, then the summary. A
// finding's label gives its mode: `deny` and `warn` are violations of rules in enforce
// and audit mode, `change` and `would change` are mutations of rules in enforce and audit
// mode, `note` a warning admission would give with an admitted object, `exempt` a
// violation an exception waives, with the exception's name and reason. A violation's
// message names the rule, the field and the image; a change shows its field, from → to,
// and rule. colour adds ANSI colours, for a terminal.
func writeText(w io.Writer, r *audit.Report, colour bool) error {
	bw := bufio.NewWriter(w)
	paint := func(c, s string) string {
		if !colour {
			return s
		}
		return c + s + colourReset
	}
	for i := range r.Results {
		res := &r.Results[i]
		if i > 0 {
			fmt.Fprintln(bw)
		}
		verdict := paint(colourGreen, "allowed")
		switch {
		case !res.Allowed:
			verdict = paint(colourBold+colourRed, "DENIED")
		case res.Warned():
			verdict = paint(colourYellow, "allowed with warnings")
		}
		fmt.Fprintf(bw, "%s (%s): %s\n", paint(colourBold, res.Kind+" "+res.Namespace+"/"+res.Name), res.Source, verdict)
		for _, v := range res.Violations {
			label := paint(colourRed, "deny  ")
			if v.Mode != policy.ModeEnforce {
				label = paint(colourYellow, "warn  ")
			}
			fmt.Fprintf(bw, "  %s %s\n", label, v.Message)
		}
		for _, c := range res.Mutations {
			label := paint(colourCyan, "change")
			if c.Mode != policy.ModeEnforce {
				label = paint(colourYellow, "would change")
			}
			fmt.Fprintf(bw, "  %s %s: %s [%s]\n", label, c.Path, c.Description(), c.Rule)
		}
		for _, w := range res.Warnings {
			fmt.Fprintf(bw, "  %s %s\n", paint(colourYellow, "note  "), w.Message)
		}
		for _, x := range res.Exempt {
			fmt.Fprintf(bw, "  %s %s (exception %s: %s)\n", paint(colourCyan, "exempt"), x.Message, x.Exception, x.Reason)
		}
	}
	if len(r.Results) > 0 {
		fmt.Fprintln(bw)
	}
	s := r.Summary
	fmt.Fprintf(bw, "%d %s: %d denied, %d warned, %d mutated, %d skipped\n",
		s.Resources, plural(s.Resources, "resource", "resources"), s.Denied, s.Warned, s.Mutated, s.Skipped)
	return bw.Flush()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// useColour reports whether w is a terminal that takes colours: never for a file or a
// pipe, nor when NO_COLOR is set (https://no-color.org).
func useColour(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("NO_COLOR") != "" {
		return false
	}
	return term.IsTerminal(int(f.Fd()))
}
