// Command kubectl is the real kubectl, built from the k8s.io/kubectl module at the
// version pinned in ../../go.mod, for machines that have none.
package main

import (
	_ "k8s.io/client-go/plugin/pkg/client/auth" // exec/oidc auth plugins
	"k8s.io/component-base/cli"
	"k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/util"
)

func main() {
	if err := cli.RunNoErrOutput(cmd.NewDefaultKubectlCommand()); err != nil {
		util.CheckErr(err)
	}
}
