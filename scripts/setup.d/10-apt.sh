# Debian packages the tests use: qemu-img (real disk images for OVA tests and the
# sandbox's conversion path).
ferry_apt_missing=()
command -v qemu-img >/dev/null 2>&1 || ferry_apt_missing+=(qemu-utils)
if [ "${#ferry_apt_missing[@]}" -gt 0 ]; then
    echo "installing: ${ferry_apt_missing[*]}"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${ferry_apt_missing[@]}"
fi
unset ferry_apt_missing
