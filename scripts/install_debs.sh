#!/usr/bin/env sh
# Installs the Debian packages named as arguments, only those missing.
# Used by the Makefile: the CJK font the PDF letters are set in (serve), and the PDF
# tools the tests check letters with (test). Needs root or sudo when a package is missing.
set -eu
missing=""
for package in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $package"
    fi
done
[ -z "$missing" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install these Debian/Ubuntu packages (or your system's equivalent):$missing" >&2
    exit 1
fi
run=""
[ "$(id -u)" -ne 0 ] && run="sudo"
echo "installing Debian packages:$missing"
# shellcheck disable=SC2086
$run apt-get install -y --no-install-recommends $missing >/dev/null 2>&1 || {
    $run apt-get update >/dev/null
    $run apt-get install -y --no-install-recommends $missing >/dev/null
}
