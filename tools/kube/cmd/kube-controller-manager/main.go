// Command kube-controller-manager is the real Kubernetes controller manager, built
// from the k8s.io/kubernetes module at the version pinned in ../../go.mod. Ferry's
// tests run only the controllers kube-apiserver lacks (garbage collection, namespace
// deletion, service-account tokens); see crates/realkube.
package main

import (
	"os"
	_ "time/tzdata" // CronJob time zones, as upstream's main does

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"          // --logging-format=json
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // client-go metrics
	_ "k8s.io/component-base/metrics/prometheus/version"  // version metric
	"k8s.io/kubernetes/cmd/kube-controller-manager/app"
)

func main() {
	os.Exit(cli.Run(app.NewControllerManagerCommand()))
}
