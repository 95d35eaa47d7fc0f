#!/usr/bin/env bash
# Install Slurm and MUNGE from Debian (slurmctld, slurmd, slurm-client, munge) for the tests of utils/slurm.pl,
# which start a single-node cluster of their own in a temporary directory (tests/slurm_cluster.py); nothing
# is configured or started system-wide. Safe to re-run. Needs root or sudo for apt; where Slurm cannot be
# installed, say so and exit 1: those tests then skip with that reason.
set -euo pipefail

packages=(slurmctld slurmd slurm-client munge)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -gt 0 ] || exit 0
if ! command -v apt-get > /dev/null; then
  echo "$0: no apt-get here: install ${missing[*]} by hand, or the Slurm tests skip" >&2
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
