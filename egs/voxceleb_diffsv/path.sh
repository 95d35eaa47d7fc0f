# Environment for the recipe: the toolkit's virtual environment and utils/ on PATH (Kaldi style).
DIFFSV_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export DIFFSV_ROOT
if [ -f "$DIFFSV_ROOT/tools/venv/bin/activate" ]; then
  # shellcheck disable=SC1091
  . "$DIFFSV_ROOT/tools/venv/bin/activate"
elif ! python3 -c "import diffsv" 2>/dev/null; then
  echo "path.sh: no tools/venv and diffsv is not importable: run 'make install' in $DIFFSV_ROOT" >&2
  return 1 2>/dev/null || exit 1
fi
export PATH="$DIFFSV_ROOT/utils:$PATH"
export PYTHONUNBUFFERED=1
export LC_ALL=C
