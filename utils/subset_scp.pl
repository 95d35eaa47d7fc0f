#!/usr/bin/env bash
# Kaldi's utils/subset_scp.pl interface: N lines of a list, evenly spaced (first and last included).
#   subset_scp.pl N in.scp > out.scp
set -euo pipefail
if [ $# -ne 2 ]; then echo "Usage: subset_scp.pl N in.scp > out.scp" >&2; exit 1; fi
n=$1 list=$2
case "$n" in ''|*[!0-9]*) echo "subset_scp.pl: N must be a positive integer, got '$n'" >&2; exit 1 ;; esac
[ -r "$list" ] || { echo "subset_scp.pl: cannot read $list" >&2; exit 1; }
total=$(wc -l < "$list")
if [ "$n" -ge "$total" ]; then cat "$list"; exit 0; fi
# Line i (0-based) of the output is input line floor(i * (total - 1) / (n - 1)), as Kaldi spaces them.
awk -v n="$n" -v total="$total" 'BEGIN { for (i = 0; i < n; i++) want[(n > 1 ? int(i * (total - 1) / (n - 1)) : 0) + 1] = 1 }
  want[NR]' "$list"
