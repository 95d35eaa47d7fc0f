# VoxCeleb1 with MUSAN, RIRS_NOISES, Nonspeech100 and (optionally) VOiCES, in their published layouts:
# this recipe's corpus options, its stage 0 (check them) and stage 1 (Kaldi data directories from them).
# Sourced by run.sh before ../TEMPLATE/sv.sh.
# shellcheck shell=bash

voxceleb1_root=/export/corpora/VoxCeleb1
# The others are optional: an empty root goes without the corpus, and stage 0 says what that leaves out.
musan_root=/export/corpora/musan
rirs_root=/export/corpora/RIRS_NOISES
nonspeech_root=/export/corpora/Nonspeech100
voices_root=""            # VOiCES 2019 challenge root
trials=veri_test2.txt     # trial list inside the VoxCeleb1 root: veri_test.txt (original) or veri_test2.txt (cleaned)
trials_list=""            # explicit path to a trial list; overrides $trials
resample=false            # stage 1: read corpus files not at 16 kHz through a resampling pipe (true) or refuse them

corpus_help="  --voxceleb1-root DIR         VoxCeleb1 (wav/<spk>/<video>/<n>.wav, veri_test*.txt) [$voxceleb1_root]
  --musan-root DIR             MUSAN (music|noise|speech/<subset>/*.wav); '' goes without [$musan_root]
  --rirs-root DIR              RIRS_NOISES (simulated_rirs/...); '' goes without [$rirs_root]
  --nonspeech-root DIR         Nonspeech100 (n1.wav .. n100.wav); '' goes without [$nonspeech_root]
  --voices-root DIR            VOiCES 2019 challenge; '' goes without [$voices_root]
  --trials NAME                trial list in the VoxCeleb1 root [$trials]
  --trials-list PATH           explicit trial list (overrides --trials)
  --resample true|false        stage 1: resample corpus files not at 16 kHz (a wav.scp pipe) or refuse them [$resample]"

# corpus_args: the corpus options of diffsv.bin.check_corpora and diffsv.bin.prepare_data, in $corpus_args.
corpus_args() {
  corpus_args=(--voxceleb1-root "$voxceleb1_root" --trials-list "${trials_list:-$voxceleb1_root/$trials}")
  [ -z "$musan_root" ] || corpus_args+=(--musan-root "$musan_root")
  [ -z "$rirs_root" ] || corpus_args+=(--rirs-root "$rirs_root")
  [ -z "$nonspeech_root" ] || corpus_args+=(--nonspeech-root "$nonspeech_root")
  [ -z "$voices_root" ] || corpus_args+=(--voices-root "$voices_root")
}

local_check_corpora() {
  corpus_args
  python -m diffsv.bin.check_corpora "${corpus_args[@]}"
}

# local_prepare_data DATA
local_prepare_data() {
  local prepare_args=()
  case "$resample" in
    true) prepare_args=(--resample) ;;
    false) ;;
    *) echo "$0: --resample must be true or false, not '$resample'" >&2; exit 1 ;;
  esac
  corpus_args
  python -m diffsv.bin.prepare_data "${corpus_args[@]}" --data "$1" "${prepare_args[@]}"
}
