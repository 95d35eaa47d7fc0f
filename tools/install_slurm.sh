#!/usr/bin/env bash
# Install Slurm and MUNGE from Debian (slurmctld, slurmd, slurm-client, munge) for the tests of utils/slurm.pl,
# which start a single-node cluster of their own in a temporary directory (tests/slurm_cluster.py); nothing
# is configured or started system-wide. Safe to re-run. Needs root or sudo for apt; where Slurm cannot be
# installed, say so and exit 1: those tests then skip with that reason.
set -euo pipefail

"$(dirname "$0")/apt_install.sh" slurmctld slurmd slurm-client munge || {
  echo "$0: Slurm could not be installed: the Slurm tests skip" >&2
  exit 1
}
