// Command etcd is the real etcd server, built from the go.etcd.io/etcd/server/v3
// module at the version pinned in ../../go.mod (the one Kubernetes itself pins).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
