#!/usr/bin/env bash
# Kaldi's utils/validate_data_dir.sh interface, so recipes and Kaldi habits work unchanged:
#   validate_data_dir.sh [--no-feats] [--no-text] [--non-print] [--no-wav] DIR
# Kaldi's --no-feats, --no-text and --non-print are accepted and ignored (diffsv data directories have
# no feats or text); --no-wav skips the audio checks. The work is done by diffsv.bin.validate_data_dir;
# see its docstring for what is checked.
args=()
for arg in "$@"; do
  case "$arg" in
    --no-feats|--no-text|--non-print) ;;
    --no-wav) args+=(--no-audio-check) ;;
    *) args+=("$arg") ;;
  esac
done
root=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
if [ -x "$root/tools/venv/bin/python" ]; then python=$root/tools/venv/bin/python; else python=python3; fi
exec "$python" -m diffsv.bin.validate_data_dir "${args[@]}"
