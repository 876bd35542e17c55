#!/usr/bin/env bash
# Builds Ferry's sample OVAs (VMware EFI + secure boot, VirtualBox BIOS, oVirt, and an
# unpacked .ovf) with real streamOptimized VMDK / qcow2 disks, using qemu-img.
#
#   examples/make-ovas.sh <dir>               the samples (a few MiB)
#   examples/make-ovas.sh <dir> --bench 1000  1000 small OVAs for benchmarks
#
# The same content gives the same bytes. qemu-img comes from PATH or $FERRY_QEMU_IMG;
# scripts/test installs it. The work is done by ferry_inventory::ova::samples, which the
# tests and `ferry sandbox` call directly.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$#" -lt 1 ]; then
    echo "usage: $0 <dir> [--bench <count>]" >&2
    exit 2
fi
exec cargo run --quiet -p ferry-inventory --example make_ovas -- "$@"
