"""Write an audio file resampled to another rate as WAV on stdout: the command of the ``wav.scp`` pipes that
stage 1 writes, with ``--resample true``, for corpus files not at the toolkit's rate (as Kaldi recipes
pipe through ``sox``).

    python3 -m diffsv.bin.resample_audio /corpora/Nonspeech/n1.wav 16000 | ...
"""

from __future__ import annotations

import argparse
import io
import sys

import soundfile

from diffsv.data.audio import AudioError, read_audio_file, resample


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", help="audio file")
    parser.add_argument("rate", type=int, help="sample rate of the output, in Hz")
    args = parser.parse_args(argv)
    if args.rate <= 0:
        parser.error(f"the rate must be positive, not {args.rate}")
    try:
        audio = read_audio_file(args.path)
    except AudioError as exc:
        print(f"resample_audio: {exc}", file=sys.stderr)
        return 1
    buffer = io.BytesIO()  # the WAV header needs the length: write it whole, then copy it out
    soundfile.write(buffer, resample(audio.samples, audio.sample_rate, args.rate), args.rate, format="WAV",
                    subtype="FLOAT")  # fmt: skip
    sys.stdout.buffer.write(buffer.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
