package policy

import (
	"path"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
	"mvdan.cc/sh/v3/syntax"
)

// commandLine is a container's command line as an add-on's binary reads it: command and
// args concatenated, or, when the container runs a shell script (sh -c, bash -c), the
// words of the script's commands. The add-ons parse their flags with spf13/pflag, and
// flag reads them the same way.
type commandLine struct {
	tokens []string
	// script is the field holding the shell script, nil when there is none: flags cannot
	// be appended to args then (an argument after the script is the shell's $0).
	script *field.Path
	// problem says why the flags cannot be read (a shell without a script, a script that
	// does not parse), "" when they can.
	problem string
}

// shells are the shells whose -c option runs a script the flags may be hidden in.
var shells = map[string]bool{"sh": true, "bash": true, "ash": true, "dash": true, "ksh": true, "zsh": true, "busybox": true}

// parseCommandLine reads the container's command and args. containerPath locates the
// container, for the script's field path.
func parseCommandLine(command, args []string, containerPath *field.Path) commandLine {
	tokens := make([]string, 0, len(command)+len(args))
	tokens = append(append(tokens, command...), args...)
	if len(tokens) == 0 || !shells[path.Base(tokens[0])] {
		return commandLine{tokens: tokens}
	}
	i := 1
	if path.Base(tokens[0]) == "busybox" { // busybox sh -c ...
		if len(tokens) < 2 || !shells[tokens[1]] || tokens[1] == "busybox" {
			return commandLine{tokens: tokens}
		}
		i = 2
	}
	hasC := false
	for ; i < len(tokens) && strings.HasPrefix(tokens[i], "-") && tokens[i] != "-" && tokens[i] != "--"; i++ {
		if !strings.HasPrefix(tokens[i], "--") && strings.Contains(tokens[i], "c") {
			hasC = true
		}
	}
	if i < len(tokens) && tokens[i] == "--" {
		i++
	}
	if !hasC {
		return commandLine{tokens: tokens} // sh script.sh --flags: the flags are the script's
	}
	var scriptPath *field.Path
	if i < len(command) {
		scriptPath = containerPath.Child("command").Index(i)
	} else {
		scriptPath = containerPath.Child("args").Index(i - len(command))
	}
	if i >= len(tokens) {
		return commandLine{script: containerPath.Child("command"), problem: "it runs " + path.Base(tokens[0]) + " -c without a script"}
	}
	words, err := scriptWords(tokens[i])
	if err != nil {
		return commandLine{script: scriptPath, problem: "its " + path.Base(tokens[0]) + " -c script does not parse: " + err.Error()}
	}
	return commandLine{tokens: words, script: scriptPath}
}

// scriptWords are the words of every simple command of a shell script, in order, with
// quotes removed. A word with an expansion ($VAR, $(cmd)) keeps its source text: its value
// is not known here, so a flag set that way never counts as set.
func scriptWords(script string) ([]string, error) {
	file, err := syntax.NewParser().Parse(strings.NewReader(script), "")
	if err != nil {
		return nil, err
	}
	var words []string
	syntax.Walk(file, func(node syntax.Node) bool {
		if call, ok := node.(*syntax.CallExpr); ok {
			for _, w := range call.Args {
				words = append(words, wordText(w))
			}
		}
		return true
	})
	return words, nil
}

// wordText is a shell word without its quotes; an expansion stays as written.
func wordText(w *syntax.Word) string {
	var b strings.Builder
	var parts func(ps []syntax.WordPart)
	parts = func(ps []syntax.WordPart) {
		for _, p := range ps {
			switch p := p.(type) {
			case *syntax.Lit:
				b.WriteString(p.Value)
			case *syntax.SglQuoted:
				b.WriteString(p.Value)
			case *syntax.DblQuoted:
				parts(p.Parts)
			default:
				b.WriteString("$(unknown)")
			}
		}
	}
	parts(w.Parts)
	return b.String()
}

// flag is the value of the long flag --name as pflag parses it: --name=value, or for a
// flag that is not boolean --name value; a boolean flag alone is true. The last
// occurrence wins, and nothing after a bare -- is a flag.
func (cl *commandLine) flag(name string, boolean bool) (value string, set bool) {
	prefix := "--" + name
	for i := 0; i < len(cl.tokens); i++ {
		t := cl.tokens[i]
		if t == "--" {
			break
		}
		rest, ok := strings.CutPrefix(t, prefix)
		switch {
		case !ok:
		case rest == "" && boolean:
			value, set = "true", true
		case rest == "":
			if i+1 < len(cl.tokens) {
				value, set = cl.tokens[i+1], true
				i++
			}
		case rest[0] == '=':
			value, set = rest[1:], true
		}
	}
	return value, set
}

// boolFlag is a boolean flag's value as the Go flag package reads it (1, t, true, TRUE,
// 0, f, false, ...); set is false when the flag is absent or its value is not a boolean.
func (cl *commandLine) boolFlag(name string) (value, set bool) {
	s, ok := cl.flag(name, true)
	if !ok {
		return false, false
	}
	v, err := strconv.ParseBool(s)
	return v, err == nil
}
