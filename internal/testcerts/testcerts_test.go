package testcerts

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteVolumeSwapsAllFilesAtOnce(t *testing.T) {
	dir := t.TempDir()
	for _, v := range []string{"one", "two"} {
		if err := WriteVolume(dir, map[string][]byte{"tls.crt": []byte("crt " + v), "tls.key": []byte("key " + v)}); err != nil {
			t.Fatal(err)
		}
		for name, want := range map[string]string{"tls.crt": "crt " + v, "tls.key": "key " + v} {
			got, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil || string(got) != want {
				t.Errorf("after writing %s: %s = %q, %v; want %q", v, name, got, err, want)
			}
			if target, _ := os.Readlink(filepath.Join(dir, name)); target != filepath.Join("..data", name) {
				t.Errorf("%s links to %q, want it to go through ..data", name, target)
			}
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 4 { // ..data, one version directory, tls.crt, tls.key
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("the old version was not removed: %v", names)
	}
}
