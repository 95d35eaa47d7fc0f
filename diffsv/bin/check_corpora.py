"""Stage 0: check that every corpus is where the options say, in its published layout.

    python -m diffsv.bin.check_corpora --voxceleb1-root DIR --trials-list FILE --musan-root DIR \\
        --rirs-root DIR --nonspeech-root DIR [--voices-root DIR] [--train-set voxceleb2 --voxceleb2-root DIR \\
        --vox1-e-list FILE --vox1-h-list FILE]

Prints one line per corpus: what was found (counts), what is missing and where to get it, or, for an
optional corpus not given, what the recipe goes without. No audio is read. Exit status 1 if VoxCeleb1 or
any corpus given is missing or malformed (MUSAN, RIRS_NOISES, Nonspeech100 and VOiCES are optional), or if
the training set holds a speaker that a trial list tests.
"""

from __future__ import annotations

import argparse
import sys

from diffsv.data.corpora import CorpusError, add_corpus_arguments, check_training_speakers, corpus_sources, scan

PROG = "check_corpora"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_corpus_arguments(parser)
    args = parser.parse_args(argv)
    failed = False
    layouts = {}
    try:
        sources = corpus_sources(args)
    except CorpusError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    for source in sources:
        if source.root is None:
            print(f"{PROG}: {source.name}: not given (optional): {source.without}; get it from {source.url}")
            continue
        try:
            layout = scan(source)
        except (CorpusError, OSError) as exc:
            print(f"{PROG}: {exc}", file=sys.stderr)
            failed = True
            continue
        layouts[source.name] = layout
        print(f"{PROG}: {source.name}: found {source.root}: {layout.summary()}")
    if not failed:
        try:
            check_training_speakers(layouts)
        except CorpusError as exc:
            print(f"{PROG}: {exc}", file=sys.stderr)
            failed = True
    if failed:
        print(
            f"{PROG}: a corpus is missing or malformed, or the training set holds a tested speaker (see above)",
            file=sys.stderr,
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
