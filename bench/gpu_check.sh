#!/usr/bin/env bash
# The one-shot GPU check from a clean clone, on a machine with torch and torchaudio but without PyPI:
#   make gpu-wheels                          # first, where PyPI is reachable: fills .whl/ (docs/gpu.md)
#   bench/gpu_check.sh --out DIR             # then on the GPU machine, .whl/ carried beside the clone
#   bench/gpu_check.sh --device cpu --quick --out DIR   # a rehearsal of the same on a CPU
# The wheels go into a private folder for this run, never into the machine's Python. The exit status is
# bench/gpu_check.py's: 0 all parts succeeded, 1 some did not (their rows say why), 3 no CUDA for --device cuda.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
"$python" -W ignore -c 'import torch, torchaudio' || { echo "gpu_check: $python cannot import torch and torchaudio" >&2; exit 2; }
site=$(mktemp -d "${TMPDIR:-/tmp}/diffsv_gpu_check.XXXXXX")
trap 'rm -rf "$site"' EXIT
if compgen -G ".whl/*.whl" > /dev/null; then
  "$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$site" .whl/*.whl
else
  echo "gpu_check: no wheels in .whl/ (make gpu-wheels): installing from PyPI" >&2
  # shellcheck disable=SC2046  # one distribution a word
  "$python" -m pip install -q --no-compile --target "$site" $(grep -v '^#' bench/gpu_wheels.txt)
fi
export PYTHONPATH="$PWD:$site${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
"$python" bench/gpu_check.py "$@"
