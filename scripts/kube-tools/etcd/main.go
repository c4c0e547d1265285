// Command etcd builds etcd from its Go module at the version pinned in
// go.mod, the store kube-apiserver needs (scripts/build-kube.sh).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
