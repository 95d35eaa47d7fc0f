# VoxCeleb1 (and VoxCeleb2) with MUSAN, RIRS_NOISES, Nonspeech100 and (optionally) VOiCES, in their published
# layouts: this recipe's corpus options, its stage 0 (check them) and stage 1 (Kaldi data directories from
# them; VoxCeleb2's m4a are first converted to FLAC under $data/voxceleb2 by $nj jobs of $train_cmd).
# Sourced by run.sh before ../TEMPLATE/sv.sh.
# shellcheck shell=bash

voxceleb1_root=/export/corpora/VoxCeleb1
voxceleb2_root=""         # VoxCeleb2: dev/aac/<spk>/<video>/<n>.m4a as published, or dev/wav/... already converted
train_set=voxceleb1       # dev part(s) trained on: voxceleb1 (the paper's), voxceleb2 or both
vox1_lists=auto           # VoxCeleb1 lists scored, O always: "O", "O E", "O E H"; auto: O E H unless VoxCeleb1 dev is trained on
trials_e=list_test_all2.txt   # VoxCeleb1-E list in the VoxCeleb1 root (list_test_all.txt: the original)
trials_h=list_test_hard2.txt  # VoxCeleb1-H list in the VoxCeleb1 root (list_test_hard.txt: the original)
convert_format=wav        # stage 1: VoxCeleb2's m4a become wav (read by offset: fast crops, fast stage 1) or flac (half the disk)
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
  --voxceleb2-root DIR         VoxCeleb2 (dev/aac/<spk>/<video>/<n>.m4a, or converted dev/wav/...) [$voxceleb2_root]
  --train-set NAME             voxceleb1 (the paper's), voxceleb2 or both: the dev parts trained on [$train_set]
  --vox1-lists 'O E H'         VoxCeleb1 lists scored (O always); auto: O E H unless VoxCeleb1 dev is trained on [$vox1_lists]
  --trials NAME                VoxCeleb1-O list in the VoxCeleb1 root [$trials]
  --trials-list PATH           explicit VoxCeleb1-O list (overrides --trials)
  --trials-e NAME --trials-h NAME   VoxCeleb1-E and -H lists in the VoxCeleb1 root [$trials_e $trials_h]
  --convert-format flac|wav    stage 1: what VoxCeleb2's m4a become [$convert_format]
  --resample true|false        stage 1: resample corpus files not at 16 kHz (a wav.scp pipe) or refuse them [$resample]"

# corpus_args [VOXCELEB2_ROOT]: the corpus options of diffsv.bin.check_corpora and diffsv.bin.prepare_data, in
# $corpus_args; VoxCeleb2 from VOXCELEB2_ROOT when given (stage 1's converted copy), else --voxceleb2-root.
corpus_args() {
  local lists=$vox1_lists list
  if [ "$lists" = auto ]; then
    lists="O E H"; [ "$train_set" = voxceleb2 ] || lists=O
  fi
  corpus_args=(--voxceleb1-root "$voxceleb1_root" --trials-list "${trials_list:-$voxceleb1_root/$trials}"
               --train-set "$train_set")
  case " $lists " in *" O "*) ;; *) echo "$0: --vox1-lists must include O (the clean test set), not '$lists'" >&2; exit 1 ;; esac
  for list in $lists; do
    case "$list" in
      O) ;;
      E) corpus_args+=(--vox1-e-list "$voxceleb1_root/$trials_e") ;;
      H) corpus_args+=(--vox1-h-list "$voxceleb1_root/$trials_h") ;;
      *) echo "$0: --vox1-lists takes O, E and H, not '$list'" >&2; exit 1 ;;
    esac
  done
  [ -z "${1:-$voxceleb2_root}" ] || corpus_args+=(--voxceleb2-root "${1:-$voxceleb2_root}")
  [ -z "$musan_root" ] || corpus_args+=(--musan-root "$musan_root")
  [ -z "$rirs_root" ] || corpus_args+=(--rirs-root "$rirs_root")
  [ -z "$nonspeech_root" ] || corpus_args+=(--nonspeech-root "$nonspeech_root")
  [ -z "$voices_root" ] || corpus_args+=(--voices-root "$voices_root")
}

local_check_corpora() {
  corpus_args
  python -m diffsv.bin.check_corpora "${corpus_args[@]}"
}

# convert_voxceleb2 DATA: VoxCeleb2's m4a (dev/aac) to 16 kHz mono $convert_format in DATA/voxceleb2/dev/wav, by
# $nj jobs; a re-run converts only what is missing, and a refused (corrupt or cut) m4a stops the stage.
# Leaves the root stage 1 prepares in $voxceleb2_prepared: the given one when it is already converted.
convert_voxceleb2() {
  voxceleb2_prepared=$voxceleb2_root
  [ -n "$voxceleb2_root" ] && [ ! -d "$voxceleb2_root/dev/wav" ] && [ -d "$voxceleb2_root/dev/aac" ] || return 0
  command -v ffmpeg > /dev/null || { echo "$0: VoxCeleb2's m4a need ffmpeg: run tools/install_ffmpeg.sh" >&2; exit 1; }
  local work=$1/voxceleb2/conversion jobs
  voxceleb2_prepared=$1/voxceleb2
  echo "$0: converting $voxceleb2_root/dev/aac to $convert_format in $voxceleb2_prepared/dev/wav"
  jobs=$(python -m diffsv.bin.convert_audio plan --source "$voxceleb2_root/dev/aac" --dest "$voxceleb2_prepared/dev/wav" \
           --work-dir "$work" --nj "$nj" --format "$convert_format")
  [ "$jobs" -eq 0 ] || follow "$exp/log/convert_voxceleb2.1.log" $train_cmd JOB=1:"$jobs" \
    "$exp/log/convert_voxceleb2.JOB.log" python -m diffsv.bin.convert_audio convert --work-dir "$work" --job JOB
  python -m diffsv.bin.convert_audio finish --work-dir "$work"
}

# local_prepare_data DATA
local_prepare_data() {
  local prepare_args=()
  case "$resample" in
    true) prepare_args=(--resample) ;;
    false) ;;
    *) echo "$0: --resample must be true or false, not '$resample'" >&2; exit 1 ;;
  esac
  convert_voxceleb2 "$1"
  corpus_args "$voxceleb2_prepared"
  python -m diffsv.bin.prepare_data "${corpus_args[@]}" --data "$1" "${prepare_args[@]}"
}
