#!/usr/bin/env bash
# Builds Ferry's vcsim launcher (main.go) against the govmomi simulator pinned in
# go.mod, fetched from the Go module proxy, and prints the binary's path.
#
# Usage: tools/vcsim/build.sh
# Cache: ${XDG_CACHE_HOME:-$HOME/.cache}/ferry/vcsim/<govmomi version>/vcsim, rebuilt only
# when main.go, go.mod or go.sum change (a stamp file holds their hash), so a warm
# call costs milliseconds. Needs `go` (>= the go.mod version) on PATH or in /usr/local/go.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

version=$(awk '$1 == "github.com/vmware/govmomi" { print $2; exit } $1 == "require" && $2 == "github.com/vmware/govmomi" { print $3; exit }' "$here/go.mod")
if [ -z "$version" ]; then
    echo "vcsim build: no github.com/vmware/govmomi version in $here/go.mod" >&2
    exit 1
fi
cache="${XDG_CACHE_HOME:-$HOME/.cache}/ferry/vcsim/$version"
bin="$cache/vcsim"
stamp=$(cat "$here/main.go" "$here/go.mod" "$here/go.sum" | sha256sum | cut -d' ' -f1)

if [ -x "$bin" ] && [ "$(cat "$cache/stamp" 2>/dev/null)" = "$stamp" ]; then
    echo "$bin"
    exit 0
fi

if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
    PATH="/usr/local/go/bin:$PATH"
fi
if ! command -v go >/dev/null 2>&1; then
    echo "vcsim build: the Go toolchain is missing (install Go >= $(awk '$1 == "go" { print $2 }' "$here/go.mod"))" >&2
    exit 1
fi

mkdir -p "$cache"
tmp=$(mktemp "$cache/vcsim.XXXXXX")
trap 'rm -f "$tmp"' EXIT
echo "vcsim build: building the launcher against govmomi $version (about a minute on 2 cores)" >&2
(cd "$here" && GOFLAGS=-mod=readonly CGO_ENABLED=0 nice go build -trimpath -o "$tmp" .)
mv -f "$tmp" "$bin"
trap - EXIT
echo "$stamp" >"$cache/stamp"
echo "$bin"
