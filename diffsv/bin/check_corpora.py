"""Stage 0: check that every corpus is where the options say, in its published layout.

    python -m diffsv.bin.check_corpora --voxceleb1-root DIR --trials-list FILE --musan-root DIR \\
        --rirs-root DIR --nonspeech-root DIR [--voices-root DIR]

Prints one line per corpus: what was found (counts), what is missing and where to get it, or, for an
optional corpus not given, what the recipe goes without. No audio is read. Exit status 1 if VoxCeleb1 or
any corpus given is missing or malformed (MUSAN, RIRS_NOISES, Nonspeech100 and VOiCES are optional).
"""

from __future__ import annotations

import argparse
import sys

from diffsv.data.corpora import CorpusError, add_corpus_arguments, corpus_sources, scan

PROG = "check_corpora"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_corpus_arguments(parser)
    args = parser.parse_args(argv)
    failed = False
    for source in corpus_sources(args):
        if source.root is None:
            print(f"{PROG}: {source.name}: not given (optional): {source.without}; get it from {source.url}")
            continue
        try:
            layout = scan(source)
        except (CorpusError, OSError) as exc:
            print(f"{PROG}: {exc}", file=sys.stderr)
            failed = True
            continue
        print(f"{PROG}: {source.name}: found {source.root}: {layout.summary()}")
    if failed:
        print(f"{PROG}: a corpus is missing or malformed (see above)", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
