package imageconfig_test

import (
	"bufio"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/privateguard/privateguard/internal/imageconfig"
)

// dockerfile is the repository's Dockerfile, relative to this package.
const dockerfile = "../../Dockerfile"

// instruction is one Dockerfile instruction with its continuation lines joined.
type instruction struct {
	keyword string // upper case: FROM, COPY, USER, ...
	args    string
}

// parseDockerfile splits a Dockerfile into instructions: comments and blank lines are
// dropped, and lines ending in a backslash are joined with the next one, as the Docker
// builder reads them.
func parseDockerfile(t *testing.T, path string) []instruction {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []instruction
	var cur strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if rest, more := strings.CutSuffix(line, `\`); more {
			cur.WriteString(rest + " ")
			continue
		}
		cur.WriteString(line)
		keyword, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{keyword: strings.ToUpper(keyword), args: strings.TrimSpace(args)})
		cur.Reset()
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// finalStage returns the instructions after the last FROM: the image the build produces.
func finalStage(t *testing.T, all []instruction) []instruction {
	t.Helper()
	last := -1
	for i, in := range all {
		if in.keyword == "FROM" {
			last = i
		}
	}
	if last < 0 {
		t.Fatalf("%s has no FROM", dockerfile)
	}
	return all[last+1:]
}

// only returns the args of the single instruction with keyword in the stage.
func only(t *testing.T, stage []instruction, keyword string) string {
	t.Helper()
	var found []string
	for _, in := range stage {
		if in.keyword == keyword {
			found = append(found, in.args)
		}
	}
	if len(found) != 1 {
		t.Fatalf("the final stage of %s has %d %s instructions %q, want one", dockerfile, len(found), keyword, found)
	}
	return found[0]
}

// execForm decodes an ENTRYPOINT or CMD in exec (JSON array) form. The shell form would
// run /bin/sh, which neither image has.
func execForm(t *testing.T, keyword, args string) []string {
	t.Helper()
	var words []string
	if err := json.Unmarshal([]byte(args), &words); err != nil {
		t.Fatalf("%s %s is not in exec form (a JSON array): %v", keyword, args, err)
	}
	return words
}

func TestDockerfileBuildsTheImageMakeImageBuilds(t *testing.T) {
	all := parseDockerfile(t, dockerfile)
	final := finalStage(t, all)

	t.Run("it runs as the image's numeric user and group", func(t *testing.T) {
		if got := only(t, final, "USER"); got != imageconfig.UserSpec() {
			t.Errorf("USER %s, want %s", got, imageconfig.UserSpec())
		}
	})
	t.Run("its entrypoint is the binary", func(t *testing.T) {
		if got := execForm(t, "ENTRYPOINT", only(t, final, "ENTRYPOINT")); !slices.Equal(got, imageconfig.Entrypoint()) {
			t.Errorf("ENTRYPOINT %q, want %q", got, imageconfig.Entrypoint())
		}
	})
	t.Run("its default command is serve", func(t *testing.T) {
		if got := execForm(t, "CMD", only(t, final, "CMD")); !slices.Equal(got, imageconfig.Cmd()) {
			t.Errorf("CMD %q, want %q", got, imageconfig.Cmd())
		}
	})
	t.Run("the binary is copied to where the entrypoint runs it", func(t *testing.T) {
		fields := strings.Fields(only(t, final, "COPY"))
		if dest := fields[len(fields)-1]; dest != imageconfig.Binary {
			t.Errorf("COPY %v puts the binary at %s, want %s", fields, dest, imageconfig.Binary)
		}
	})
	t.Run("the binary is static, without build paths", func(t *testing.T) {
		var build string
		for _, in := range all {
			if in.keyword == "RUN" && strings.Contains(in.args, "go build") {
				build = in.args
			}
		}
		for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-X main.version="} {
			if !strings.Contains(build, want) {
				t.Errorf("the go build step %q lacks %s", build, want)
			}
		}
	})
}
