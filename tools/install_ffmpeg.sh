#!/usr/bin/env bash
# Install ffmpeg from Debian: the recipe's stage 1 decodes VoxCeleb2's m4a (AAC) with it, once, into WAV or FLAC
# (diffsv.bin.convert_audio), and its tests encode and decode m4a. Safe to re-run: does nothing when ffmpeg is
# already on the PATH. Needs root or sudo for apt.
set -euo pipefail

command -v ffmpeg > /dev/null && exit 0
"$(dirname "$0")/apt_install.sh" ffmpeg
