package policy

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestCommandLineReadsFlagsAsPflagDoes(t *testing.T) {
	ctrPath := field.NewPath("spec", "containers").Index(0)
	tests := []struct {
		name          string
		command, args []string
		flag          string
		boolean       bool
		want          string // "" with wantSet false: not set
		wantSet       bool
		wantScript    string
		wantProblem   string
	}{
		{name: "--flag=value", args: []string{"--cloud-provider=aws"}, flag: "cloud-provider", want: "aws", wantSet: true},
		{name: "a string flag takes the next argument", args: []string{"--cloud-provider", "aws"}, flag: "cloud-provider", want: "aws", wantSet: true},
		{name: "a bare boolean flag is true", args: []string{"--enable-waf"}, flag: "enable-waf", boolean: true, want: "true", wantSet: true},
		{name: "a boolean flag does not take the next argument", args: []string{"--enable-waf", "false"}, flag: "enable-waf", boolean: true, want: "true", wantSet: true},
		{name: "the last occurrence wins", args: []string{"--enable-waf=false", "--enable-waf=true"}, flag: "enable-waf", boolean: true, want: "true", wantSet: true},
		{name: "command and args are one command line", command: []string{"./controller", "--enable-waf=true"}, args: []string{"--enable-waf=false"}, flag: "enable-waf", boolean: true, want: "false", wantSet: true},
		{name: "nothing after -- is a flag", args: []string{"--", "--enable-waf=false"}, flag: "enable-waf", boolean: true},
		{name: "a longer flag with the same prefix is another flag", args: []string{"--enable-wafv2=false"}, flag: "enable-waf", boolean: true},
		{name: "a single dash is not the long flag", args: []string{"-enable-waf=false"}, flag: "enable-waf", boolean: true},
		{name: "sh -c: the script's words", command: []string{"/bin/sh", "-c"}, args: []string{"exec ./cluster-autoscaler --cloud-provider=aws"},
			flag: "cloud-provider", want: "aws", wantSet: true, wantScript: "spec.containers[0].args[0]"},
		{name: "bash -ec: combined options", command: []string{"bash", "-ec", "./ca '--cloud-provider' \"aws\""},
			flag: "cloud-provider", want: "aws", wantSet: true, wantScript: "spec.containers[0].command[2]"},
		{name: "busybox sh -c", command: []string{"busybox", "sh", "-c", "./ca --cloud-provider=gce"},
			flag: "cloud-provider", want: "gce", wantSet: true, wantScript: "spec.containers[0].command[3]"},
		{name: "a value from a variable is not known", command: []string{"sh", "-c", "./ca --cloud-provider=$PROVIDER"},
			flag: "cloud-provider", want: "$(unknown)", wantSet: true, wantScript: "spec.containers[0].command[2]"},
		{name: "sh running a script file passes its own arguments", command: []string{"sh", "/entrypoint.sh", "--cloud-provider=aws"},
			flag: "cloud-provider", want: "aws", wantSet: true},
		{name: "sh -c without a script", command: []string{"sh", "-c"}, flag: "cloud-provider",
			wantScript: "spec.containers[0].command", wantProblem: "it runs sh -c without a script"},
		{name: "a script that does not parse", command: []string{"sh", "-c", "exec ./ca 'unterminated"}, flag: "cloud-provider",
			wantScript: "spec.containers[0].command[2]", wantProblem: "its sh -c script does not parse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl := parseCommandLine(tt.command, tt.args, ctrPath)
			if got := cl.script.String(); cl.script == nil && tt.wantScript != "" || cl.script != nil && got != tt.wantScript {
				t.Errorf("script at %q, want %q", got, tt.wantScript)
			}
			if !strings.HasPrefix(cl.problem, tt.wantProblem) || (tt.wantProblem == "") != (cl.problem == "") {
				t.Errorf("problem %q, want one starting %q", cl.problem, tt.wantProblem)
			}
			got, set := cl.flag(tt.flag, tt.boolean)
			if got != tt.want || set != tt.wantSet {
				t.Errorf("--%s = %q (set %v), want %q (set %v)", tt.flag, got, set, tt.want, tt.wantSet)
			}
		})
	}
}

func TestBoolFlagReadsGoBooleans(t *testing.T) {
	for value, want := range map[string]bool{"true": true, "1": true, "T": true, "TRUE": true, "false": false, "0": false, "F": false} {
		cl := commandLine{tokens: []string{"--enable-shield=" + value}}
		if got, set := cl.boolFlag("enable-shield"); !set || got != want {
			t.Errorf("--enable-shield=%s reads as %v (set %v), want %v", value, got, set, want)
		}
	}
	cl := commandLine{tokens: []string{"--enable-shield=no"}}
	if _, set := cl.boolFlag("enable-shield"); set {
		t.Error("--enable-shield=no is not a Go boolean and must not count as set")
	}
}
