#!/usr/bin/env bash
# Diff-SV on VoxCeleb1 (ICASSP 2024 protocol), Kaldi/WeSpeaker-style numbered stages.
#   ./run.sh --stage 1 --stop-stage 1 --voxceleb1-root /corpora/VoxCeleb1 ...
# Each stage can be run alone and is safe to re-run.
set -euo pipefail

. ./path.sh
. ./cmd.sh

stage=0
stop_stage=1
nj=8
config=conf/diffsv.yaml
data=data
exp=exp
voxceleb1_root=/export/corpora/VoxCeleb1
musan_root=/export/corpora/musan
rirs_root=/export/corpora/RIRS_NOISES
nonspeech_root=/export/corpora/Nonspeech100
voices_root=""            # VOiCES 2019 challenge root; empty skips VOiCES
trials=veri_test2.txt     # trial list inside the VoxCeleb1 root: veri_test.txt (original) or veri_test2.txt (cleaned)
trials_list=""            # explicit path to a trial list; overrides $trials

help_message="Usage: $0 [options]
Stages: 0 check corpora, 1 data directories, 2 noisy test copies, 3 train enhancer,
        4 train extractor, 5 embeddings/scoring/metrics, 6 export.
Options (defaults in brackets):
  --stage N / --stop-stage M   run stages N..M [$stage..$stop_stage]
  --nj N                       parallel jobs [$nj]
  --config FILE                experiment config [$config]
  --voxceleb1-root DIR         VoxCeleb1 (wav/<spk>/<video>/<n>.wav, veri_test*.txt) [$voxceleb1_root]
  --musan-root DIR             MUSAN (music|noise|speech/<subset>/*.wav) [$musan_root]
  --rirs-root DIR              RIRS_NOISES (simulated_rirs/...) [$rirs_root]
  --nonspeech-root DIR         Nonspeech100 (n1.wav .. n100.wav) [$nonspeech_root]
  --voices-root DIR            VOiCES 2019 challenge (optional) [$voices_root]
  --trials NAME                trial list in the VoxCeleb1 root [$trials]
  --trials-list PATH           explicit trial list (overrides --trials)"

. utils/parse_options.sh

[ -n "$trials_list" ] || trials_list=$voxceleb1_root/$trials

corpus_args=(--voxceleb1-root "$voxceleb1_root" --trials-list "$trials_list"
             --musan-root "$musan_root" --rirs-root "$rirs_root" --nonspeech-root "$nonspeech_root")
[ -z "$voices_root" ] || corpus_args+=(--voices-root "$voices_root")

if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then
  echo "$0: stage 0: checking corpus roots"
  python -m diffsv.bin.check_corpora "${corpus_args[@]}"
fi

if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 1 ]; then
  echo "$0: stage 1: preparing data directories in $data/"
  python -m diffsv.bin.prepare_data "${corpus_args[@]}" --data "$data"
  for dir in "$data"/*/; do
    utils/validate_data_dir.sh "${dir%/}"
  done
fi

for n in 2 3 4 5 6; do
  if [ "$stage" -le "$n" ] && [ "$stop_stage" -ge "$n" ]; then
    echo "$0: stage $n is not available in this version of diffsv" >&2
    exit 1
  fi
done
