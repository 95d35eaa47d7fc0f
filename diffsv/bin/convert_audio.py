"""Convert VoxCeleb2's m4a (AAC) once to 16 kHz mono FLAC or WAV, in parallel jobs (see
diffsv.data.m4a_conversion): the recipe's stage 1 does, for a VoxCeleb2 root in its published layout.

    jobs=$(python -m diffsv.bin.convert_audio plan --source ROOT/dev/aac --dest data/voxceleb2/dev/wav \
             --work-dir data/voxceleb2/conversion --nj 8 [--format flac|wav])
    [ "$jobs" -eq 0 ] || run.pl JOB=1:$jobs data/voxceleb2/conversion/log/convert.JOB.log \
        python -m diffsv.bin.convert_audio convert --work-dir data/voxceleb2/conversion --job JOB
    python -m diffsv.bin.convert_audio finish --work-dir data/voxceleb2/conversion

``plan`` prints only the number of jobs (0 when every file has its output). A ``convert`` job that refuses
corrupt or truncated files names each one and still exits 0; ``finish`` then fails, counting them. Errors
name the file and exit with status 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from diffsv.data import m4a_conversion
from diffsv.data.m4a_decoding import BATCH, FORMATS
from diffsv.utils.argtypes import positive_int


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    plan = commands.add_parser("plan", help="list what to convert; print the number of jobs")
    plan.add_argument("--source", type=Path, required=True, help="the <speaker>/<video>/<n>.m4a tree (dev/aac)")
    plan.add_argument("--dest", type=Path, required=True, help="the converted tree, same relative paths")
    plan.add_argument("--work-dir", type=Path, required=True, help="the plan, job lists and refusals")
    plan.add_argument("--nj", type=positive_int, default=1, help="at most this many jobs")
    plan.add_argument("--format", choices=tuple(FORMATS), default="flac", help="of the outputs")
    convert = commands.add_parser("convert", help="one conversion job")
    convert.add_argument("--work-dir", type=Path, required=True)
    convert.add_argument("--job", type=positive_int, required=True)
    convert.add_argument("--batch", type=positive_int, default=BATCH, help="files per ffmpeg process")
    finish = commands.add_parser("finish", help="check every output; count the refused files")
    finish.add_argument("--work-dir", type=Path, required=True)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if args.command == "plan":
            planned = m4a_conversion.plan(args.source, args.dest, args.work_dir, args.nj, args.format)
            print(
                f"convert_audio: {planned.total} m4a files in {planned.source}, {planned.total - planned.pending} "
                f"already converted, {planned.pending} to convert in {planned.jobs} jobs",
                file=sys.stderr,
            )
            print(planned.jobs)
        elif args.command == "convert":
            for line in m4a_conversion.convert_job(args.work_dir, args.job, args.batch):
                print(f"convert_audio: {line}")
        else:
            print(f"convert_audio: {m4a_conversion.finish(args.work_dir)}")
    except (OSError, ValueError) as exc:  # ConversionError is a ValueError
        print(f"convert_audio {args.command}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
