package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/privateguard/privateguard/pkg/audit"
	"github.com/privateguard/privateguard/pkg/policy"
)

func TestWriteTextColour(t *testing.T) {
	p, err := policy.Load(filepath.Join(packageDir, "testdata", "policy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	const denied = "apiVersion: v1\nkind: Pod\nmetadata: {namespace: apps, name: web}\nspec:\n  containers: [{name: a, image: nginx}, {name: b, image: ghcr.io/x/y}]\n"
	resources, err := (&audit.ManifestReader{Stdin: strings.NewReader(denied)}).Read([]string{"-"})
	if err != nil {
		t.Fatal(err)
	}
	report := audit.Judge(p, resources, "")

	var plain, coloured bytes.Buffer
	if err := writeText(&plain, report, false); err != nil {
		t.Fatal(err)
	}
	if err := writeText(&coloured, report, true); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plain.String(), "\x1b[") {
		t.Errorf("plain output has escapes:\n%q", plain.String())
	}
	for _, want := range []string{
		colourBold + "Pod apps/web" + colourReset,
		colourBold + colourRed + "DENIED" + colourReset,
		colourRed + "deny  " + colourReset,
		colourCyan + "change" + colourReset,
	} {
		if !strings.Contains(coloured.String(), want) {
			t.Errorf("coloured output lacks %q:\n%q", want, coloured.String())
		}
	}
	stripped := strings.NewReplacer(colourReset, "", colourBold, "", colourRed, "", colourGreen, "", colourYellow, "", colourCyan, "").Replace(coloured.String())
	if stripped != plain.String() {
		t.Errorf("colour changes the text:\n%s\nwant:\n%s", stripped, plain.String())
	}
}

func TestUseColourOnlyOnATerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for name, w := range map[string]io.Writer{"a buffer": &bytes.Buffer{}, "a file": f} {
		if useColour(w) {
			t.Errorf("colour on %s", name)
		}
	}
}
