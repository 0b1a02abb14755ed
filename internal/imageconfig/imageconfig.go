// Package imageconfig is the part of the privateguard container image's configuration
// that other things depend on: the Helm chart runs the pod as User and Group and passes
// Command's subcommand as the container's args without replacing Entrypoint, and the
// Dockerfile must build an image that agrees with the one `make image` builds
// (hack/image). Each of them is tested against these constants, so the three cannot drift.
package imageconfig

import "strconv"

const (
	// User is the numeric user the image runs as. 65532 is distroless's "nonroot", the
	// user the Dockerfile's base image provides; `make image` writes the same entry into
	// its own /etc/passwd. It owns no file in the image, so nothing there is writable.
	User = 65532
	// Group is the numeric primary group of User.
	Group = 65532
	// UserName is User's name in /etc/passwd and Group's in /etc/group.
	UserName = "nonroot"

	// Binary is where the static privateguard binary lives in the image.
	Binary = "/privateguard"
	// Command is the default subcommand (the image's CMD).
	Command = "serve"
)

// UserSpec is the image config's User field: "uid:gid", numeric so that the kubelet can
// check runAsNonRoot without reading /etc/passwd.
func UserSpec() string {
	return strconv.Itoa(User) + ":" + strconv.Itoa(Group)
}

// Entrypoint is the image config's Entrypoint: the binary itself, so that a pod's args
// are the subcommand and its flags.
func Entrypoint() []string { return []string{Binary} }

// Cmd is the image config's Cmd: the default arguments of Entrypoint.
func Cmd() []string { return []string{Command} }
