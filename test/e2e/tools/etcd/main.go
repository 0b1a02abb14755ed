// Command etcd is etcd's own server entry point, built from the module proxy so
// the end-to-end suite (SPEC §8) has a real etcd without Docker or a release
// tarball. It lives in its own module because kube-apiserver's etcd client
// (v3.7) and this server (v3.6) cannot share one dependency graph.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
