#!/usr/bin/env bash
# Builds the real Kubernetes control plane that Ferry's tests use as a reference peer
# (crates/realkube), and prints the directory that holds the binaries:
#
#   kube-apiserver, kube-controller-manager, kubectl  k8s.io/kubernetes v1.33.13
#                                                     (k8s.io/* staging v0.33.13)
#   etcd                                              go.etcd.io/etcd/server/v3 v3.5.21
#
# Usage: tools/kube/build.sh            -> builds if needed, prints the directory, e.g.
#                                           ~/.cache/ferry/kube/v1.33.13-etcd-v3.5.21
#        tools/kube/build.sh --cached   -> prints it only if already built, else exits 3
#                                           (what the test harness uses: tests never build)
#        FERRY_KUBE_BUILD_QUIET=1 ...   -> no progress lines on stderr
#
# How: go.mod in this directory is a small wrapper module whose cmd/*/main.go call the
# upstream entry points (app.NewAPIServerCommand, etcdmain.Main, ...). The k8s.io
# staging modules are pinned with `replace` (k8s.io/kubernetes itself requires them at
# v0.0.0 and replaces them with local paths, which a dependent module cannot see).
# go.sum is committed, so the build is reproducible and needs no network but the Go
# module proxy (for modules not yet in the local module cache).
#
# Why these versions:
# - Kubernetes 1.33: Ferry uses kube-rs 5 with k8s-openapi 0.29's `v1_33` feature, so
#   the API surface Ferry is written against is 1.33's. v1.33.13 is the newest 1.33
#   patch the Go module proxy served when this was written (it lists v1.33.6 and
#   v1.33.13 for 1.33; 1.34+ also exist but are not the minor kube 5 targets).
# - etcd v3.5.21: the etcd that k8s.io/kubernetes v1.33.13's own go.mod pins (and the
#   one Kubernetes 1.33 is released and tested with). It is built inside the same
#   module, so it shares Kubernetes' dependency versions, as Kubernetes' own tests
#   that embed etcd do; that also lets the two builds share compiled packages.
# - kube-controller-manager is cheap once kube-apiserver is built (most packages are
#   shared); the harness runs only the controllers kube-apiserver lacks (garbage
#   collector, namespace deletion, service-account tokens).
# - kubectl comes from k8s.io/kubectl v0.33.13 (same release) for machines without one.
#
# Cost, measured on the project's 2-core, 24 GiB machine (go1.26.8), while other Rust
# builds shared the cores:
# - cold, nothing cached (module downloads from the proxy + compile + link): 307 s
#   (user 372 s, sys 95 s); the modules are ~600 MB in GOMODCACHE, the Go build cache
#   grows by ~3.1 GB, the four binaries take 280 MB.
# - Go build cache warm, binaries missing or inputs changed (link only):        7 s
# - warm (binaries cached, stamp matches):                                     0.01 s
# Peak memory: 1.95 GB (the kube-apiserver link). Run it in the background if you must.
#
# Caching: binaries live in ${XDG_CACHE_HOME:-$HOME/.cache}/ferry/kube/<version>/ with a
# stamp of the inputs (go.mod, go.sum, cmd/*/main.go, link flags); a matching stamp
# means nothing to do. A lock file serialises concurrent runs.
set -euo pipefail

cached_only=0
case "${1:-}" in
    "") ;;
    --cached) cached_only=1 ;;
    *)
        echo "tools/kube/build.sh: unknown argument '$1' (want none, or --cached)" >&2
        exit 2
        ;;
esac

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

# Keep these in step with go.mod.
k8s_version="v1.33.13"
etcd_version="v3.5.21"
binaries=(kube-apiserver kube-controller-manager kubectl etcd)

say() {
    if [ -z "${FERRY_KUBE_BUILD_QUIET:-}" ]; then echo "tools/kube/build.sh: $*" >&2; fi
}

if ! command -v go >/dev/null 2>&1; then
    echo "tools/kube/build.sh: the go command is missing; install Go 1.24 or newer" >&2
    exit 1
fi
for want in "k8s.io/kubernetes $k8s_version" "go.etcd.io/etcd/server/v3 $etcd_version"; do
    if ! grep -q "^[[:space:]]*$want\$" go.mod; then
        echo "tools/kube/build.sh: go.mod does not require '$want'; keep the versions in step" >&2
        exit 1
    fi
done

k8s_minor="${k8s_version#v1.}"
k8s_minor="${k8s_minor%%.*}"
build_date="1970-01-01T00:00:00Z" # fixed, so the binaries are reproducible
x_version=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    x_version+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$k8s_minor"
    x_version+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
done
ldflags="-s -w$x_version"

cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/ferry/kube"
out="$cache_root/$k8s_version-etcd-$etcd_version"
stamp="$(cat go.mod go.sum cmd/*/main.go <(echo "$ldflags") | sha256sum | cut -c1-16)"

complete() {
    [ -f "$out/.stamp" ] && [ "$(cat "$out/.stamp")" = "$stamp" ] || return 1
    local b
    for b in "${binaries[@]}"; do [ -x "$out/$b" ] || return 1; done
}

if complete; then
    echo "$out"
    exit 0
fi
if [ "$cached_only" = 1 ]; then
    echo "the binaries are not built yet (no complete build in $out)" >&2
    exit 3
fi

mkdir -p "$cache_root"
exec 9>"$cache_root/.lock"
if ! flock -n 9; then
    say "another build is running; waiting for it"
    flock 9
fi
if complete; then # another run built it while we waited
    echo "$out"
    exit 0
fi

# Only the Go module proxy: no direct VCS fetches. Static binaries, no C compiler.
export GOPROXY="${GOPROXY:-https://proxy.golang.org}"
if [ "$GOPROXY" = "https://proxy.golang.org,direct" ]; then export GOPROXY="https://proxy.golang.org"; fi
export GOFLAGS="-mod=readonly -buildvcs=false"
export CGO_ENABLED=0

staging="$(mktemp -d "$cache_root/.build.XXXXXX")"
trap 'rm -rf "$staging"' EXIT
say "building ${binaries[*]} (Kubernetes $k8s_version, etcd $etcd_version) into $out"
say "a cold build takes several minutes on 2 cores; later runs reuse the cache"
started=$SECONDS
go build -trimpath -ldflags="$ldflags" -o "$staging/" ./cmd/... >&2

for b in "${binaries[@]}"; do
    [ -x "$staging/$b" ] || { echo "tools/kube/build.sh: go build made no $b" >&2; exit 1; }
done
got="$("$staging/kube-apiserver" --version)"
if [ "$got" != "Kubernetes $k8s_version" ]; then
    echo "tools/kube/build.sh: kube-apiserver --version says '$got', want 'Kubernetes $k8s_version'" >&2
    exit 1
fi

mkdir -p "$out"
rm -f "$out/.stamp"
for b in "${binaries[@]}"; do mv -f "$staging/$b" "$out/$b"; done
echo "$stamp" >"$out/.stamp"
say "built in $((SECONDS - started)) s"
echo "$out"
