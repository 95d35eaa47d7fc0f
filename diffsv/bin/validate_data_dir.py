"""Validate a Kaldi data directory; behind utils/validate_data_dir.sh.

    python -m diffsv.bin.validate_data_dir DIR [--no-audio-check]

Checks the format (sorting, unique keys, consistency of utt2spk/spk2utt/wav.scp/segments/utt2dur/
utt2num_samples/trials, speaker-prefixed ids) and, unless --no-audio-check, that every recording is
readable, as long as its header declares (not cut short), mono, 16 kHz, at least one analysis frame
(400 samples) long and as long as the tables say. Prints one OK line, or the first problem as
``file:line: what is wrong`` on stderr with exit status 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from diffsv.data.kaldi_dir import DataDirError
from diffsv.data.validate import validate_data_dir

PROG = "validate_data_dir"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("data_dir", type=Path, help="the data directory")
    parser.add_argument("--no-audio-check", action="store_true", help="check the tables only, not the recordings")
    args = parser.parse_args(argv)
    try:
        summary = validate_data_dir(args.data_dir, check_audio_files=not args.no_audio_check)
    except DataDirError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    print(f"{PROG}: {args.data_dir}: OK ({summary.utterances} utterances, {summary.speakers} speakers)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
