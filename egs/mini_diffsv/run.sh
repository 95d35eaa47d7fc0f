#!/usr/bin/env bash
# The embedded demo: the whole Diff-SV recipe on a small real-speech corpus, on the CPU, in minutes.
#   ./run.sh                       # stages 0-6: corpus, data, noisy copies, baseline and Diff-SV, results, export
#   ./run.sh --stage 4 --stop-stage 5 --systems diffsv
# Stage 0 builds the corpus (once, cached in downloads/) in the published layouts of VoxCeleb1, MUSAN,
# RIRS_NOISES and Nonspeech100; stages 1-6 are egs/voxceleb_diffsv/run.sh's, run with conf/mini_*.yaml.
set -euo pipefail

. ./path.sh
. ./cmd.sh

stage=0
stop_stage=6
nj=2
scale=full                # corpus size: full (the demo) or small (CI)
systems="baseline diffsv" # conf/mini_<system>.yaml, trained and scored in this order
segments=1                # test protocol: one 3 s segment per utterance (the mini corpus's are 1.2-4.4 s long)
segment_samples=48000
sampler=""                # stages 5-6: euler|heun|dpm_solver [each config's]
sampler_steps=""
conf_dir=conf             # where conf/mini_<system>.yaml are looked up
downloads=downloads       # where the corpus is built (once)
data=data
exp=exp

help_message="Usage: $0 [options]
  --stage N / --stop-stage M   run stages N..M [$stage..$stop_stage]
  --nj N                       parallel jobs [$nj]
  --scale full|small           corpus size: full (the demo) or small (CI) [$scale]
  --systems 'baseline diffsv'  systems (conf-dir/mini_<system>.yaml, trained into exp/<system>), in order; each is compared
                               with the one before it in RESULTS.md [$systems]
  --segments N --segment-samples M   test segments per utterance and their length [$segments x $segment_samples]
  --sampler NAME --sampler-steps N   sampler of stages 5-6 [each config's]
  --conf-dir DIR --downloads DIR --data DIR --exp DIR   locations [$conf_dir $downloads $data $exp]"

. utils/parse_options.sh

absolute() { case "$1" in /*) echo "$1" ;; *) echo "$(pwd)/$1" ;; esac; }
data=$(absolute "$data"); exp=$(absolute "$exp"); conf_dir=$(absolute "$conf_dir")
corpus=$(absolute "$downloads")/mini_corpus_$scale
recipe=(../voxceleb_diffsv/run.sh --nj "$nj" --data "$data" --exp "$exp"
        --voxceleb1-root "$corpus/voxceleb1" --musan-root "$corpus/musan" --rirs-root "$corpus/RIRS_NOISES"
        --nonspeech-root "$corpus/Nonspeech" --segments "$segments" --segment-samples "$segment_samples"
        --show-paper false)
[ -z "$sampler" ] || recipe+=(--sampler "$sampler")
[ -z "$sampler_steps" ] || recipe+=(--sampler-steps "$sampler_steps")

if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then
  echo "$0: stage 0: building the mini corpus in $corpus (once; cached)"
  python -m diffsv.bin.make_mini_corpus --out "$corpus" --scale "$scale"
  "${recipe[@]}" --stage 0 --stop-stage 0
fi

# Data preparation (1) and noisy copies (2) are shared by the systems; training and scoring are not.
first=$(( stage > 1 ? stage : 1 ))
last=$(( stop_stage < 2 ? stop_stage : 2 ))
if [ "$first" -le "$last" ]; then
  "${recipe[@]}" --stage "$first" --stop-stage "$last"
fi

first=$(( stage > 3 ? stage : 3 ))
compare=()
for system in $systems; do
  if [ "$first" -le "$stop_stage" ]; then
    "${recipe[@]}" --config "$conf_dir/mini_$system.yaml" --tag "$system" --stage "$first" \
      --stop-stage "$stop_stage" "${compare[@]}"
  fi
  compare=(--compare "$exp/$system")
done

# The last system's results (with the one before it beside it) close the demo.
final_system=${systems##* }
if [ "$stage" -le 6 ] && [ "$stop_stage" -ge 6 ] && [ -f "$exp/$final_system/RESULTS.md" ]; then
  cat "$exp/$final_system/RESULTS.md"
fi
