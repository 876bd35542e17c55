# The real Kubernetes control plane (kube-apiserver, etcd, kube-controller-manager,
# kubectl) for crates/realkube and the tests that use it: tools/kube/build.sh builds it
# from Go modules when it is not cached (about 5 minutes on 2 cores, once per machine;
# a few milliseconds when cached) and prints the directory that holds it, exported here
# as FERRY_KUBE_BIN (kept if already set). If the machine has no kubectl, the built one
# goes on PATH. Sourced by scripts/test: quiet when warm.
if [ -z "${FERRY_KUBE_BIN:-}" ]; then
    if ferry_kube_bin="$(tools/kube/build.sh)"; then
        export FERRY_KUBE_BIN="$ferry_kube_bin"
    else
        echo "set-up: building the real control plane failed; the tests that need it will fail until it builds" >&2
    fi
    unset ferry_kube_bin
fi
if [ -n "${FERRY_KUBE_BIN:-}" ] && ! command -v kubectl >/dev/null 2>&1; then
    export PATH="$FERRY_KUBE_BIN:$PATH"
fi
