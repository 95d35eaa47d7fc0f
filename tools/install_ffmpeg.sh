#!/usr/bin/env bash
# Install ffmpeg from Debian: the recipe's stage 1 decodes VoxCeleb2's m4a (AAC) with it, once, into WAV or FLAC
# (diffsv.bin.convert_audio), and its tests encode and decode m4a. Safe to re-run: does nothing when ffmpeg is
# already on the PATH. Needs root or sudo for apt.
set -euo pipefail

command -v ffmpeg > /dev/null && exit 0
if ! command -v apt-get > /dev/null; then
  echo "$0: no apt-get here: install ffmpeg (with its AAC decoder) by hand" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo > /dev/null || { echo "$0: need root or sudo to install ffmpeg" >&2; exit 1; }
  sudo="sudo"
fi
echo "$0: apt-get install ffmpeg"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends ffmpeg > /dev/null
