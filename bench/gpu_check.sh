#!/usr/bin/env bash
# One GPU check, ready to run on a CUDA machine (bench/gpu_check.py says what it measures):
#   bench/gpu_check.sh [--quick]
# Installs what the repository needs beyond torch and torchaudio -- from .whl/ when that folder holds
# wheels (a machine without PyPI: `make gpu-wheels` fills it), else from PyPI -- then prints one table.
# On a machine without a CUDA GPU it says so and exits 0, having checked nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
if ! "$python" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  echo "gpu_check: no CUDA GPU here (or no torch): nothing checked"
  exit 0
fi
site=${TMPDIR:-/tmp}/diffsv_gpu_check_site
if compgen -G ".whl/*.whl" > /dev/null; then
  "$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$site" .whl/*.whl
else
  "$python" -m pip install -q --no-compile --target "$site" kaldiio soundfile pyyaml tqdm matplotlib scipy
fi
export PYTHONPATH="$PWD:$site${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
exec "$python" bench/gpu_check.py "$@"
