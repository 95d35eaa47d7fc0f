#!/usr/bin/env bash
# Create tools/venv and install diffsv into it (editable) with a torch/torchaudio pair known to work.
# Override the pair for your CUDA/driver: TORCH_VERSION=... TORCHAUDIO_VERSION=... tools/install.sh
set -euo pipefail

tools_dir=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$tools_dir")
venv=${VENV:-$tools_dir/venv}
python=${PYTHON:-python3}
torch_version=${TORCH_VERSION:-2.14.1}
torchaudio_version=${TORCHAUDIO_VERSION:-2.11.0}

if [ ! -x "$venv/bin/python" ]; then
  echo "$0: creating virtual environment $venv"
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q "torch==$torch_version" "torchaudio==$torchaudio_version"
"$venv/bin/python" -m pip install -q -e "$root[test]"
"$venv/bin/python" -c "import torch, torchaudio, kaldiio, soundfile; print('diffsv environment ready: torch', torch.__version__, 'torchaudio', torchaudio.__version__)"
