//! Starts the real `kube-apiserver` and `etcd` (built by `tools/kube/build.sh`) for
//! tests: free ports, certificates, a token, a kubeconfig, and a clean stop.
