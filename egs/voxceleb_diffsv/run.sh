#!/usr/bin/env bash
# Diff-SV on VoxCeleb1 (ICASSP 2024 protocol), Kaldi/WeSpeaker-style numbered stages.
#   ./run.sh --stage 0 --stop-stage 5 --voxceleb1-root /corpora/VoxCeleb1 --musan-root /corpora/musan ...
#   ./run.sh --stage 3 --stop-stage 5 --systems "baseline diffsv"     # conf/<system>.yaml into exp/<system>
# Stages 0-1 are this recipe's (local/corpora.sh); stages 1-6 are the shared ../TEMPLATE/sv.sh (./run.sh --help).
set -euo pipefail

. ./path.sh
. ./cmd.sh
. local/corpora.sh

stop_stage=1
nj=8
systems=diffsv

. ../TEMPLATE/sv.sh
