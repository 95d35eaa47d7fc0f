#!/usr/bin/env bash
# The embedded demo: the whole Diff-SV recipe on a small real-speech corpus, on the CPU, in minutes.
#   ./run.sh                       # stages 0-6: corpus, data, noisy copies, baseline and Diff-SV, results, export
#   ./run.sh --stage 4 --stop-stage 5 --systems diffsv
# Stage 0 builds the corpus (local/corpora.sh); stages 1-6 are the shared ../TEMPLATE/sv.sh, with this
# recipe's conf/ (./run.sh --help lists every option).
set -euo pipefail

. ./path.sh
. ./cmd.sh
. local/corpora.sh

stop_stage=6
nj=2
systems="baseline diffsv" # conf/<system>.yaml, trained and scored in this order; Diff-SV's report shows the baseline
segments=1                # test protocol: one 3 s segment per utterance (the mini corpus's are 1.2-4.4 s long)
segment_samples=48000
show_paper=false          # the paper's VoxCeleb1 figures mean nothing beside this corpus

. ../TEMPLATE/sv.sh
