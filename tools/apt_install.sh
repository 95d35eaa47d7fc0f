#!/usr/bin/env bash
# tools/apt_install.sh PACKAGE...: install the Debian packages that are not installed yet, with sudo when not
# root; nothing when all are. Exits 1, naming what is missing, where there is no apt-get or no way to root.
# The install scripts share it (tools/install_ffmpeg.sh, tools/install_slurm.sh).
set -euo pipefail

missing=()
for package in "$@"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -gt 0 ] || exit 0
if ! command -v apt-get > /dev/null; then
  echo "$0: no apt-get here: install ${missing[*]} by hand" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo > /dev/null || { echo "$0: need root or sudo to install ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "$0: apt-get install ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
